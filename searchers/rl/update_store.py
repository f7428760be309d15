"""The RL searcher's per-update state in DIR (DIR/rl_state/), so the journal's state stays small.

The driver saves the searcher's `state_dict()` with every journal row. If that state held the controller's
weights and the whole reward history, a long search would write O(samples) bytes per row (quadratic I/O).
Instead, each policy update k writes what changed, once, atomically (temporary name, then rename):

    weights_{k}.pt   controller and optimizer after update k (only the last two are kept: the journal's
                     state may still name k-1 if the run stopped between this file and the next commit)
    update_{k}.json  the samples of update k's batch ([reward, source] each) and its curve entry

and the journal's state names k. A file for an update the journal never recorded (written just before a
kill) is simply overwritten when the resumed run makes that update again.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import torch

from genocompile.atomic import write_bytes
from genocompile.errors import SearchError


class UpdateStore:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def _weights(self, k: int) -> Path:
        return self.directory / f"weights_{k:06d}.pt"

    def _update(self, k: int) -> Path:
        return self.directory / f"update_{k:06d}.json"

    def save(self, k: int, weights: dict[str, Any], delta: dict[str, Any]) -> None:
        self.save_delta(k, delta)
        self.save_weights(k, weights)

    def save_delta(self, k: int, delta: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        write_bytes(self._update(k), json.dumps(delta).encode())

    def save_weights(self, k: int, weights: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        torch.save(weights, buffer)
        write_bytes(self._weights(k), buffer.getvalue())
        stale = self._weights(k - 2)
        if stale.exists():
            stale.unlink()

    def migrate(self, weights: dict[str, Any] | None, history: list, curve: list[dict]) -> None:
        """Write a state that carried everything itself (a DIR from before this store) as per-update files:
        update i's samples are the history between the curve's sample counts of updates i-1 and i."""
        start = 0
        for k, entry in enumerate(curve, start=1):
            self.save_delta(k, {"history": [list(h) for h in history[start:entry["samples"]]], "curve": entry})
            start = entry["samples"]
        if weights is not None and curve:
            self.save_weights(len(curve), weights)

    def load(self, k: int) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Weights after update k (None for k = 0) and the deltas of updates 1..k in order."""
        try:
            weights = torch.load(self._weights(k), weights_only=True) if k else None
            deltas = [json.loads(self._update(i).read_text()) for i in range(1, k + 1)]
        except FileNotFoundError as exc:
            raise SearchError(f"the RL state in {self.directory} is incomplete ({Path(exc.filename).name} is "
                              f"missing); use a new --out directory") from None
        return weights, deltas
