"""The RL searcher's ask/tell behaviour without the driver: learning from told rewards, reusing known rewards,
telling rejections as penalties, and resuming from a JSON state exactly where it stopped."""
import json
import random

import pytest

from genocompile.errors import SearchError
from genocompile.searchers.protocol import EvalResult as Result
from genocompile.searchers.rl.policy import PolicySettings
from genocompile.searchers.rl.searcher import RLSearcher, RLSettings


def pools(genotype) -> float:
    edges = genotype.normal + genotype.reduce
    return sum(op == "max_pool_3x3" for op, _ in edges) / len(edges)


def searcher(algo="reinforce", seed=0, **kw):
    settings = RLSettings(algo=algo, batch=4, policy=PolicySettings(baseline_decay=0.9))
    return RLSearcher(settings, random.Random(seed), seed=seed, **kw)


def step(s, n=1):
    asked = s.ask(n)
    s.tell(asked, [Result(pools(g), {"early_reward": pools(g) / 2}) for g in asked])
    return asked


def test_asks_new_cells_and_updates_the_policy_every_batch():
    s = searcher()
    seen = [g for _ in range(3) for g in step(s, 4)]
    assert len({json.dumps(g.to_dict()) for g in seen}) == 12
    assert s.policy.updates == 3 and len(s.curve) == 3
    assert s.gate.count == 12  # early rewards reach the early-stopping gate


@pytest.mark.parametrize("algo", ["reinforce", "ppo"])
def test_resume_from_json_state_continues_exactly(algo):
    straight = searcher(algo)
    full = [g for _ in range(10) for g in step(straight, 2)]

    first = searcher(algo)
    done = [g for _ in range(5) for g in step(first, 2)]
    state = json.loads(json.dumps(first.state_dict()))  # the driver stores it as JSON

    resumed = searcher(algo)
    resumed.tell(done, [Result(pools(g), {"early_reward": pools(g) / 2}) for g in done])  # journal replay
    resumed.load_state_dict(state)
    rest = [g for _ in range(5) for g in step(resumed, 2)]
    assert [g.to_dict() for g in done + rest] == [g.to_dict() for g in full]
    assert resumed.history == straight.history and resumed.policy.baseline == straight.policy.baseline


class FewSepConvs:
    """Constraints stand-in: at most one sep_conv_3x3 edge over both cells."""

    def satisfies(self, genotype):
        return sum(op == "sep_conv_3x3" for op, _ in genotype.normal + genotype.reduce) <= 1


def test_infeasible_cells_are_told_as_penalties_never_asked():
    s = searcher(constraints=FewSepConvs())
    asked = [g for _ in range(6) for g in step(s, 2)]
    assert all(FewSepConvs().satisfies(g) for g in asked)
    assert s.rejected > 0
    assert [r for r, source in s.history if source == "rejected"] == [0.0] * s.rejected


def test_a_known_cell_is_a_free_sample_with_its_known_reward():
    s = searcher()
    asked = step(s, 1)
    # Make the controller propose that cell again: the reward comes from memory, nothing is asked twice.
    s.rng = random.Random(0)
    s2 = searcher()
    s2.rewards.update(s.rewards)
    again = s2.ask(1)
    assert again[0].to_dict() != asked[0].to_dict()
    assert s2.history[0] == (pools(asked[0]), "cached")


def test_a_converged_controller_stops_with_a_clear_error():
    s = RLSearcher(RLSettings(max_resample=5), random.Random(0), constraints=type("No", (), {
        "satisfies": lambda self, g: False})())
    with pytest.raises(SearchError, match="in a row"):
        s.ask(1)


def test_state_from_other_settings_is_refused():
    state = json.loads(json.dumps(searcher().state_dict()))
    with pytest.raises(SearchError, match="other controller settings"):
        searcher(algo="ppo").load_state_dict(state)


class FewConvs:
    """Constraints stand-in: at most 5 of the 16 edges are convolutions (about 1 random cell in 10 fits)."""

    def satisfies(self, genotype):
        return sum("conv" in op for op, _ in genotype.normal + genotype.reduce) <= 5


def test_rejection_penalties_teach_the_controller_to_stay_feasible():
    s = RLSearcher(RLSettings(batch=4), random.Random(0), constraints=FewConvs())
    while len(s.history) < 240:
        s.tell(asked := s.ask(1), [Result(0.5)])
        assert FewConvs().satisfies(asked[0])
    rejected = [source == "rejected" for _, source in s.history]
    first, last = sum(rejected[:80]) / 80, sum(rejected[-80:]) / 80
    assert first > 0.7 and last < first - 0.4, (first, last)
