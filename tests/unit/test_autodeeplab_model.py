"""The Auto-DeepLab reference network: shapes, structure, traceability, stable keys, and counts against an
independent closed-form oracle and the paper."""
import json
import random
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autodeeplab_oracle import count as oracle_count
from genocompile.cli.main import main
from genocompile.cost import count_params, reference_costs
from genocompile.genotype import HierarchicalGenotype, load_genotype
from genocompile.models import build_reference, load_weights
from genocompile.models.autodeeplab import low_level_layer
from genotype_factory import random_hierarchical

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "autodeeplab_state_dict.json").read_text())
ZOO = load_genotype("zoo:autodeeplab")


def small(path=(4, 8, 16, 8, 4), cell=ZOO.cell, **network) -> HierarchicalGenotype:
    settings = {"filter_multiplier": 4, "stem_channels": [8, 4, 8], "input_size": [64, 64], "num_classes": 3}
    return HierarchicalGenotype(cell=cell, path=list(path), network={**settings, **network})


@pytest.mark.parametrize("path,size", [((4, 8, 16, 8, 4), (64, 64)), ((8, 16, 32), (64, 96)), ((4,), (8, 12)),
                                       ((8, 4, 8, 16, 16, 8), (48, 32))])
def test_logits_at_input_resolution(path, size):
    g = small(path, input_size=list(size))
    x = torch.randn(2, 3, *size)
    y = build_reference(g, seed=1)(x)
    assert y.shape == (2, 3, *size)
    assert torch.equal(y, build_reference(g, seed=1)(x))
    assert not torch.equal(y, build_reference(g, seed=2)(x))


def test_fx_trace_equals_eager_and_reads_no_shapes():
    model = build_reference(small())
    traced = torch.fx.symbolic_trace(model)
    x = torch.randn(1, 3, 64, 64)
    assert torch.equal(traced(x), model(x))
    assert not any(n.op == "call_function" and "getattr" in str(n.target) for n in traced.graph.nodes)


def test_state_dict_keys_and_shapes_are_stable():
    def keys(model):
        return {k: list(v.shape) for k, v in model.state_dict().items()}

    assert keys(build_reference(ZOO)) == FIXTURE["zoo:autodeeplab (F=20)"]
    assert keys(build_reference(small())) == FIXTURE["zoo cell, path [4, 8, 16, 8, 4], F=4, stem [8, 4, 8], 3 classes"]


def test_structure_follows_the_tf_model():
    model = build_reference(small())
    cells = model.cells
    # layer 0 (rate 4 after the rate-4 stem): H^{-2} (rate 2) halved; its 4 filters already equal F * 4 / 4
    assert isinstance(cells[0].resize0, nn.Upsample) and cells[0].resize0.scale_factor == 0.5
    assert isinstance(cells[0].preprocess0, nn.Identity) and isinstance(cells[0].resize1, nn.Identity)
    # layer 1 (4 -> 8): ops on the cell inputs stride 2, ops on blocks do not; atrous halves bilinearly
    strided = [any(getattr(m, "stride", (1, 1)) == (2, 2) or getattr(m, "scale_factor", 1) == 0.5
                   for m in op.modules()) for op in cells[1]._ops]
    assert strided == [index < 2 for _, index in ZOO.cell]
    # layer 3 (16 -> 8): H^{l-1} upsampled x2 first, H^{l-2} (rate 8) already there
    assert cells[3].resize1.scale_factor == 2 and isinstance(cells[3].resize0, nn.Identity)
    # layer 4 (8 -> 4): H^{l-2} at rate 16 resized x4
    assert cells[4].resize0.scale_factor == 4
    assert all(m.eps == 1e-3 for m in cells.modules() if isinstance(m, nn.BatchNorm2d))
    assert all(m.eps == 1e-5 for m in model.decoder.modules() if isinstance(m, nn.BatchNorm2d))
    assert [c.dilation for c in model.aspp.branches.modules() if isinstance(c, nn.Conv2d)] == \
        [(1, 1), (24, 24), (48, 48), (72, 72)]  # 6, 12, 18 at stride 16, scaled to the last layer's rate 4


def test_decoder_reads_the_first_rate_4_run():
    assert low_level_layer(ZOO.path) == 2  # TF's decoder end point 'Cell_2'
    assert low_level_layer((8, 4, 4)) == -1  # the stem
    assert low_level_layer((4, 4, 8, 4)) == 1


def test_image_pooling_broadcast_equals_bilinear_upsampling_and_halving_averages():
    model = build_reference(small())
    x = torch.randn(1, model.aspp.branches[0][0].in_channels, 4, 6)
    pooled = model.aspp.image_pooling(x)
    branch = model.aspp.branches[0](x)
    torch.testing.assert_close(pooled.expand_as(branch), F.interpolate(pooled, size=(4, 6), mode="bilinear"))
    y = torch.randn(1, 2, 8, 8)
    torch.testing.assert_close(model.cells[0].resize0(y), F.avg_pool2d(y, 2))


def test_checkpoint_round_trip():
    src, dst = build_reference(small(), seed=3), build_reference(small(), seed=4)
    x = torch.randn(1, 3, 64, 64)
    assert torch.equal(load_weights(dst, src.state_dict())(x), src(x))


def test_published_parameter_counts():
    published = {20: 10.15, 32: 21.62, 48: 44.42}  # paper Table 3 (M)
    for f, millions in published.items():
        g = ZOO.with_network(filter_multiplier=f)
        params = count_params(build_reference(g))
        assert round(params / 1e6, 2) == millions
        assert params == oracle_count(g.to_dict())[0]


def test_zoo_counts_equal_the_oracle():
    g = ZOO.with_network(filter_multiplier=4, input_size=(64, 128))
    costs = reference_costs(g)
    assert (costs.params, costs.multiadds) == oracle_count(g.to_dict())
    assert sum(costs.multiadds_by_block.values()) == costs.multiadds
    assert set(costs.multiadds_by_block) == {"stem", "preprocess", "resize", "separable_3x3_2", "separable_5x5_2",
                                             "atrous_3x3", "atrous_5x5", "aspp", "decoder", "logits", "upsample"}
    assert costs.multiadds_by_op["upsample_bilinear2d"] > 0


def test_random_genotypes_equal_the_oracle():
    rng = random.Random(11)
    for _ in range(6):
        g = random_hierarchical(rng, layers=rng.randint(1, 7), network={
            "filter_multiplier": rng.choice([2, 4, 8]), "num_classes": 3, "stem_channels": [8, 8, 16],
            "input_size": [64, 32]})
        costs = reference_costs(g)
        assert (costs.params, costs.multiadds) == oracle_count(g.to_dict()), g
        assert sum(costs.multiadds_by_block.values()) == costs.multiadds


def test_inspect_cli(capsys):
    assert main(["inspect", "zoo:autodeeplab", "--input-size", "128x256", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    g = ZOO.with_network(input_size=(128, 256))
    assert (report["params"], report["multiadds"]) == oracle_count(g.to_dict())
    assert report["family"] == "hierarchical" and report["network"]["input_size"] == [128, 256]
