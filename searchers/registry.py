"""Searchers by name (`genocompile search --searcher NAME`), their options and their summary.

A searcher is one function registered with `@register_searcher("name")`:
`run(options: SearchOptions, progress: Progress) -> SearchSummary`. It writes DIR/genotype.json (the best
feasible genotype) atomically and resumes from DIR when run again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from genocompile.cost.constraints import Constraints
from genocompile.errors import SearchError
from genocompile.registry import Registry


@dataclass(frozen=True)
class SearchOptions:
    space: str  # "darts-cifar" | "darts-imagenet" | "shufflenetv2-oneshot" | "autodeeplab" ...
    out_dir: Path  # DIR: genotype.json, journal.sqlite, plots, checkpoints
    budget: int  # what a searcher counts (evaluations; epochs for gradient; sampled candidates for rl)
    seed: int = 0
    constraints: Constraints = Constraints()
    data: str | None = None  # None / "digits" or a local CIFAR-10 path (genocompile.data.classification)
    executor: str = "local"  # "local" | "ray"
    workers: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)  # searcher-specific options, e.g. rl_algo

    def __post_init__(self) -> None:
        object.__setattr__(self, "out_dir", Path(self.out_dir))
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 1:
            raise SearchError(f"--budget must be a positive integer, got {self.budget!r}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise SearchError(f"--workers must be a positive integer, got {self.workers!r}")


@dataclass(frozen=True)
class SearchSummary:
    best: dict  # {"genotype": <canonical JSON dict>, "fitness": float, "costs": {"multiadds": .., "params": ..}}
    evaluated: int  # total evaluations (gradient: epochs) in DIR's journal for this run's budget
    resumed: int  # how many of those came from DIR instead of being run now
    extra: dict = field(default_factory=dict)  # searcher-specific figures (rejections, saved compute, ...)

    def to_dict(self) -> dict:
        return {"best": self.best, "evaluated": self.evaluated, "resumed": self.resumed, **self.extra}


SearchFn = Callable[..., SearchSummary]
SEARCHERS: Registry[SearchFn] = Registry("searcher", SearchError)


def register_searcher(name: str) -> Callable[[SearchFn], SearchFn]:
    """Decorator on `run(options, progress) -> SearchSummary`."""
    return SEARCHERS.decorator(name)


def get_searcher(name: str) -> SearchFn:
    import genocompile.searchers  # noqa: F401  (each searcher module registers itself on import)

    return SEARCHERS.get_or_raise(name)


def extra_options(options: SearchOptions, defaults: Mapping[str, Any], searcher: str) -> dict[str, Any]:
    """The searcher's own options from `options.extra`, typed like their defaults (the CLI passes strings).

    An option the searcher does not know is refused, so a typo never silently runs the default."""
    unknown = sorted(set(options.extra) - set(defaults))
    if unknown:
        flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
        known = ", ".join("--" + k.replace("_", "-") for k in defaults) or "none"
        raise SearchError(f"searcher {searcher!r} has no option {flags}; its options: {known}")
    out = dict(defaults)
    for key, value in options.extra.items():
        out[key] = _typed(key, value, defaults[key])
    return out


def check_ranges(opts: Mapping[str, Any], positive: Sequence[str] = (), non_negative: Sequence[str] = ()) -> None:
    """Refuse a searcher option out of its range, naming the flag (one line, before any work starts)."""
    for keys, low, text in ((positive, 1, "positive"), (non_negative, 0, ">= 0")):
        for key in keys:
            if opts[key] < low:
                raise SearchError(f"--{key.replace('_', '-')} must be {text}, got {opts[key]}")


def _typed(key: str, value: Any, default: Any) -> Any:
    flag = "--" + key.replace("_", "-")
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    try:
        if isinstance(default, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        return type(default)(value)
    except ValueError:
        kind = {int: "an integer", float: "a number", bool: "true or false"}.get(type(default), type(default).__name__)
        raise SearchError(f"{flag} {value!r}: expected {kind}") from None
