"""The Auto-DeepLab ops follow the TF NASBaseCell operations (tensorflow/models research/deeplab/core/nas_cell.py)."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genocompile.ops import AUTODEEPLAB_OPS, OPS, get_op


def test_the_op_set_is_the_papers_eight_ops():
    assert set(AUTODEEPLAB_OPS) <= set(OPS)
    assert sorted(AUTODEEPLAB_OPS) == ["atrous_3x3", "atrous_5x5", "avg_pool_3x3", "identity", "max_pool_3x3", "none",
                                       "separable_3x3_2", "separable_5x5_2"]


@pytest.mark.parametrize("name,k", [("separable_3x3_2", 3), ("separable_5x5_2", 5)])
def test_separable_is_two_relu_depthwise_pointwise_bn_layers(name, k):
    op = get_op(name).reference(6, 2, True)
    layers = list(op.modules())[2:]
    kinds = [type(m).__name__ for m in layers]
    assert kinds == ["ReLU", "Conv2d", "Conv2d", "BatchNorm2d"] * 2
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    assert [(c.kernel_size, c.stride, c.groups) for c in convs] == [
        ((k, k), (2, 2), 6), ((1, 1), (1, 1), 1), ((k, k), (1, 1), 6), ((1, 1), (1, 1), 1)]
    assert all(m.eps == 1e-3 for m in layers if isinstance(m, nn.BatchNorm2d))  # nas_arg_scope


@pytest.mark.parametrize("k", [3, 5])
def test_atrous_is_a_full_rate_2_conv(k):
    op = get_op(f"atrous_{k}x{k}").reference(4, 1, True).eval()
    assert (op.conv.kernel_size, op.conv.dilation, op.conv.groups, op.bn.eps) == ((k, k), (2, 2), 1, 1e-3)
    x = torch.randn(1, 4, 10, 10)
    expected = op.bn(F.conv2d(F.relu(x), op.conv.weight, padding=2 * (k // 2), dilation=2))
    torch.testing.assert_close(op(x), expected)


def test_strided_atrous_halves_bilinearly_then_convolves_at_rate_1():
    op = get_op("atrous_5x5").reference(4, 2, True).eval()
    assert op.conv.dilation == (1, 1)
    x = torch.randn(1, 4, 12, 8)
    # half-pixel bilinear halving = the mean of each 2x2 block; ReLU comes first, as in TF
    expected = op.bn(F.conv2d(F.avg_pool2d(F.relu(x), 2), op.conv.weight, padding=2))
    torch.testing.assert_close(op(x), expected)


def test_identity_is_a_skip_and_a_strided_1x1_on_downsampling_edges():
    x = torch.randn(1, 4, 8, 8)
    assert torch.equal(get_op("identity").reference(4, 1, True)(x), x)
    op = get_op("identity").reference(4, 2, True).eval()
    conv, bn = op.op[1], op.op[2]
    assert (conv.kernel_size, conv.stride, bn.eps) == ((1, 1), (2, 2), 1e-3)
    torch.testing.assert_close(op(x), bn(F.conv2d(F.relu(x)[:, :, ::2, ::2], conv.weight)))
