"""Reference modules of the Auto-DeepLab op set that the DARTS modules do not already provide.

They follow the TensorFlow model the paper released (tensorflow/models `research/deeplab/core/nas_cell.py`,
`NASBaseCell._apply_conv_operation`), not the DARTS code: BatchNorm epsilon 1e-3 (`nas_arg_scope`), a
full k x k convolution for `atrous_kxk`, and a strided 1x1 convolution where the skip connection halves
the map. Padding is symmetric (k//2), as in the current TF code (`conv2d_same`, `separable_conv2d_same`);
only TF's stride-2 pools keep 'SAME' padding (bottom/right), one pixel off the grid of ours.

Resizes are bilinear with align_corners=False (half-pixel centres, ONNX `Resize` half_pixel), which
ONNX Runtime and TensorRT reproduce exactly; TF's align_corners=True on its odd (4k+1) crop sizes has no
exact counterpart on even sizes. Halving a map this way averages each 2x2 block.
"""
from __future__ import annotations

import torch
from torch import nn

# BatchNorm epsilon of the TF NAS backbones (`nas_network.nas_arg_scope`, batch_norm_epsilon=0.001).
BN_EPS = 1e-3


def bilinear(scale: float) -> nn.Module:
    """Resize by a fixed factor (2, 4 or 0.5) with half-pixel bilinear interpolation; identity for 1."""
    if scale == 1:
        return nn.Identity()
    return nn.Upsample(scale_factor=scale, mode="bilinear", align_corners=False)


class AtrousConv(nn.Module):
    """TF `atrous_kxk`: ReLU -> full k x k conv with rate 2 -> BN.

    On a stride-2 edge TF first halves the map bilinearly and then applies the conv with rate 1
    (`resize` is the identity otherwise), so the conv's weights are the same in both cases.
    """

    def __init__(self, c: int, kernel_size: int, stride: int, affine: bool = True):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"AtrousConv supports stride 1 or 2, got {stride}")
        rate = 1 if stride == 2 else 2
        self.relu = nn.ReLU(inplace=False)
        self.resize = bilinear(0.5 if stride == 2 else 1)
        self.conv = nn.Conv2d(c, c, kernel_size, padding=rate * (kernel_size // 2), dilation=rate, bias=False)
        self.bn = nn.BatchNorm2d(c, eps=BN_EPS, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(self.resize(self.relu(x))))
