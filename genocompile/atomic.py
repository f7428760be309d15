"""Writing files so that a reader (or a rerun after kill -9) never sees half of one.

Every writer goes through `replacing(path)`: it hands out a sibling temp path `.NAME.tmp-PID`, and renames it
over `path` only when the block finishes; on an error the temp file is removed. The PID in the name lets a
later run tell a dead writer's leftovers from a live writer's file (`stale_temps`).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterator


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yields a temp path to write; on success it replaces `path` (created with its parent folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> None:
    """`path` holds `data` in full, flushed to disk before the rename."""
    with replacing(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode())


def save_torch(obj: Any, path: str | Path) -> None:
    import torch

    with replacing(path) as tmp:
        torch.save(obj, tmp)


def save_figure(fig: Any, path: str | Path, **savefig: Any) -> Path:
    """A matplotlib figure to `path` (format from its suffix, since the temp name has none), then closed."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with replacing(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or None, **savefig)
    plt.close(fig)
    return path


def stale_temps(path: str | Path) -> list[Path]:
    """Temp files next to `path` whose writer process is gone (killed mid-write)."""
    path = Path(path)
    stale = []
    for tmp in path.parent.glob(f".{path.name}.tmp-*"):
        try:
            os.kill(int(tmp.name.rsplit("-", 1)[1]), 0)
        except ProcessLookupError:
            stale.append(tmp)
        except (ValueError, PermissionError):
            continue
    return stale
