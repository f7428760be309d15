"""The latency model the search CLI loads for `--max-latency-ms X --device D --latency-model LUT.json`."""
from __future__ import annotations

from pathlib import Path

from genocompile.cost.predictor import LatencyPredictor


def load_latency_model(path: str | Path, device: str | None = None) -> LatencyPredictor:
    """The calibrated LUT predictor for `device` (default cpu); a table made elsewhere is refused (CostModelError)."""
    return LatencyPredictor.from_file(path, device or "cpu")
