"""Chain reference networks: shapes, torch.fx traces, state_dict keys of the originals, checkpoint loading."""
import json
import random
from pathlib import Path

import pytest
import torch
import torch.fx

from genocompile.genotype import ChainGenotype, load_genotype, zoo_genotype
from genocompile.models import build_reference, load_weights
from genocompile.models.shufflenetv2_oneshot import detnas_module_names
from genocompile.ops import get_op
from genocompile.ops.chain_blocks import channel_split_shuffle
from chain_factory import random_chain

GOLDEN = json.loads((Path(__file__).parents[1] / "fixtures" / "chain_decoder_keys.json").read_text())
TINY = {"stage_repeats": [2, 2], "stage_out_channels": [8, 16, 32, 64], "num_classes": 10, "input_size": [32, 32]}


def tiny(name: str) -> ChainGenotype:
    return load_genotype(GOLDEN[name]["genotype"])


def _randomize_bn(model):
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    return model


@pytest.mark.parametrize("name", ["spos_tiny", "detnas_tiny", "proxyless_tiny"])
def test_state_dict_keys_are_stable(name):
    assert list(build_reference(tiny(name)).state_dict()) == GOLDEN[name]["keys"]


def test_keys_follow_the_originals():
    spos = build_reference(tiny("spos_tiny")).state_dict()
    # megvii ShuffleNet-Series OneShot: Sequential indices; no conv / classifier biases.
    assert {"first_conv.0.weight", "features.0.branch_proj.3.running_var",
            "features.0.branch_main.12.weight", "features.1.branch_main.5.weight", "conv_last.1.weight",
            "classifier.0.weight"} <= set(spos)
    assert "classifier.0.bias" not in spos and "first_conv.0.bias" not in spos and "features.1.branch_proj.0.weight" not in spos
    detnas = build_reference(tiny("detnas_tiny")).state_dict()
    assert {"first_conv.conv.bias", "first_conv.bn.weight", "last_conv.conv.bias", "fc.fc.weight", "fc.fc.bias"} <= set(detnas)
    proxyless = build_reference(tiny("proxyless_tiny")).state_dict()
    # ProxylessNAS: the fixed expansion-1 first block has no inverted_bottleneck; a skipped block has no keys.
    assert "blocks.0.mobile_inverted_conv.depth_conv.conv.weight" in proxyless
    assert not any(k.startswith("blocks.0.mobile_inverted_conv.inverted_bottleneck") for k in proxyless)
    assert not any(k.startswith("blocks.2.") for k in proxyless)
    assert {"blocks.1.mobile_inverted_conv.inverted_bottleneck.conv.weight", "feature_mix_layer.bn.running_var",
            "classifier.linear.weight", "classifier.linear.bias"} <= set(proxyless)
    assert proxyless["blocks.1.mobile_inverted_conv.inverted_bottleneck.conv.weight"].shape == (48, 8, 1, 1)  # 8 x e6


@pytest.mark.parametrize("name", ["spos_tiny", "detnas_tiny", "proxyless_tiny"])
def test_output_shape_seeded_init_and_fx_trace(name):
    g = tiny(name)
    a, b = build_reference(g, seed=1), build_reference(g, seed=1)
    x = torch.randn(2, 3, 32, 32)
    assert a(x).shape == (2, 10) and not a.training
    assert torch.equal(a(x), b(x))
    assert not torch.equal(a(x), build_reference(g, seed=2)(x))
    traced = torch.fx.symbolic_trace(_randomize_bn(a))
    assert torch.allclose(traced(x), a(x), atol=1e-6)
    # the trace is plain tensor ops and modules: no Python control flow left to resolve at run time
    assert {n.op for n in traced.graph.nodes} <= {"placeholder", "call_module", "call_function", "call_method", "output"}


def test_random_chains_trace_and_keep_shapes():
    rng = random.Random(11)
    for i in range(6):
        space = ("shufflenetv2-oneshot", "mbconv")[i % 2]
        net = {"skeleton": "detnas-imagenet" if i % 3 == 0 else "spos-imagenet", **TINY} \
            if space == "shufflenetv2-oneshot" else {
                "first_channels": 8, "first_block_channels": 8, "stage_widths": [8, 16], "stage_repeats": [2, 2],
                "stage_strides": [1, 2], "last_channels": 16, "num_classes": 10, "input_size": [32, 32]}
        g = random_chain(rng, space, network=net, scales=space == "shufflenetv2-oneshot")
        model = build_reference(g)
        x = torch.randn(1, 3, 32, 32)
        assert torch.allclose(torch.fx.symbolic_trace(model)(x), model(x), atol=1e-6), g


def test_channel_split_equals_megvii_shuffle():
    x = torch.randn(2, 12, 5, 3)
    b, c, h, w = x.shape
    # megvii ShuffleNet-Series OneShot/blocks.py channel_shuffle, restated: reshape, permute, reshape, index.
    ref = x.reshape(b * c // 2, 2, h * w).permute(1, 0, 2).reshape(2, -1, c // 2, h, w)
    even, odd = channel_split_shuffle(x, c)
    assert torch.equal(even, ref[0]) and torch.equal(odd, ref[1])


def test_block_widths_and_scales():
    block = get_op("shufflenet_5x5").reference(64, 64, 1, 0.6)  # stride 1: 32 pass through, 32 convolved
    convs = [m for m in block.branch_main if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.groups) for c in convs] == [
        (32, 19, (1, 1), 1), (19, 19, (5, 5), 19), (19, 32, (1, 1), 1)]  # mid = int(32 * 0.6)
    block = get_op("xception_3x3").reference(16, 64, 2, 1.0)  # stride 2: main makes 64 - 16 channels
    convs = [m for m in block.branch_main if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 32, 32, 32, 48]
    assert [c.stride for c in convs][0] == (2, 2) and [c.kernel_size for c in block.branch_proj[:1]] == [(3, 3)]
    assert block(torch.randn(1, 16, 8, 8)).shape == (1, 64, 4, 4)


def test_mbconv_shortcut_and_skip():
    residual = get_op("mbconv_3x3_e3").reference(8, 8, 1, 1.0).eval()
    assert residual.residual
    x = torch.randn(1, 8, 6, 6)
    assert torch.allclose(residual(x), x + residual.mobile_inverted_conv(x))
    assert not get_op("mbconv_3x3_e3").reference(8, 16, 1, 1.0).residual
    skip = get_op("mbconv_skip").reference(8, 8, 1, 1.0)
    assert torch.equal(skip(x), x) and not list(skip.parameters())
    with pytest.raises(ValueError, match="stride 1 and equal channels"):
        get_op("mbconv_skip").reference(8, 16, 1, 1.0)


def test_megvii_initialisation():
    model = build_reference(zoo_genotype("spos").with_network(input_size=(32, 32)))
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.all(bn.bias == 1e-4) and torch.all(bn.weight == 1) for bn in bns)
    assert 0.005 < model.first_conv[0].weight.std() < 0.015  # N(0, 0.01) for the first conv


def test_spos_checkpoint_round_trip(tmp_path):
    src = _randomize_bn(build_reference(tiny("spos_tiny"), seed=3))
    x = torch.randn(1, 3, 32, 32)
    # SPOS' train.py saves {'state_dict': DataParallel state}
    torch.save({"state_dict": {f"module.{k}": v for k, v in src.state_dict().items()}}, tmp_path / "ckpt.pth.tar")
    dst = load_weights(build_reference(tiny("spos_tiny"), seed=4), tmp_path / "ckpt.pth.tar")
    assert torch.equal(dst(x), src(x))


# DetNAS names every layer after its position (ShuffleNet-Series DetNAS/blocks.py); written out by hand here
# for detnas_tiny: 1a = xception_3x3 stride 2, 1b = shufflenet_3x3, 2a = shufflenet_7x7 stride 2, 2b = shufflenet_5x5.
DETNAS_ORIGINAL_MODULES = {
    "features.0.conv.0.interstellar1a_xception_3x3_branch2a_s": "features.0.branch_main.0",
    "features.0.conv.0.interstellar1a_xception_3x3_branch2a_s_bn": "features.0.branch_main.1",
    "features.0.conv.0.interstellar1a_xception_3x3_branch2a": "features.0.branch_main.2",
    "features.0.conv.0.bn1a_xception_3x3_branch2a": "features.0.branch_main.3",
    "features.0.conv.1.interstellar1a_xception_3x3_branch2b_s": "features.0.branch_main.5",
    "features.0.conv.1.interstellar1a_xception_3x3_branch2b_s_bn": "features.0.branch_main.6",
    "features.0.conv.1.interstellar1a_xception_3x3_branch2b": "features.0.branch_main.7",
    "features.0.conv.1.bn1a_xception_3x3_branch2b": "features.0.branch_main.8",
    "features.0.conv.2.interstellar1a_xception_3x3_branch2c_s": "features.0.branch_main.10",
    "features.0.conv.2.interstellar1a_xception_3x3_branch2c_s_bn": "features.0.branch_main.11",
    "features.0.conv.2.interstellar1a_xception_3x3_branch2c": "features.0.branch_main.12",
    "features.0.conv.2.bn1a_xception_3x3_branch2c": "features.0.branch_main.13",
    "features.0.proj_conv.interstellar1a_proj_s": "features.0.branch_proj.0",
    "features.0.proj_conv.interstellar1a_proj_s_bn": "features.0.branch_proj.1",
    "features.0.proj_conv.interstellar1a_proj": "features.0.branch_proj.2",
    "features.0.proj_conv.bn1a_proj": "features.0.branch_proj.3",
    "features.1.conv.0.interstellar1b_shufflenet_3x3_branch2a": "features.1.branch_main.0",
    "features.1.conv.0.bn1b_shufflenet_3x3_branch2a": "features.1.branch_main.1",
    "features.1.conv.1.interstellar1b_shufflenet_3x3_branch2b_s": "features.1.branch_main.3",
    "features.1.conv.1.interstellar1b_shufflenet_3x3_branch2b_s_bn": "features.1.branch_main.4",
    "features.1.conv.1.interstellar1b_shufflenet_3x3_branch2b": "features.1.branch_main.5",
    "features.1.conv.1.bn1b_shufflenet_3x3_branch2b": "features.1.branch_main.6",
    "features.2.conv.0.interstellar2a_shufflenet_7x7_branch2a": "features.2.branch_main.0",
    "features.2.proj_conv.interstellar2a_proj_s": "features.2.branch_proj.0",
    "features.3.conv.1.bn2b_shufflenet_5x5_branch2b": "features.3.branch_main.6",
}


def test_detnas_checkpoint_with_original_names_loads(tmp_path):
    g = tiny("detnas_tiny")
    names = detnas_module_names(g)
    assert DETNAS_ORIGINAL_MODULES.items() <= names.items()
    src = _randomize_bn(build_reference(g, seed=3))
    ours_to_original = {v: k for k, v in names.items()}
    original_state = {}
    for key, value in src.state_dict().items():
        module, _, leaf = key.rpartition(".")
        original_state[f"module.{ours_to_original.get(module, module)}.{leaf}"] = value
    assert "module.features.0.conv.2.bn1a_xception_3x3_branch2c.running_var" in original_state
    torch.save(original_state, tmp_path / "detnas.pkl")
    dst = load_weights(build_reference(g, seed=4), tmp_path / "detnas.pkl")
    x = torch.randn(1, 3, 32, 32)
    assert torch.equal(dst(x), src(x))


@pytest.mark.parametrize("name", ["spos_tiny", "detnas_tiny", "proxyless_tiny"])
def test_torch_export_captures_the_network(name):
    model = _randomize_bn(build_reference(tiny(name)))
    x = torch.randn(1, 3, 32, 32)
    exported = torch.export.export(model, (x,))
    assert torch.allclose(exported.module()(x), model(x), atol=1e-6)
