"""The auxiliary-cell segmenter (DrSleep/nas-segm-pytorch `Segmenter` = encoder + `MicroDecoder`), built from
a `decoder` genotype.

Module tree (state_dict keys as in nas-segm-pytorch, so its `arch*_segm-*.pth` checkpoints load):

    encoder                                  MobileNetV2 (genocompile.models.mobilenetv2)
    decoder.adapt{1..E}                      1x1 conv -> BN -> ReLU per encoder output, to agg_size channels
    decoder.cells.{b}.op_1 / .op_2           the cell on each input of block b: `_ops.{k}` (op k of the cell;
                                             the sums of nodes sit at `_ops.{3n}` and have no parameters)
    decoder.cells.{b}.agg.branch_1 / _2      1x1 conv -> BN -> ReLU on each, then upsample + add
    decoder.aux_clfs.{b}.aux_cell / .aux_clf training only (network.auxiliary): the auxiliary cell and a
                                             3x3 classifier on block b's output
    decoder.pre_clf, decoder.conv_clf        1x1 conv -> BN -> ReLU on the concatenated loose block outputs,
                                             then 3x3 conv (bias) to num_classes
    decoder.resize, resize                   bilinear upsampling (align_corners=False), no parameters

`forward(x)` returns the logits upsampled to the input size and never runs the auxiliary modules, so a
trace of it (and every compiled artifact) has none of them; `forward_with_aux(x)` returns
`(logits, [auxiliary logits per block])` in training (`None` in eval), each upsampled to the input size.
Which feature is upsampled to which is decided from the encoder strides at construction, where the
original compares tensor sizes at run time; the two agree for every input the genotype admits.

Differences from the original, none touching weights: the final upsampling to the input size happens
here (the original's trainer does it), unused encoder outputs are not passed through their `adapt`
layer (the original computes and discards them), and the auxiliary heads exist only when asked for.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from genocompile.errors import CheckpointError
from genocompile.genotype.decoder import DecoderGenotype
from genocompile.models.checkpoint import load_weights, read_state_dict
from genocompile.models.mobilenetv2 import MobileNetV2Encoder
from genocompile.models.registry import register_builder
from genocompile.ops.decoder_modules import conv_bn_relu
from genocompile.ops.table import get_op

ENCODER_BUILDERS: dict[str, Callable[[], nn.Module]] = {"mobilenetv2": MobileNetV2Encoder}


class Resize(nn.Module):
    """Bilinear upsampling of `x` to the spatial size of `like` (align_corners=False, as the original)."""

    def forward(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class Sum(nn.Module):
    """A cell node's sum (the original's `AggregateCell(pre_transform=False)`: no parameters)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class ContextualCell(nn.Module):
    """One copy of the searched cell on `c` channels (nas-segm `ContextualCell`)."""

    def __init__(self, cell: tuple[tuple[str, int], ...], c: int, repeats: int):
        super().__init__()
        self.op_names = tuple(op for op, _ in cell)
        self._ops = nn.ModuleList()
        self._pos: list[Any] = []
        collect = [0]
        for i, (op, index) in enumerate(cell):
            self._ops.append(get_op(op).reference(c, repeats))
            self._pos.append(index)
            if index in collect:  # an output something reads is not a loose end
                collect.remove(index)
            if i == 0:
                collect.append(1)
            elif i % 2 == 0:  # the second op of a node: sum the node's two op outputs
                self._ops.append(Sum())
                self._pos.append((len(self._ops) - 2, len(self._ops) - 1))
                collect.append(len(self._ops))
        self._collect = tuple(collect)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for pos, op in zip(self._pos, self._ops):
            feats.append(op(feats[pos[0]], feats[pos[1]]) if isinstance(pos, tuple) else op(feats[pos]))
        out = feats[self._collect[0]]
        for i in self._collect[1:]:
            out = out + feats[i]
        return out


class AggregateCell(nn.Module):
    """1x1 conv -> BN -> ReLU on both inputs, the lower-resolution one upsampled, then added."""

    def __init__(self, c: int, strides: tuple[int, int]):
        super().__init__()
        self.branch_1 = conv_bn_relu(c, c, 1)
        self.branch_2 = conv_bn_relu(c, c, 1)
        self.resize = Resize()
        self._upsample = 2 if strides[1] > strides[0] else 1 if strides[0] > strides[1] else 0

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        x1, x2 = self.branch_1(x1), self.branch_2(x2)
        if self._upsample == 2:
            x2 = self.resize(x2, x1)
        elif self._upsample == 1:
            x1 = self.resize(x1, x2)
        return x1 + x2


class MergeCell(nn.Module):
    def __init__(self, genotype: DecoderGenotype, c: int, strides: tuple[int, int]):
        super().__init__()
        repeats = genotype.network.repeats
        self.op_1 = ContextualCell(genotype.cell, c, repeats)
        self.op_2 = ContextualCell(genotype.cell, c, repeats)
        self.agg = AggregateCell(c, strides)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return self.agg(self.op_1(x1), self.op_2(x2))


class MicroDecoder(nn.Module):
    def __init__(self, genotype: DecoderGenotype):
        super().__init__()
        net, enc = genotype.network, genotype.encoder_spec
        c, n_enc = net.agg_size, len(enc.out_channels)
        for i, c_in in enumerate(enc.out_channels):
            setattr(self, f"adapt{i + 1}", conv_bn_relu(c_in, c, 1))
        strides = list(enc.out_strides)
        collect: list[int] = []
        self.cells = nn.ModuleList()
        for b, (i, j) in enumerate(genotype.connections):
            collect = [k for k in collect if k not in (i, j)]
            self.cells.append(MergeCell(genotype, c, (strides[i], strides[j])))
            strides.append(min(strides[i], strides[j]))
            collect.append(n_enc + b)
        if net.auxiliary:
            self.aux_clfs = nn.ModuleList()
            for _ in genotype.connections:
                head = nn.Sequential()
                if net.aux_cell:
                    head.add_module("aux_cell", ContextualCell(genotype.cell, c, net.repeats))
                head.add_module("aux_clf", nn.Conv2d(c, net.num_classes, 3, padding=1, bias=True))
                self.aux_clfs.append(head)
        self.pre_clf = conv_bn_relu(c * len(collect), c, 1)
        self.conv_clf = nn.Conv2d(c, net.num_classes, 3, padding=1, bias=True)
        self.resize = Resize()
        self._connections = genotype.connections
        self._used = tuple(sorted({k for pair in genotype.connections for k in pair if k < n_enc}))
        self._collect = tuple(collect)
        self._strides = tuple(strides)

    def blocks(self, encoded: tuple[torch.Tensor, ...]) -> list[torch.Tensor | None]:
        """The feature pool: adapted encoder outputs (None where unused), then each block's output."""
        pool: list[torch.Tensor | None] = [None] * len(encoded)
        for k in self._used:
            pool[k] = getattr(self, f"adapt{k + 1}")(encoded[k])
        for cell, (i, j) in zip(self.cells, self._connections):
            pool.append(cell(pool[i], pool[j]))
        return pool

    def classify(self, pool: list[torch.Tensor | None]) -> torch.Tensor:
        """Concatenate the loose block outputs at the finest of their resolutions, then classify."""
        out, stride = pool[self._collect[0]], self._strides[self._collect[0]]
        for k in self._collect[1:]:
            feature = pool[k]
            if stride > self._strides[k]:
                out, stride = self.resize(out, feature), self._strides[k]
            elif self._strides[k] > stride:
                feature = self.resize(feature, out)
            out = torch.cat([out, feature], 1)
        return self.conv_clf(self.pre_clf(F.relu(out)))

    def forward(self, encoded: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.classify(self.blocks(encoded))


@register_builder("nas-segm")
class Segmenter(nn.Module):
    auxiliary_prefixes = ("decoder.aux_clfs.",)  # training-only: not counted, optional in checkpoints

    def __init__(self, genotype: DecoderGenotype):
        super().__init__()
        self.genotype = genotype
        self.encoder = ENCODER_BUILDERS[genotype.encoder]()
        self.decoder = MicroDecoder(genotype)
        self.resize = Resize()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resize(self.decoder(self.encoder(x)), x)

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        pool = self.decoder.blocks(self.encoder(x))
        logits = self.resize(self.decoder.classify(pool), x)
        if not (self.training and hasattr(self.decoder, "aux_clfs")):
            return logits, None
        n_enc = len(self.genotype.encoder_spec.out_channels)
        aux = [self.resize(head(pool[n_enc + b]), x) for b, head in enumerate(self.decoder.aux_clfs)]
        return logits, aux

    def block_labels(self) -> dict[str, str]:
        """{module name: what it is} covering every inference module once, for per-op cost breakdowns."""
        labels = {"encoder": "encoder", "resize": "upsample", "decoder.resize": "upsample",
                  "decoder.pre_clf": "classifier", "decoder.conv_clf": "classifier"}
        labels.update({f"decoder.adapt{i + 1}": "adapt" for i in range(len(self.genotype.encoder_spec.out_channels))})
        for b, cell in enumerate(self.decoder.cells):
            labels[f"decoder.cells.{b}.agg"] = "aggregate"
            for side in ("op_1", "op_2"):
                ctx = getattr(cell, side)
                k = 0
                for index, op in enumerate(ctx._ops):
                    if not isinstance(op, Sum):
                        labels[f"decoder.cells.{b}.{side}._ops.{index}"] = ctx.op_names[k]
                        k += 1
        return labels


def load_encoder_weights(model: Segmenter, source: str | Path | Mapping[str, Any]) -> Segmenter:
    """Load pretrained encoder weights (e.g. ImageNet MobileNetV2) from a local file into `model.encoder`.

    Accepts the encoder's own state_dict (`layer1.0.weight`, ...) or a whole segmenter checkpoint
    (`encoder.layer1.0.weight`, ...); keys outside the encoder's `layer*` modules (a classifier head, the
    decoder) are ignored. Every encoder key must be present with its shape (genocompile.models.load_weights).
    """
    state = read_state_dict(source)
    if any(k.startswith("encoder.") for k in state):
        state = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    state = {k: v for k, v in state.items() if k.startswith("layer")}
    if not state:
        raise CheckpointError("encoder weights: no `layer*` (or `encoder.layer*`) keys in the checkpoint; give a "
                              "nas-segm-pytorch MobileNetV2 state_dict")
    load_weights(model.encoder, state)
    return model
