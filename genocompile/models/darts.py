"""The DARTS evaluation networks (quark0/darts `cnn/model.py`), built from a cell genotype.

Module names are the contract: `stem`/`stem0`/`stem1`, `cells.{i}.preprocess{0,1}`, `cells.{i}._ops.{j}`,
`auxiliary_head.*`, `classifier`. They give the same state_dict keys as the DARTS code, so its
checkpoints load unchanged. Differences, none of which touch the weights: `forward` returns the logits
alone (`forward_with_aux` gives `(logits, aux_logits)` for training), and drop-path is applied only in
training with `drop_path_prob` > 0, as in the original.
"""
from __future__ import annotations

import torch
from torch import nn

from genocompile.genotype.cell import CellGenotype
from genocompile.genotype.network import darts_reduction_cells
from genocompile.models.registry import register_builder
from genocompile.ops.darts_modules import FactorizedReduce, Identity, ReLUConvBN
from genocompile.ops.table import get_op


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    keep = 1.0 - drop_prob
    mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x.div(keep) * mask


class Cell(nn.Module):
    def __init__(self, genotype: CellGenotype, c_prev_prev: int, c_prev: int, c: int, reduction: bool,
                 reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(c_prev_prev, c) if reduction_prev else ReLUConvBN(c_prev_prev, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        edges, concat = genotype.cell("reduce" if reduction else "normal")
        self.op_names = tuple(op for op, _ in edges)
        self._indices = tuple(index for _, index in edges)
        self._concat = concat
        self.multiplier = len(concat)
        # Stride 2 only on the edges that read the cell's inputs (0, 1) of a reduction cell.
        self._ops = nn.ModuleList(
            get_op(op).reference(c, 2 if reduction and index < 2 else 1, True) for op, index in edges)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(len(self._ops) // 2):
            hs = []
            for j in (2 * i, 2 * i + 1):
                h = self._ops[j](states[self._indices[j]])
                if self.training and drop_prob > 0.0 and not isinstance(self._ops[j], Identity):
                    h = drop_path(h, drop_prob)
                hs.append(h)
            states.append(hs[0] + hs[1])
        return torch.cat([states[i] for i in self._concat], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """Training-only head on the 8x8 map after the second reduction."""

    def __init__(self, c: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class AuxiliaryHeadImageNet(nn.Module):
    """Training-only head on the 14x14 map. The DARTS code has no BN after the 768-channel conv
    (a typo kept for consistency with the paper), so neither does this one: indices 0..6."""

    def __init__(self, c: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.AvgPool2d(5, stride=2, padding=0, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class _DartsNetwork(nn.Module):
    """Shared cell stack: reductions at L//3 and 2L//3, channels doubled there."""

    drop_path_prob = 0.0

    def _build_cells(self, genotype: CellGenotype, c: int, c_prev_prev: int, c_prev: int, reduction_prev: bool,
                     aux_head: type) -> int:
        net = genotype.network
        self.genotype = genotype
        self._layers = net.layers
        self._auxiliary = net.auxiliary
        self.cells = nn.ModuleList()
        c_curr = c
        c_to_auxiliary = c_prev
        for i in range(net.layers):
            reduction = i in darts_reduction_cells(net.layers)
            if reduction:
                c_curr *= 2
            cell = Cell(genotype, c_prev_prev, c_prev, c_curr, reduction, reduction_prev)
            reduction_prev = reduction
            self.cells.append(cell)
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
            if i == 2 * net.layers // 3:
                c_to_auxiliary = c_prev
        if net.auxiliary:
            self.auxiliary_head = aux_head(c_to_auxiliary, net.num_classes)
        return c_prev

    def _stem(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return self.global_pooling(x).flatten(1)

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        logits_aux = None
        s0, s1 = self._stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == 2 * self._layers // 3 and self._auxiliary and self.training:
                logits_aux = self.auxiliary_head(s1)
        return self.classifier(self._pool(s1)), logits_aux

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_aux(x)[0]

    def block_labels(self) -> dict[str, str]:
        """{module name: what it is} covering every inference module once, for per-op cost breakdowns."""
        labels = {name: "stem" for name in ("stem", "stem0", "stem1") if hasattr(self, name)}
        for i, cell in enumerate(self.cells):
            labels[f"cells.{i}.preprocess0"] = labels[f"cells.{i}.preprocess1"] = "preprocess"
            for j, op in enumerate(cell.op_names):
                labels[f"cells.{i}._ops.{j}"] = op
        labels["global_pooling"] = "global_pool"
        labels["classifier"] = "classifier"
        return labels


@register_builder("darts-cifar")
class NetworkCIFAR(_DartsNetwork):
    def __init__(self, genotype: CellGenotype):
        super().__init__()
        net = genotype.network
        c_stem = 3 * net.init_channels
        self.stem = nn.Sequential(nn.Conv2d(3, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
        c_prev = self._build_cells(genotype, net.init_channels, c_stem, c_stem, False, AuxiliaryHeadCIFAR)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, net.num_classes)

    def _stem(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.stem(x)
        return s, s


@register_builder("darts-imagenet")
class NetworkImageNet(_DartsNetwork):
    def __init__(self, genotype: CellGenotype):
        super().__init__()
        c = genotype.network.init_channels
        self.stem0 = nn.Sequential(
            nn.Conv2d(3, c // 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c),
        )
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c),
        )
        c_prev = self._build_cells(genotype, c, c, c, True, AuxiliaryHeadImageNet)
        self.global_pooling = nn.AvgPool2d(7)
        self.classifier = nn.Linear(c_prev, genotype.network.num_classes)

    def _stem(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s0 = self.stem0(x)
        return s0, self.stem1(s0)
