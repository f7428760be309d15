"""What a search reports while it runs. The CLI passes a rich progress bar; library use and tests a NullProgress."""
from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def update(self, done: int, total: int, best: float | None = None, rejected: int = 0,
               message: str = "") -> None: ...


class NullProgress:
    def update(self, done: int, total: int, best: float | None = None, rejected: int = 0,
               message: str = "") -> None:
        pass


class RecordingProgress:
    """Keeps every update (tests, and scripts that want the trace)."""

    def __init__(self) -> None:
        self.updates: list[dict] = []

    def update(self, done: int, total: int, best: float | None = None, rejected: int = 0,
               message: str = "") -> None:
        self.updates.append({"done": done, "total": total, "best": best, "rejected": rejected, "message": message})
