"""TEMPORARY stand-ins for the search framework's contract names (delete when the framework lands)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from genocompile.cost.constraints import Constraints
from genocompile.errors import GenocompileError


class SearchError(GenocompileError):
    pass


@dataclass(frozen=True)
class SearchOptions:
    space: str
    out_dir: Path
    budget: int
    seed: int = 0
    constraints: Constraints = Constraints()
    data: str | None = None
    executor: str = "local"
    workers: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "out_dir", Path(self.out_dir))


@dataclass(frozen=True)
class SearchSummary:
    best: dict
    evaluated: int
    resumed: int
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"best": self.best, "evaluated": self.evaluated, "resumed": self.resumed, **self.extra}


class NullProgress:
    def update(self, done: int, total: int, best: float | None = None, rejected: int = 0, message: str = "") -> None:
        pass


SEARCHERS: dict = {}


def register_searcher(name: str):
    def wrap(fn):
        SEARCHERS[name] = fn
        return fn
    return wrap


def extra_options(options: SearchOptions, defaults: Mapping[str, Any], searcher: str) -> dict[str, Any]:
    unknown = sorted(set(options.extra) - set(defaults))
    if unknown:
        raise SearchError(f"searcher {searcher!r} has no option {', '.join(unknown)}")
    out = dict(defaults)
    for key, value in options.extra.items():
        out[key] = type(defaults[key])(value) if isinstance(value, str) and defaults[key] is not None else value
    return out
