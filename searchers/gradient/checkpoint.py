"""The search state in DIR (supernet with α, both optimisers, RNG states, history), saved atomically each epoch.

A kill -9 at any moment leaves either the previous epoch's file or the new one, never half of one: the
state is written to a temporary file, flushed to disk, then renamed over the old one."""
from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genocompile.atomic import write_bytes
from genocompile.errors import SearchError

STATE_NAME = "gradient_state.pt"


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(out_dir: Path, state: dict[str, Any]) -> Path:
    path = Path(out_dir) / STATE_NAME
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_bytes(path, buffer.getvalue())
    return path


def load_state(out_dir: Path) -> dict[str, Any] | None:
    path = Path(out_dir) / STATE_NAME
    if not path.exists():
        return None
    # Our own file (RNG states hold numpy arrays / tuples, which the weights-only loader refuses).
    return torch.load(path, map_location="cpu", weights_only=False)


def check_identity(out_dir: Path, state: dict[str, Any], identity: dict[str, Any]) -> None:
    """Refuse to continue a saved search whose settings differ from this run's (naming them and the fix)."""
    if state["identity"] != identity:
        diff = sorted(k for k in set(identity) | set(state["identity"])
                      if state["identity"].get(k) != identity.get(k))
        raise SearchError(f"{out_dir} holds a gradient search with other settings ({', '.join(diff)}: "
                          f"{', '.join(str(state['identity'].get(k)) for k in diff)}); use a new --out")
