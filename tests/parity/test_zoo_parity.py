"""Equivalence is the contract: every CPU target equals the reference model with the same weights, over
the whole zoo (every family, each in its own network; cells in both DARTS skeletons) and random genotypes
(cells; chains of both spaces, with and without channel scales; decoder layouts), with BatchNorm statistics
far from their defaults.

Reduced networks (few cells and channels; both reduction cells present) keep the sweep fast; one
full-size darts-imagenet DARTS_V2 build checks the real thing. rel_err = max|out - ref| / max|ref|.
"""
import random

import pytest
import torch

from genocompile.emit.onnx import session, simplify, to_onnx
from genocompile.emit.quantize import activation_ranges
from genocompile.emit.torch import export_program, load_program, save_program, to_module
from genocompile.genotype import zoo_genotype, zoo_names
from genocompile.ir import interpret, lower
from genocompile.passes import DEFAULT_PIPELINE, PASSES, optimize
from chain_factory import random_chain
from decoder_factory import random_decoder
from genotype_factory import random_cell, random_hierarchical
from model_helpers import SMALL, inputs, reference, rel_err, skeletons_of, small

FP32 = 1e-4


def _small_network(skeleton: str) -> dict:
    # A random chain draws one block per position of its (reduced) network, so it is drawn on that network.
    return {"skeleton": skeleton, **SMALL[skeleton](8)}


RANDOM = [random_cell(random.Random(100 + i), name=f"random{i}") for i in range(4)]
# Random Auto-DeepLab cells on random 6-layer paths (up, down and flat moves, rates 4..32, decoder fed by a
# cell or by the stem): every resize, stride-2 op and preprocess case of the network.
RANDOM_HIERARCHICAL = [random_hierarchical(random.Random(200 + i), layers=6, name=f"random_path{i}") for i in range(4)]
RANDOM += RANDOM_HIERARCHICAL
# Random chains of both spaces (with and without channel scales) and random decoder layouts.
RANDOM += [
    random_chain(random.Random(200), network=_small_network("spos-imagenet"), name="random_spos"),
    random_chain(random.Random(201), network=_small_network("spos-imagenet"), scales=True, name="random_spos_scaled"),
    random_chain(random.Random(202), network={**_small_network("detnas-imagenet"), "stage_repeats": [2, 2, 3, 2]},
                 scales=True, name="random_detnas_scaled"),
    random_chain(random.Random(203), "mbconv", network=_small_network("proxylessnas-imagenet"), name="random_mbconv"),
    random_decoder(random.Random(300), name="random_decoder0"),
    random_decoder(random.Random(301), nodes=2, blocks=4, name="random_decoder1"),
]
GENOTYPES = {**{name: zoo_genotype(name) for name in zoo_names()}, **{g.name: g for g in RANDOM}}
CASES = [(name, skeleton) for name, g in GENOTYPES.items() for skeleton in skeletons_of(g)]


def _case(name, skeleton, seed=0):
    g = small(GENOTYPES[name], skeleton)
    model = reference(g, seed)
    return g, model, lower(g, model.state_dict())


@pytest.mark.parametrize("name,skeleton", CASES)
def test_every_cpu_target_equals_the_reference(name, skeleton, tmp_path):
    g, model, lowered = _case(name, skeleton)
    graph = optimize(lowered)
    assert graph.count("batchnorm") == 0 and graph.count("zero") <= lowered.count("zero")
    xs = [inputs(g, 2, seed=1), inputs(g, 1, seed=2)]
    refs = [model(x) for x in xs]
    module = to_module(graph)
    save_program(export_program(module, xs[1], dynamic_batch=True, max_batch=4), tmp_path / "m.pt2")
    pt2 = load_program(tmp_path / "m.pt2")
    ort = session(simplify(to_onnx(graph, batch=None)).SerializeToString())
    for x, ref in zip(xs, refs):
        assert rel_err(interpret(graph, x), ref) < FP32
        assert rel_err(module(x), ref) < FP32
        assert rel_err(pt2(x), ref) < FP32
        assert rel_err(ort.run(None, {"input": x.numpy()})[0], ref) < FP32


@pytest.mark.parametrize("name,skeleton", CASES)
def test_each_pass_preserves_the_function(name, skeleton):
    g, model, graph = _case(name, skeleton, seed=3)
    x = inputs(g, 2)
    for step in DEFAULT_PIPELINE + ("fuse_dw_pw",):
        after = PASSES[step](graph)
        assert rel_err(interpret(after, x), interpret(graph, x)) < FP32, step
        graph = after


@pytest.mark.parametrize("name", [*zoo_names(), *(g.name for g in RANDOM_HIERARCHICAL)])
def test_reduced_precisions_within_their_stated_tolerances(name):
    from genocompile.build import TOLERANCES

    g, model, lowered = _case(name, skeletons_of(GENOTYPES[name])[0], seed=4)
    graph = optimize(lowered)
    x = inputs(g, 2)
    ref = model(x)
    assert rel_err(to_module(graph, torch.float16)(x), ref) < TOLERANCES["fp16"]
    assert rel_err(to_module(graph, torch.bfloat16)(x), ref) < TOLERANCES["bf16"]
    fp16 = session(to_onnx(graph, None, "fp16").SerializeToString())
    assert rel_err(fp16.run(None, {"input": x.numpy()})[0], ref) < TOLERANCES["fp16"]
    ranges = activation_ranges(graph, [inputs(g, 4, seed=s) for s in (30, 31)])  # calibration != test inputs
    int8 = session(to_onnx(graph, None, "int8", ranges=ranges).SerializeToString())
    assert rel_err(int8.run(None, {"input": x.numpy()})[0], ref) < TOLERANCES["int8"]


@pytest.mark.slow
def test_full_size_darts_imagenet_from_a_darts_checkpoint(tmp_path):
    from genocompile.build import BuildOptions, build
    from genocompile.models import build_reference, load_weights
    from genocompile.runtime import load
    from model_helpers import randomize_bn

    g = zoo_genotype("darts_v2").with_network("darts-imagenet")
    trained = randomize_bn(build_reference(g, seed=11), seed=11)
    ckpt = tmp_path / "model_best.pth.tar"
    torch.save({"epoch": 250, "state_dict": {f"module.{k}": v for k, v in trained.state_dict().items()},
                "best_acc_top1": 73.3}, ckpt)
    manifest = build(g, tmp_path / "b", BuildOptions(targets=("torch", "onnx"), weights=ckpt, measure_latency=False,
                                                     verify_samples=1))
    assert manifest["multiadds"] == {"reference": 538_190_592, "fused": 529_911_552}
    assert manifest["params"] == 4_718_752
    model = load_weights(build_reference(g), ckpt)
    x = inputs(g, 1, seed=9)
    ref = model(x)
    for target in ("torch", "onnx"):
        assert manifest["targets"][target]["parity"]["rel_err"] < FP32
        assert rel_err(load(tmp_path / "b", target)(x), ref) < FP32
