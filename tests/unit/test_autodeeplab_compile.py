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
    x = inputs(g, 1, seed=7)
    ref = model(x)
    for target in ("torch", "onnx"):
        assert manifest["targets"][target]["parity"]["rel_err"] < 1e-4
        assert rel_err(load(tmp_path / "b", target)(x), ref) < 1e-4


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
