"""`genocompile search --searcher evolution`: wires the space, the evaluation and the EA into the driver."""
from __future__ import annotations

import random

from genocompile.errors import SearchError
from genocompile.searchers.driver import drive
from genocompile.searchers.evaluation import ProxyEvaluator, ProxySettings
from genocompile.searchers.evolution import EAS, AgingEvolution, DetNASEvolution
from genocompile.searchers.progress import Progress
from genocompile.searchers.registry import SearchOptions, SearchSummary, extra_options, register_searcher
from genocompile.searchers.spaces import get_space

DEFAULTS = {
    "ea": "aging",  # aging | detnas
    "population": 10,
    "sample_size": 3,  # aging: tournament size
    "top_k": 3,  # detnas: parents
    "evaluation": "proxy",  # proxy | oneshot
    "proxy_channels": ProxySettings.init_channels,
    "proxy_layers": ProxySettings.layers,
    "proxy_input": ProxySettings.input_size,
    "epochs": ProxySettings.epochs,
}


def make_ea(name: str, space, rng: random.Random, o: dict):
    if name not in EAS:
        raise SearchError(f"--ea {name!r}: unknown; known: {', '.join(EAS)}")
    if name == "aging":
        return AgingEvolution(space, rng, population=o["population"], sample_size=o["sample_size"])
    return DetNASEvolution(space, rng, population=o["population"], top_k=o["top_k"])


def make_evaluator(options: SearchOptions, o: dict):
    if o["evaluation"] == "proxy":
        settings = ProxySettings(init_channels=o["proxy_channels"], layers=o["proxy_layers"],
                                 input_size=o["proxy_input"], epochs=o["epochs"])
        return ProxyEvaluator(data=options.data, seed=options.seed, settings=settings)
    raise SearchError(f"--evaluation {o['evaluation']!r}: unknown; known: proxy")


@register_searcher("evolution")
def run(options: SearchOptions, progress: Progress | None = None) -> SearchSummary:
    o = extra_options(options, DEFAULTS, "evolution")
    space = get_space(options.space)
    searcher = make_ea(o["ea"], space, random.Random(options.seed), o)
    evaluator = make_evaluator(options, o)
    settings = {"ea": {k: o[k] for k in ("ea", "population", "sample_size", "top_k")}, **evaluator.identity()}
    return drive(searcher, evaluator, options, progress, settings=settings)
