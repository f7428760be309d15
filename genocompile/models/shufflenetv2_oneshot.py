"""ShuffleNetV2 one-shot backbones (Single Path One-Shot, DetNAS), built from a `shufflenetv2-oneshot` chain.

Two skeletons, one block structure (`genocompile.ops.chain_blocks`):

`spos-imagenet`: megvii-model/ShuffleNet-Series `OneShot/network.py` (the network SinglePathOneShot trains
    and evaluates). Module names, hence state_dict keys, as there: `first_conv.{0,1}` (conv 3x3/2, no
    bias), `features.{i}.branch_main.{j}` / `.branch_proj.{j}`, `conv_last.{0,1}` (1x1, no bias),
    `classifier.0` (no bias); Dropout(0.1) after pooling in training.
`detnas-imagenet`: megvii-model/ShuffleNet-Series `DetNAS/network.py` (the ImageNet classifier form of the
    DetNAS backbones). Its first and last convs carry a bias and its classifier a bias: `first_conv.conv`,
    `first_conv.bn`, `last_conv.conv`, `last_conv.bn`, `fc.fc`; Dropout2d(0.2) before pooling in training.
    Its blocks compute what the SPOS blocks compute but name every layer after its position
    (`features.3.conv.1.interstellar1d_shufflenet_7x7_branch2b_s`); those keys are translated on load
    (`translate_state_dict`, called by `genocompile.models.load_weights`), so DetNAS checkpoints load
    while the module tree stays one structure for the compiler.

Deliberate differences, none of which touch the weights or the eval-mode function at 224x224: global
pooling is `AdaptiveAvgPool2d(1)` (the originals' `AvgPool2d(7)` only fits 224x224 inputs), and the
channel shuffle selects even / odd channels by slicing instead of reshape-permute (same result).
Initialisation follows the originals' `_initialize_weights`.
"""
from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from genocompile.genotype.chain import ChainGenotype
from genocompile.models.registry import register_builder
from genocompile.ops.table import get_op


class ConvBNReLU(nn.Module):
    """DetNAS' first / last layer: conv with bias -> BN -> ReLU (`conv`, `bn` keys as in DetNAS)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=True)
        self.bn = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class FC(nn.Module):
    """DetNAS' classifier wrapper (key `fc.fc`)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.fc = nn.Linear(c_in, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def build_blocks(genotype: ChainGenotype) -> nn.Sequential:
    """One reference block per position, from the op table."""
    return nn.Sequential(*(get_op(op).reference(slot.c_in, slot.c_out, slot.stride, scale)
                           for op, slot, scale in zip(genotype.blocks(), genotype.slots(), genotype.scales())))


def megvii_init(model: nn.Module) -> None:
    """The megvii networks' `_initialize_weights`: convs N(0, 1/fan_in channels) (N(0, 0.01) for the first
    conv), zero conv biases, BN weight 1 / bias 1e-4, Linear N(0, 0.01) with zero bias."""
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0, 0.01 if "first" in name else 1.0 / m.weight.shape[1])
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.constant_(m.bias, 1e-4)
            nn.init.zeros_(m.running_mean)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class _OneShotNetwork(nn.Module):
    genotype: ChainGenotype
    features: nn.Sequential

    def block_labels(self) -> dict[str, str]:
        """{module name: what it is} covering every inference module once, for per-op cost breakdowns."""
        stem, last, pool, head = self._parts
        labels = {stem: "stem"}
        labels.update({f"features.{i}": op for i, op in enumerate(self.genotype.blocks())})
        labels.update({last: "conv_last", pool: "global_pool", head: "classifier"})
        return labels


@register_builder("spos-imagenet")
class ShuffleNetV2OneShot(_OneShotNetwork):
    """Single Path One-Shot's evaluation network (megvii ShuffleNet-Series `ShuffleNetV2_OneShot`)."""

    _parts = ("first_conv", "conv_last", "globalpool", "classifier")

    def __init__(self, genotype: ChainGenotype):
        super().__init__()
        net = genotype.network
        self.genotype = genotype
        widths = net.stage_out_channels
        self.first_conv = nn.Sequential(nn.Conv2d(3, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]),
                                        nn.ReLU())
        self.features = build_blocks(genotype)
        self.conv_last = nn.Sequential(nn.Conv2d(widths[-2], widths[-1], 1, 1, 0, bias=False),
                                       nn.BatchNorm2d(widths[-1]), nn.ReLU())
        self.globalpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.1)
        self.classifier = nn.Sequential(nn.Linear(widths[-1], net.num_classes, bias=False))
        megvii_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_last(self.features(self.first_conv(x)))
        return self.classifier(self.dropout(self.globalpool(x)).flatten(1))


@register_builder("detnas-imagenet")
class ShuffleNetV2DetNAS(_OneShotNetwork):
    """DetNAS' backbone in its ImageNet classifier form (megvii ShuffleNet-Series `ShuffleNetV2DetNAS`)."""

    _parts = ("first_conv", "last_conv", "global_pool", "fc")

    def __init__(self, genotype: ChainGenotype):
        super().__init__()
        net = genotype.network
        self.genotype = genotype
        widths = net.stage_out_channels
        self.first_conv = ConvBNReLU(3, widths[0], 3, stride=2)
        self.features = build_blocks(genotype)
        self.last_conv = ConvBNReLU(widths[-2], widths[-1], 1)
        self.drop_out = nn.Dropout2d(0.2)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = FC(widths[-1], net.num_classes)
        megvii_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop_out(self.last_conv(self.features(self.first_conv(x))))
        return self.fc(self.global_pool(x).flatten(1))

    def translate_state_dict(self, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Rename the keys of a DetNAS checkpoint (position-named layers) to this module tree; keys
        already in this tree's form pass unchanged."""
        renames = detnas_module_names(self.genotype)
        out = {}
        for key, value in state.items():
            module, _, leaf = key.rpartition(".")
            out[f"{renames.get(module, module)}.{leaf}"] = value
        return out


def _detnas_prefix(stage: int, position: int) -> str:
    return f"{stage}{chr(ord('a') + position)}"


def detnas_module_names(genotype: ChainGenotype) -> dict[str, str]:
    """{DetNAS module path: ours} for every block layer with state (megvii DetNAS `blocks.py` naming).

    DetNAS builds each layer group with `create_spatial_conv2d_group_bn_relu(prefix)`: a depthwise conv
    `interstellar<prefix>_s`, its BN `..._s_bn`, a 1x1 conv `interstellar<prefix>` and its BN `bn<prefix>`;
    `<prefix>` is the block's position (`1a` = stage 1, first block), the op name and the branch part.
    The same layers sit, in the same order, at fixed indices of our `branch_main` / `branch_proj`.
    """
    out: dict[str, str] = {}
    for i, (op, slot) in enumerate(zip(genotype.blocks(), genotype.slots())):
        where = _detnas_prefix(slot.stage, slot.position)
        main = f"{where}_{op}"
        if op.startswith("shufflenet_"):
            layers = {f"conv.0.interstellar{main}_branch2a": 0, f"conv.0.bn{main}_branch2a": 1,
                      f"conv.1.interstellar{main}_branch2b_s": 3, f"conv.1.interstellar{main}_branch2b_s_bn": 4,
                      f"conv.1.interstellar{main}_branch2b": 5, f"conv.1.bn{main}_branch2b": 6}
        else:  # xception_3x3: three groups a, b, c of (dw, BN, 1x1, BN, ReLU)
            layers = {}
            for g, branch in enumerate("abc"):
                name = f"{main}_branch2{branch}"
                layers.update({f"conv.{g}.interstellar{name}_s": 5 * g, f"conv.{g}.interstellar{name}_s_bn": 5 * g + 1,
                               f"conv.{g}.interstellar{name}": 5 * g + 2, f"conv.{g}.bn{name}": 5 * g + 3})
        out.update({f"features.{i}.{k}": f"features.{i}.branch_main.{v}" for k, v in layers.items()})
        if slot.stride == 2:
            proj = f"{where}_proj"
            out.update({f"features.{i}.proj_conv.interstellar{proj}_s": f"features.{i}.branch_proj.0",
                        f"features.{i}.proj_conv.interstellar{proj}_s_bn": f"features.{i}.branch_proj.1",
                        f"features.{i}.proj_conv.interstellar{proj}": f"features.{i}.branch_proj.2",
                        f"features.{i}.proj_conv.bn{proj}": f"features.{i}.branch_proj.3"})
    return out
