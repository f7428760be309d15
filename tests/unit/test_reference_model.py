"""The reference builder reproduces quark0/darts: state_dict keys, shapes and checkpoint loading."""
import json
from pathlib import Path

import pytest
import torch

from genocompile.errors import CheckpointError
from genocompile.genotype import SKELETONS, zoo_genotype
from genocompile.models import BUILDERS, build_reference, load_weights

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "darts_original.json").read_text())


def test_every_skeleton_has_a_builder():
    assert set(SKELETONS) <= set(BUILDERS)


@pytest.mark.parametrize("skeleton", ["darts-cifar", "darts-imagenet"])
def test_state_dict_keys_equal_the_darts_code(skeleton):
    g = zoo_genotype("darts_v2").with_network(skeleton, auxiliary=True)
    assert list(build_reference(g).state_dict()) == FIXTURE["state_dict_keys"][skeleton]


def test_output_shapes_and_seeded_init():
    g = zoo_genotype("darts_v2").with_network(init_channels=8, layers=5)
    a, b = build_reference(g, seed=1), build_reference(g, seed=1)
    x = torch.randn(2, 3, 32, 32)
    assert a(x).shape == (2, 10)
    assert torch.equal(a(x), b(x))
    assert not torch.equal(a(x), build_reference(g, seed=2)(x))
    assert not a.training


def test_auxiliary_head_only_in_training():
    g = zoo_genotype("darts_v2").with_network(init_channels=8, layers=6, auxiliary=True)
    model = build_reference(g).train()
    logits, aux = model.forward_with_aux(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux.shape == (2, 10)
    assert model.eval().forward_with_aux(torch.randn(2, 3, 32, 32))[1] is None


def _small(aux=False):
    return zoo_genotype("darts_v2").with_network(init_channels=8, layers=5, auxiliary=aux)


def test_checkpoint_round_trip_in_darts_forms(tmp_path):
    src = build_reference(_small(aux=True), seed=3)
    for bn in (m for m in src.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    x = torch.randn(1, 3, 32, 32)
    # train_imagenet.py saves {'state_dict': DataParallel state}; train.py saves the bare state_dict.
    wrapped = {"epoch": 3, "state_dict": {f"module.{k}": v for k, v in src.state_dict().items()}}
    torch.save(wrapped, tmp_path / "ckpt.pth.tar")
    for target_aux in (False, True):  # with or without an auxiliary head in the target
        dst = load_weights(build_reference(_small(aux=target_aux), seed=4), tmp_path / "ckpt.pth.tar")
        assert torch.equal(dst(x), src(x))
    # and without auxiliary_head keys or num_batches_tracked (PyTorch < 0.4.1)
    state = {k: v for k, v in src.state_dict().items()
             if not k.startswith("auxiliary_head") and not k.endswith("num_batches_tracked")}
    assert torch.equal(load_weights(build_reference(_small(), seed=5), state)(x), src(x))


def test_checkpoint_that_does_not_fit_names_the_key_and_shapes():
    state = build_reference(zoo_genotype("darts_v2").with_network(init_channels=12, layers=5)).state_dict()
    with pytest.raises(CheckpointError, match=r"'stem\.0\.weight' is \[36, 3, 3, 3\] in the checkpoint but "
                                              r"\[24, 3, 3, 3\] in the model"):
        load_weights(build_reference(_small()), state)
    other = build_reference(zoo_genotype("nasnet").with_network(init_channels=8, layers=5)).state_dict()
    with pytest.raises(CheckpointError, match="does not fit this network"):
        load_weights(build_reference(_small()), other)


def test_unreadable_checkpoint(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_weights(build_reference(_small()), tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        load_weights(build_reference(_small()), tmp_path / "missing.pt")
