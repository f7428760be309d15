"""The op table: every op builds at stride 1 and 2 with the shapes a cell relies on."""
import pytest
import torch

from genocompile.errors import GenotypeError
from genocompile.ops import CELL_OPS, DARTS_SEARCH_OPS, OPS, get_op, op_set


@pytest.mark.parametrize("name", sorted(n for n, spec in OPS.items() if spec.signature == "cell"))
@pytest.mark.parametrize("stride", [1, 2])
def test_every_op_keeps_channels_and_applies_its_stride(name, stride):
    module = get_op(name).reference(8, stride, True).eval()
    y = module(torch.randn(2, 8, 12, 12))
    assert y.shape == (2, 8, 12 // stride, 12 // stride)


def test_op_sets_are_subsets_of_the_table():
    assert set(DARTS_SEARCH_OPS) <= set(CELL_OPS) <= set(OPS)
    assert "sep_conv_7x7" not in DARTS_SEARCH_OPS  # DARTS' PRIMITIVES
    with pytest.raises(GenotypeError, match="unknown op 'conv_9x9'"):
        op_set("sep_conv_3x3", "conv_9x9")


def test_separable_conv_is_applied_twice_and_strides_once():
    sep = get_op("sep_conv_5x5").reference(4, 2, True)
    convs = [m for m in sep.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(5, 5), (1, 1), (5, 5), (1, 1)]
    assert [c.stride for c in convs] == [(2, 2), (1, 1), (1, 1), (1, 1)]
    assert [c.groups for c in convs] == [4, 1, 4, 1]


def test_none_is_zero_and_skip_reduces_with_factorized_reduce():
    x = torch.randn(1, 4, 8, 8)
    assert torch.count_nonzero(get_op("none").reference(4, 2, True)(x)) == 0
    fr = get_op("skip_connect").reference(4, 2, True)
    assert type(fr).__name__ == "FactorizedReduce"
    assert set(dict(fr.named_parameters())) == {"conv_1.weight", "conv_2.weight", "bn.weight", "bn.bias"}
