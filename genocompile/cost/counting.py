"""Parameters and MultiAdds of a model, counted the way published NAS tables are checked here.

MultiAdds are fvcore's `FlopCountAnalysis` total on the model in eval mode at batch 1, where one
fused multiply-add counts 1. fvcore counts conv, linear/matmul, BatchNorm (eval: 2 x numel with
affine), adaptive average pooling and bilinear upsampling; it counts add, mul and max/avg pooling as
zero and warns. We report those skipped ops instead of hiding them.

Many NAS papers (Single Path One-Shot, DetNAS, ProxylessNAS, MobileNet) count only convolutions and
fully connected layers; `MultiAdds.conv_linear` gives that figure from the same trace.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping

import torch
from torch import nn

AUX_PREFIXES = ("auxiliary_head.",)
# fvcore operator kinds that are convolutions or matrix products (the "conv + linear" convention).
CONV_LINEAR_OPERATORS = ("conv", "linear", "addmm", "matmul", "mm", "bmm", "einsum")
# Views fvcore does not list among its ignored ops; they move no data, so they are not "skipped" work.
FREE_OPS = ("aten::unflatten",)


def count_params(model: nn.Module, exclude_prefixes: tuple[str, ...] = AUX_PREFIXES) -> int:
    """Trainable-parameter count (BN affine included), training-only heads excluded, as published."""
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith(exclude_prefixes))


@dataclass(frozen=True)
class MultiAdds:
    total: int
    by_operator: dict[str, int]  # fvcore operator kind: conv, batch_norm, linear, ...
    by_module: dict[str, int] = field(repr=False)  # fvcore per module name ("" = whole model)
    unsupported: dict[str, int] = field(default_factory=dict)  # aten op -> occurrences counted as zero

    @property
    def conv_linear(self) -> int:
        """Convolutions and fully connected layers only (BatchNorm, pooling, upsampling left out)."""
        return sum(v for k, v in self.by_operator.items() if k in CONV_LINEAR_OPERATORS)

    def by_label(self, labels: Mapping[str, str]) -> dict[str, int]:
        """Sum per label, for a {module name: label} map (e.g. cell ops -> op name)."""
        out: Counter[str] = Counter()
        for name, label in labels.items():
            out[label] += self.by_module.get(name, 0)
        return dict(out)


def count_multiadds(model: nn.Module, input_shape: tuple[int, ...]) -> MultiAdds:
    """fvcore MultiAdds of `model` on one zero input of `input_shape` (batch included), in eval mode."""
    from fvcore.nn import FlopCountAnalysis

    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        x = torch.zeros(input_shape, dtype=param.dtype if param is not None else torch.float32)
        analysis = FlopCountAnalysis(model, x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        analysis.set_op_handle(**{op: None for op in FREE_OPS})
        # fvcore logs through its own logger at WARNING; the report below carries that information.
        logging.getLogger("fvcore.nn.jit_analysis").setLevel(logging.ERROR)
        with torch.no_grad():
            total = int(analysis.total())
            result = MultiAdds(total=total, by_operator=dict(analysis.by_operator()),
                               by_module=dict(analysis.by_module()),
                               unsupported=dict(analysis.unsupported_ops()))
    finally:
        model.train(was_training)
    return result
