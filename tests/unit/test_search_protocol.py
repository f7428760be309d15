"""The ask/tell protocol and the evolutionary searchers' own behaviour."""
import json
import random

import pytest

from genocompile.errors import SearchError
from genocompile.searchers.evolution import AgingEvolution, DetNASEvolution
from genocompile.searchers.protocol import EvalResult, Searcher
from genocompile.searchers.registry import SEARCHERS, SearchOptions, extra_options, get_searcher
from genocompile.searchers.spaces import get_space

SPACE = get_space("darts-cifar")


@pytest.mark.parametrize("kind", [AgingEvolution, DetNASEvolution])
def test_searchers_speak_the_protocol_and_resume_from_their_state(kind):
    a = kind(SPACE, random.Random(0), population=3)
    assert isinstance(a, Searcher) and a.name == "evolution"
    for step in range(6):
        asked = a.ask(2)
        assert len(asked) == 2
        a.tell(asked, [EvalResult(fitness=random.Random(str(g)).random()) for g in asked])
    # a fresh searcher told the same results and given the saved (JSON) state asks the same next candidates
    b = kind(SPACE, random.Random(99), population=3)
    history = a.population if kind is AgingEvolution else a.seen
    if kind is AgingEvolution:
        b.told = a.told - len(history)
    b.tell([g for g, _ in history], [EvalResult(f) for _, f in history])
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    assert a.ask(3) == b.ask(3)


def test_aging_evolution_drops_the_oldest_and_mutates_tournament_winners():
    ea = AgingEvolution(SPACE, random.Random(0), population=3, sample_size=3)
    first = ea.ask(3)
    ea.tell(first, [EvalResult(0.1), EvalResult(0.9), EvalResult(0.5)])
    child = ea.ask(1)[0]
    # sample_size == population: the tournament always picks the best (0.9), and the child is one change away
    diffs = sum(a != b for kind in ("normal", "reduce") for a, b in zip(getattr(first[1], kind), getattr(child, kind)))
    assert diffs == 1
    ea.tell([child], [EvalResult(0.0)])
    assert [g for g, _ in ea.population] == [first[1], first[2], child]  # the oldest died, not the worst


def test_detnas_breeds_from_the_top_k():
    ea = DetNASEvolution(SPACE, random.Random(0), population=4, top_k=2)
    first = ea.ask(4)
    ea.tell(first, [EvalResult(f) for f in (0.1, 0.9, 0.8, 0.2)])
    parents = {first[1], first[2]}
    for child in ea.ask(20):
        nearest = min(sum(a != b for kind in ("normal", "reduce") for a, b in zip(getattr(p, kind), getattr(child, kind)))
                      for p in first)
        closest_parents = [p for p in first if sum(a != b for kind in ("normal", "reduce")
                                                   for a, b in zip(getattr(p, kind), getattr(child, kind))) == nearest]
        assert set(closest_parents) & parents or nearest == 0


def test_registry_and_options():
    assert "evolution" in SEARCHERS and get_searcher("evolution") is SEARCHERS["evolution"]
    options = SearchOptions(space="darts-cifar", out_dir="x", budget=3, extra={"top_k": "4", "ea": "detnas"})
    assert extra_options(options, {"top_k": 3, "ea": "aging", "lr": 0.1}, "t") == {"top_k": 4, "ea": "detnas", "lr": 0.1}
    with pytest.raises(SearchError, match="--workers must be a positive integer"):
        SearchOptions(space="darts-cifar", out_dir="x", budget=3, workers=0)
