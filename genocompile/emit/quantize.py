"""INT8 by Q/DQ: calibrated activation ranges and symmetric quantisation parameters.

The ONNX emitter writes `QuantizeLinear -> DequantizeLinear` on every conv's activation input (per tensor,
scale = amax / 127 from calibration) and `DequantizeLinear` on its int8 weights (per output channel,
scale = max|w| / 127), zero points 0: the explicit-quantisation form TensorRT builds int8 kernels from
(strongly typed, no calibrator) and ONNX Runtime runs too. Calibration takes the activation maxima of the
reference interpreter over the batches given: the build uses random inputs, which checks the pipeline;
a deployment calibrates with real data by passing its own batches (`EmitContext.calibration`).
"""
from __future__ import annotations

from typing import Iterable

import torch

from genocompile.ir.graph import Graph
from genocompile.ir.interpret import interpret

QUANTIZED_KINDS = ("conv", "dwpw_conv")  # node kinds whose activation input and weights run in int8
QMAX = 127


def activation_ranges(graph: Graph, batches: Iterable[torch.Tensor]) -> dict[str, float]:
    """{value name: max |value|} over the batches, for every value a quantised node reads."""
    wanted = {n.inputs[0] for n in graph.nodes if n.kind in QUANTIZED_KINDS}
    ranges: dict[str, float] = {}

    def observe(name: str, value: torch.Tensor) -> None:
        if name in wanted:
            ranges[name] = max(ranges.get(name, 0.0), value.abs().max().item())
    for x in batches:
        interpret(graph, x, observe=observe)
    return ranges


def activation_scale(amax: float) -> float:
    return amax / QMAX if amax > 0 else 1.0


def quantize_weight(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 weight, float32 per-output-channel scale), symmetric."""
    amax = w.abs().flatten(1).max(dim=1).values
    scale = torch.where(amax > 0, amax / QMAX, torch.ones_like(amax))
    q = torch.round(w / scale.view(-1, *([1] * (w.dim() - 1)))).clamp(-QMAX, QMAX).to(torch.int8)
    return q, scale.float()
