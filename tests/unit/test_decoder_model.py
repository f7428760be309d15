"""The auxiliary-cell segmenter: shapes, cell semantics, nas-segm keys, auxiliary cells only in training."""
import json
from pathlib import Path

import pytest
import torch
import torch.fx

from genocompile.cost import reference_costs
from genocompile.errors import CheckpointError
from genocompile.genotype import DecoderGenotype, load_genotype, zoo_genotype
from genocompile.genotype.decoder import ENCODERS
from genocompile.models import build_reference, load_weights
from genocompile.models.decoder import ENCODER_BUILDERS, ContextualCell, load_encoder_weights

GOLDEN = json.loads((Path(__file__).parents[1] / "fixtures" / "chain_decoder_keys.json").read_text())


def small(name="nekrasov_arch0", **changes) -> DecoderGenotype:
    settings = {"agg_size": 8, "num_classes": 3, "input_size": (32, 32), **changes}
    return zoo_genotype(name).with_network(**settings)


def _randomize_bn(model):
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    return model


def test_state_dict_keys_are_stable_and_follow_nas_segm():
    keys = list(build_reference(load_genotype(GOLDEN["nekrasov_arch0_aux"]["genotype"])).state_dict())
    assert keys == GOLDEN["nekrasov_arch0_aux"]["keys"]
    state = build_reference(small()).state_dict()
    # arch0's cell: _ops 0 sep5x5 rate 6 | 1 conv3x3 rate 3, 2 sep3x3, 3 sum | 4, 5 sep5x5 rate 6, 6 sum |
    # 7 conv3x3, 8 global pool, 9 sum
    assert {"encoder.layer1.0.weight", "encoder.layer8.0.conv.7.running_var", "decoder.adapt4.0.weight",
            "decoder.cells.0.op_1._ops.0.op.sep_1.0.weight", "decoder.cells.0.op_2._ops.1.0.weight",
            "decoder.cells.2.op_1._ops.8.conv1x1.1.running_mean", "decoder.cells.2.agg.branch_2.1.weight",
            "decoder.pre_clf.0.weight", "decoder.conv_clf.bias"} <= set(state)
    assert not any(".3." in k and "_ops.3." in k for k in state)  # sums have no parameters
    assert state["encoder.layer2.0.conv.0.weight"].shape == (32, 32, 1, 1)  # expansion 1 keeps its 1x1 conv
    assert state["decoder.pre_clf.0.weight"].shape == (8, 3 * 8, 1, 1)  # three loose block outputs
    assert not any("aux" in k for k in state)


@pytest.mark.parametrize("name", ["nekrasov_arch0", "nekrasov_arch1", "nekrasov_arch2"])
def test_output_is_upsampled_to_the_input_and_traces(name):
    model = _randomize_bn(build_reference(small(name)))
    x = torch.randn(2, 3, 32, 48) if name == "nekrasov_arch0" else torch.randn(1, 3, 32, 32)
    assert model(x).shape == (x.shape[0], 3, *x.shape[2:])
    traced = torch.fx.symbolic_trace(model)
    assert torch.allclose(traced(x), model(x), atol=1e-5)


def test_encoder_outputs_match_the_spec():
    for name, spec in ENCODERS.items():
        outs = ENCODER_BUILDERS[name]()(torch.randn(1, 3, 64, 64))
        assert tuple(o.shape[1] for o in outs) == spec.out_channels
        assert tuple(64 // o.shape[2] for o in outs) == spec.out_strides


@pytest.mark.parametrize("cell,expected", [
    # skip(x) = x; node 1 = skip(op0 out) + none(x) = x; op0's output is read, so only node 1 is loose: x
    ([["seg_skip_connect", 0], ["seg_skip_connect", 1], ["seg_none", 0]], 1),
    # op0 out (x) stays loose; node 1 = x + x: the cell returns x + 2x
    ([["seg_skip_connect", 0], ["seg_skip_connect", 0], ["seg_skip_connect", 0]], 3),
    # node 1 reads op0 twice; node 2 reads node 1's first op output (index 2) and node 1's sum (4):
    # node 1 = 2x, node 2 = x + 2x = 3x, node 1's sum is read, so the output is node 2 alone
    ([["seg_skip_connect", 0], ["seg_skip_connect", 1], ["seg_skip_connect", 1],
      ["seg_skip_connect", 2], ["seg_skip_connect", 4]], 3),
])
def test_cell_sums_its_loose_ends(cell, expected):
    x = torch.randn(1, 4, 5, 5)
    assert torch.allclose(ContextualCell(tuple(map(tuple, cell)), 4, 2)(x), expected * x)


def test_auxiliary_cells_only_in_training_and_absent_from_forward():
    g = small(auxiliary=True, aux_cell=True)
    model = build_reference(g)
    assert len(model.decoder.aux_clfs) == 3 and hasattr(model.decoder.aux_clfs[0], "aux_cell")
    called = []
    for head in model.decoder.aux_clfs:
        head.register_forward_hook(lambda *_: called.append(1))
    x = torch.randn(2, 3, 32, 32)
    model.train()
    logits = model(x)
    assert logits.shape == (2, 3, 32, 32) and not called  # forward never runs the auxiliary heads
    logits, aux = model.forward_with_aux(x)
    assert len(called) == 3 and [a.shape for a in aux] == [(2, 3, 32, 32)] * 3
    assert model.eval().forward_with_aux(x)[1] is None
    traced = torch.fx.symbolic_trace(model)
    targets = [str(n.target) for n in traced.graph.nodes if n.op == "call_module"]
    assert targets and not any("aux" in t for t in targets)
    assert not any("aux" in name for name, _ in traced.named_parameters())


def test_auxiliary_modules_are_not_counted():
    plain, aux = small(), small(auxiliary=True)
    assert reference_costs(aux).params == reference_costs(plain).params
    assert reference_costs(aux).multiadds == reference_costs(plain).multiadds
    total = sum(p.numel() for p in build_reference(aux).parameters())
    assert total > reference_costs(aux).params


def test_breakdown_covers_the_total_and_counts_conv_linear():
    costs = reference_costs(small())
    assert sum(costs.multiadds_by_block.values()) == costs.multiadds
    assert costs.multiadds_by_block["upsample"] > 0 and costs.multiadds_by_block["encoder"] > 0
    assert costs.multiadds_conv_linear == costs.multiadds_by_op["conv"]


def test_checkpoint_with_or_without_auxiliary_heads_loads(tmp_path):
    src = _randomize_bn(build_reference(small(auxiliary=True), seed=3))
    x = torch.randn(1, 3, 32, 32)
    torch.save({f"module.{k}": v for k, v in src.state_dict().items()}, tmp_path / "segm.pth")
    plain = load_weights(build_reference(small(), seed=4), tmp_path / "segm.pth")  # aux keys ignored
    assert torch.equal(plain(x), src.eval()(x))
    back = load_weights(build_reference(small(auxiliary=True), seed=5), plain.state_dict())  # aux keys optional
    assert torch.equal(back(x), src(x))


def test_encoder_weights_from_a_local_file(tmp_path):
    donor = _randomize_bn(build_reference(small(), seed=7))
    # an encoder checkpoint with a classifier head, and a whole segmenter checkpoint
    torch.save({**donor.encoder.state_dict(), "classifier.weight": torch.zeros(3)}, tmp_path / "mbv2.pth")
    torch.save({"state_dict": donor.state_dict()}, tmp_path / "segm.pth")
    for path in ("mbv2.pth", "segm.pth"):
        model = load_encoder_weights(build_reference(small(), seed=8), tmp_path / path)
        for key, value in donor.encoder.state_dict().items():
            assert torch.equal(model.encoder.state_dict()[key], value)
        assert not torch.equal(model.decoder.conv_clf.weight, donor.decoder.conv_clf.weight)
    torch.save({"fc.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="no `layer\\*`"):
        load_encoder_weights(build_reference(small()), tmp_path / "other.pth")
    broken = dict(donor.encoder.state_dict())
    broken["layer1.0.weight"] = torch.zeros(16, 3, 3, 3)
    with pytest.raises(CheckpointError, match="'layer1.0.weight' is \\[16, 3, 3, 3\\] in the checkpoint"):
        load_encoder_weights(build_reference(small()), broken)


def test_torch_export_captures_the_segmenter_without_auxiliary_cells():
    model = _randomize_bn(build_reference(small("nekrasov_arch1", auxiliary=True)))
    x = torch.randn(1, 3, 32, 32)
    exported = torch.export.export(model, (x,))
    assert torch.allclose(exported.module()(x), model(x), atol=1e-5)
    # torch.export lifts every parameter of the module, used or not; the auxiliary ones feed nothing, so an
    # emitter drops them with the graph's dead inputs.
    params = exported.graph_signature.inputs_to_parameters
    aux = [n for n in exported.graph.nodes if n.op == "placeholder" and "aux_clfs" in params.get(n.name, "")]
    assert aux and all(not n.users for n in aux)
