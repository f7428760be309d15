"""`genocompile search --searcher evolution`: wires the space, the evaluation and the EA into the driver."""
from __future__ import annotations

import logging
import random
from dataclasses import asdict
from pathlib import Path

from genocompile.errors import SearchError
from genocompile.searchers.driver import check_directory, drive, search_log
from genocompile.searchers.evaluation import ProxyEvaluator, ProxySettings
from genocompile.searchers.evolution import EAS, AgingEvolution, DetNASEvolution
from genocompile.searchers.oneshot import OneShotEvaluator, OneShotSettings, train_supernet
from genocompile.searchers.progress import NullProgress, Progress
from genocompile.searchers.registry import SearchOptions, SearchSummary, extra_options, register_searcher
from genocompile.searchers.spaces import get_space

log = logging.getLogger("genocompile.search")

DEFAULTS = {
    "ea": "aging",  # aging | detnas
    "population": 10,
    "sample_size": 3,  # aging: tournament size
    "top_k": 3,  # detnas: parents
    "evaluation": "proxy",  # proxy | oneshot
    # network of the evaluation (0: the evaluation's own default, ProxySettings / OneShotSettings)
    "proxy_channels": 0,
    "proxy_layers": 0,
    "proxy_input": 0,
    "epochs": ProxySettings.epochs,  # proxy: stand-alone epochs per candidate
    "supernet_epochs": OneShotSettings.epochs,  # oneshot: supernet training epochs (once per DIR)
    "recalibration_batches": OneShotSettings.recalibration_batches,
}


def make_ea(name: str, space, rng: random.Random, o: dict):
    if name not in EAS:
        raise SearchError(f"--ea {name!r}: unknown; known: {', '.join(EAS)}")
    if name == "aging":
        return AgingEvolution(space, rng, population=o["population"], sample_size=o["sample_size"])
    return DetNASEvolution(space, rng, population=o["population"], top_k=o["top_k"])


def evaluation_settings(o: dict, space):
    """The evaluation's settings from the options (they are part of the journal identity); what the options
    leave open, the space's needs (`evaluation_defaults`), then the evaluation's defaults decide."""
    network = dict(space.evaluation_defaults)
    network.update({key: o[option] for key, option in (("init_channels", "proxy_channels"),
                                                       ("layers", "proxy_layers"), ("input_size", "proxy_input"))
                    if o[option]})
    if o["evaluation"] == "proxy":
        return ProxySettings(**network, epochs=o["epochs"])
    if o["evaluation"] == "oneshot":
        return OneShotSettings(**network, epochs=o["supernet_epochs"], recalibration_batches=o["recalibration_batches"])
    raise SearchError(f"--evaluation {o['evaluation']!r}: unknown; known: proxy, oneshot")


def make_evaluator(options: SearchOptions, settings, space, progress: Progress):
    """The candidate evaluator; one-shot evaluation first trains (or resumes) the supernet in DIR."""
    log.info("evaluation: %s", settings.describe())
    if isinstance(settings, ProxySettings):
        return ProxyEvaluator(data=options.data, seed=options.seed, settings=settings, space_name=space.name)

    def report(message: str) -> None:
        log.info(message)
        progress.update(done=0, total=options.budget, message=message)

    checkpoint = train_supernet(space, options.data, options.seed, settings, Path(options.out_dir), report)
    return OneShotEvaluator(space.name, str(checkpoint), options.data, settings)


@register_searcher("evolution")
def run(options: SearchOptions, progress: Progress | None = None) -> SearchSummary:
    o = extra_options(options, DEFAULTS, "evolution")
    space = get_space(options.space)
    searcher = make_ea(o["ea"], space, random.Random(options.seed), o)
    progress = progress or NullProgress()
    evaluation = evaluation_settings(o, space)
    settings = {"ea": {k: o[k] for k in ("ea", "population", "sample_size", "top_k")},
                "evaluation": o["evaluation"], o["evaluation"]: asdict(evaluation)}
    check_directory(searcher, options, settings)  # before any supernet training: refuse a foreign DIR now
    with search_log(options.out_dir):
        evaluator = make_evaluator(options, evaluation, space, progress)
    return drive(searcher, evaluator, options, progress, settings=settings)
