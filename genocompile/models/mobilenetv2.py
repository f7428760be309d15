"""MobileNetV2 encoder of the decoder family, as DrSleep/nas-segm-pytorch `src/nn/encoders.py` builds it.

Keys as there: `layer1.{0,1}` (3x3/2 conv -> BN -> ReLU6) and `layer{2..8}.{i}.conv.{0..7}` (1x1 expand ->
BN -> ReLU6 -> depthwise 3x3 -> BN -> ReLU6 -> 1x1 -> BN, identity shortcut at stride 1 with equal channels).
Unlike torchvision's MobileNetV2, the expansion-1 block keeps its 1x1 expansion conv, and there is no final
1280-channel conv: the encoder ends at layer 8 (320 channels, stride 32). It returns the outputs of layers
3, 4, 6 and 8 (24, 32, 96, 320 channels at strides 4, 8, 16, 32).
"""
from __future__ import annotations

import torch
from torch import nn

# t (expansion), c (channels), n (repeats), s (stride of the first block): layers 2 .. 8.
INVERTED_RESIDUAL_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                             (6, 160, 3, 2), (6, 320, 1, 1))
OUTPUT_LAYERS = (3, 4, 6, 8)


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, expand: int):
        super().__init__()
        mid = c_in * expand
        self.use_res_connect = stride == 1 and c_in == c_out
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, mid, 1, 1, 0, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(),
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(),
            nn.Conv2d(mid, c_out, 1, 1, 0, bias=False), nn.BatchNorm2d(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2Encoder(nn.Module):
    out_channels = (24, 32, 96, 320)
    out_strides = (4, 8, 16, 32)

    def __init__(self):
        super().__init__()
        c = 32
        self.layer1 = nn.Sequential(nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU6())
        for index, (t, c_out, n, s) in enumerate(INVERTED_RESIDUAL_SETTING, start=2):
            blocks = []
            for i in range(n):
                blocks.append(InvertedResidual(c, c_out, s if i == 0 else 1, t))
                c = c_out
            setattr(self, f"layer{index}", nn.Sequential(*blocks))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = []
        for index in range(1, 9):
            x = getattr(self, f"layer{index}")(x)
            if index in OUTPUT_LAYERS:
                outputs.append(x)
        return tuple(outputs)
