"""The hierarchical family through the compiler: the lowering keeps the reference's state_dict keys, the
passes fold every BatchNorm and fuse conv+ReLU, `genocompile build` writes torch and ONNX artifacts equal to
the reference, and `inspect --json` reports the fused MultiAdds. Reduced network (tests/model_helpers.py)."""
import json
import math

import pytest
import torch

from genocompile.cli.main import main
from genocompile.genotype import to_json, zoo_genotype
from genocompile.ir import lower
from genocompile.passes import optimize
from genocompile.runtime import load, read_manifest
from model_helpers import inputs, reference, rel_err, small


@pytest.fixture(scope="module")
def case():
    g = small(zoo_genotype("autodeeplab"))
    model = reference(g, seed=5)
    return g, model, lower(g, model.state_dict())


def test_lowering_reads_every_reference_tensor_by_its_key(case):
    g, model, graph = case
    used = {key for n in graph.nodes for _, key in n.params}
    assert used == {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    # One resize per nn.Upsample the reference runs (cell inputs, atrous stride-2 edges, decoder, output).
    upsamples = [m for m in model.modules() if isinstance(m, torch.nn.Upsample)]
    assert graph.count("resize") == len(upsamples) > 0 and graph.count("expand") == 1


def test_passes_fold_every_batchnorm_and_fuse_conv_relu(case):
    g, model, graph = case
    fused = optimize(graph)
    assert graph.count("batchnorm") > 0 and fused.count("batchnorm") == 0
    users = fused.users()
    # A ReLU still reading a conv only where the conv's output is also needed before the ReLU (the stem's
    # H^{-2}, which the first cell reads unactivated).
    for n in fused.nodes:
        if n.kind == "relu" and fused.node(n.inputs[0]).kind == "conv":
            assert len(users[n.inputs[0]]) > 1, n.name
    assert sum(n.attr.get("act") == "relu" for n in fused.nodes) > 0


@pytest.mark.slow  # ~13 s of CPU: torch.export saves and reloads a 400-conv program
def test_build_torch_and_onnx_via_the_cli_equal_the_reference(case, tmp_path):
    g, model, graph = case
    (tmp_path / "g.json").write_text(to_json(g))
    torch.save(model.state_dict(), tmp_path / "weights.pt")  # BatchNorm statistics far from the defaults
    assert main(["build", str(tmp_path / "g.json"), "--target", "torch", "--target", "onnx", "--out",
                 str(tmp_path / "b"), "--weights", str(tmp_path / "weights.pt")]) == 0
    manifest = read_manifest(tmp_path / "b")
    assert manifest["multiadds"]["fused"] < manifest["multiadds"]["reference"]
    for target in ("torch", "onnx"):  # measured by the build on the artifacts it wrote and loaded back
        assert manifest["targets"][target]["parity"]["rel_err"] < 1e-4
    x = inputs(g, 1, seed=7)  # and once here, on an input of our own (the .pt2 reload is slow; the ONNX is not)
    assert rel_err(load(tmp_path / "b", "onnx")(x), model(x)) < 1e-4


def test_inspect_json_reports_fused_multiadds(case, tmp_path, capsys):
    g, model, graph = case
    (tmp_path / "g.json").write_text(to_json(g))
    assert main(["inspect", str(tmp_path / "g.json"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["family"] == "hierarchical"
    by_op = report["multiadds_by_op"]
    # The fused module: the same convs and image pooling, no BatchNorm, and fvcore's 4 per output element for
    # each bilinear resize that is left (merge_duplicates shares resizes of one map to one size).
    resizes = sum(4 * math.prod(n.shape) for n in optimize(graph).nodes if n.kind == "resize")
    assert resizes <= by_op["upsample_bilinear2d"]
    assert report["multiadds_fused"] == by_op["conv"] + by_op["adaptive_avg_pool2d"] + resizes
    assert report["multiadds_fused"] < report["multiadds"] - by_op["batch_norm"] + 1


@pytest.mark.parametrize("precision,dynamic", [("fp32", False), ("fp32", True), ("fp16", True)])
def test_onnx_passes_tensorrts_parser_preconditions(case, precision, dynamic):
    from genocompile.emit import trt
    from genocompile.emit.onnx import simplify, to_onnx

    g, model, graph = case
    fused = optimize(graph)
    m = simplify(to_onnx(fused, None if dynamic else 2, precision))  # what the trt target parses
    trt.check_onnx(m, dynamic)
    resizes = [n for n in m.graph.node if n.op_type == "Resize"]
    assert len(resizes) == fused.count("resize")
    for n in resizes:  # TensorRT's IResizeLayer computes exactly this (linear, half-pixel, no antialias)
        attrs = {a.name: a.s.decode() for a in n.attribute if a.type == a.STRING}
        assert attrs == {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}


def test_a_resize_that_is_not_exact_is_refused():
    # torch's fixed-factor Upsample and the IR's sized resize map coordinates alike only on exact sizes.
    from genocompile.errors import GenotypeError
    from genocompile.ir import GraphBuilder
    from genocompile.ops import get_op

    b = GraphBuilder("odd")
    x = b.add("input", [], {"shape": (4, 7, 8)}, name="x")
    with pytest.raises(GenotypeError, match="resizing a 7x8 map by 0.5 is not exact"):
        get_op("atrous_3x3").lower(b, x, 4, 2, "op")
