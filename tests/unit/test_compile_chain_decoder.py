"""Compiling the chain (SPOS, DetNAS, ProxylessNAS) and decoder (auxiliary-cell segmenter) families: the lowered
graph reads exactly the reference weights, the passes leave no BatchNorm and no unfused activation, the ONNX
is what TensorRT's parser takes, the training-only auxiliary cells never reach an artifact, and
`genocompile build` works end to end (with a DetNAS checkpoint in its original naming)."""
import onnx
import pytest
import torch

from genocompile.build import BuildOptions, build
from genocompile.cli.main import main
from genocompile.emit import trt
from genocompile.emit.onnx import to_onnx
from genocompile.emit.quantize import activation_ranges
from genocompile.genotype import to_json, zoo_genotype
from genocompile.ir import interpret, lower
from genocompile.models import build_reference
from genocompile.passes import optimize
from model_helpers import inputs, reference, rel_err, small

CHAINS = ("spos", "detnas_300m", "proxylessnas_mobile")
AUX = "decoder.aux_clfs."


def _state_keys(model) -> set[str]:
    return {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}


def _read_keys(graph) -> set[str]:
    return {key for n in graph.nodes for _, key in n.params}


@pytest.mark.parametrize("name", CHAINS)
def test_chain_graph_reads_every_reference_weight_and_fuses_everything(name):
    g = small(zoo_genotype(name))
    model = reference(g)
    lowered = lower(g, model.state_dict())
    assert _read_keys(lowered) == _state_keys(model)  # a trained checkpoint attaches by name, key for key
    x = inputs(g)
    assert torch.equal(interpret(lowered, x), model(x))  # the same ops in the same order: bit-identical
    graph = optimize(lowered)
    # conv -> BN (depthwise ones included) folded; every ReLU / ReLU6 fused into the conv before it
    assert graph.count("batchnorm") == graph.count("relu") == graph.count("relu6") == 0
    assert lowered.count("relu6" if name.startswith("proxyless") else "relu") > 0
    assert rel_err(interpret(graph, x), model(x)) < 1e-4


def test_decoder_graph_reads_the_reference_weights_it_uses():
    g = small(zoo_genotype("nekrasov_arch1"))
    model = reference(g)
    lowered = lower(g, model.state_dict())
    # nekrasov_arch1 reads encoder outputs 1, 2 and 3 (strides 8, 16, 32): adapt1 is built but feeds nothing
    unused = {k for k in _state_keys(model) if k.startswith("decoder.adapt1.")}
    assert unused and _read_keys(lowered) == _state_keys(model) - unused
    graph = optimize(lowered)
    assert graph.count("batchnorm") == graph.count("relu6") == 0
    assert graph.count("relu") == 1  # MicroDecoder.classify's ReLU on the concatenation (no conv before it)
    assert graph.count("resize") == lowered.count("resize") > 0


@pytest.mark.parametrize("name", CHAINS + ("nekrasov_arch0",))
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_onnx_passes_the_tensorrt_parser_preconditions(name, precision):
    g = small(zoo_genotype(name))
    graph = optimize(lower(g, reference(g).state_dict()))
    ranges = activation_ranges(graph, [inputs(g, 2)]) if precision == "int8" else None
    for dynamic in (False, True):
        trt.check_onnx(to_onnx(graph, None if dynamic else 2, precision, ranges=ranges), dynamic)


def test_auxiliary_cells_are_absent_from_the_graph_and_every_artifact(tmp_path):
    g = small(zoo_genotype("nekrasov_arch0")).with_network(auxiliary=True, aux_cell=True, input_size=(32, 32))
    model = build_reference(g)
    aux_keys = {k for k in model.state_dict() if k.startswith(AUX)}
    assert aux_keys  # the reference does carry the training-only heads (and their cells)
    graph = optimize(lower(g, model.state_dict()))
    assert not any(n.name.startswith(AUX) or n.source.startswith(AUX) for n in graph.nodes)
    assert not any("aux_clfs" in key for key in graph.weights)
    manifest = build(g, tmp_path / "b", BuildOptions(targets=("torch", "onnx"), measure_latency=False,
                                                     verify_samples=1))
    assert manifest["params"] == sum(p.numel() for k, p in model.named_parameters() if not k.startswith(AUX))
    onnx_model = onnx.load(str(tmp_path / "b" / "model.onnx"))
    names = [i.name for i in onnx_model.graph.initializer] + [n.name for n in onnx_model.graph.node]
    assert names and not any("aux_clfs" in name for name in names)
    program = torch.export.load(str(tmp_path / "b" / "model.pt2"))
    state = {**program.state_dict, **program.constants}
    assert state and not any("aux_clfs" in name for name in state)
    assert not any("aux_clfs" in n.target for n in program.graph.nodes if n.op == "get_attr")


def test_build_zoo_spos_to_torch_and_onnx_from_the_cli(tmp_path, capsys):
    from genocompile.runtime import load, read_manifest

    out = tmp_path / "spos"
    assert main(["build", "zoo:spos", "--input-size", "64x64", "--target", "torch", "--target", "onnx",
                 "--out", str(out)]) == 0
    manifest = read_manifest(out)
    assert set(manifest["targets"]) == {"torch", "onnx"}
    assert manifest["multiadds"]["fused"] < manifest["multiadds"]["reference"]
    g = zoo_genotype("spos").with_network(input_size=(64, 64))
    model = build_reference(g, seed=0)
    x = inputs(g, 1, seed=5)
    for target in ("torch", "onnx"):
        assert manifest["targets"][target]["parity"]["rel_err"] < 1e-4
        assert rel_err(load(out, target)(x), model(x)) < 1e-4


def test_build_a_decoder_genotype_from_the_cli(tmp_path):
    from genocompile.runtime import load, read_manifest

    g = zoo_genotype("nekrasov_arch2").with_network(input_size=(32, 32), num_classes=5, agg_size=16)
    (tmp_path / "g.json").write_text(to_json(g))
    out = tmp_path / "segm"
    assert main(["build", str(tmp_path / "g.json"), "-t", "torch", "-t", "onnx", "--dynamic-batch", "--batch", "2",
                 "--out", str(out)]) == 0
    assert read_manifest(out)["output"]["shape"] == [None, 5, 32, 32]  # logits at the input size
    model = build_reference(g, seed=0)
    x = inputs(g, 2, seed=6)
    for target in ("torch", "onnx"):
        assert rel_err(load(out, target)(x), model(x)) < 1e-4


def test_build_takes_a_detnas_checkpoint_in_its_original_naming(tmp_path):
    from genocompile.models.shufflenetv2_oneshot import detnas_module_names
    from genocompile.runtime import load

    g = small(zoo_genotype("detnas_300m"))
    trained = reference(g, seed=7)
    original = {v: k for k, v in detnas_module_names(g).items()}  # ours -> DetNAS' position-named layers
    state = {}
    for key, value in trained.state_dict().items():
        module, _, leaf = key.rpartition(".")
        state[f"module.{original.get(module, module)}.{leaf}"] = value
    assert any("interstellar" in k for k in state)
    torch.save(state, tmp_path / "detnas.pkl")
    (tmp_path / "g.json").write_text(to_json(g))
    assert main(["build", str(tmp_path / "g.json"), "-t", "onnx", "--weights", str(tmp_path / "detnas.pkl"),
                 "--out", str(tmp_path / "b")]) == 0
    x = inputs(g, 1, seed=8)
    assert rel_err(load(tmp_path / "b", "onnx")(x), trained(x)) < 1e-4
