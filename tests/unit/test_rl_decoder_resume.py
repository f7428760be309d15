"""Resuming the RL searcher with its state in DIR/rl_state (the driver's path): a rerun continues exactly
(same next samples, controller weights, history), replayed journal rows run no policy update, and the
state saved with every journal row stays small however long the search."""
import json
import random

import pytest
import torch

from genocompile.errors import SearchError
from genocompile.searchers.protocol import EvalResult as Result
from genocompile.searchers.rl.decoder_space import DecoderLayoutSpace
from genocompile.searchers.rl.policy import PolicySettings
from genocompile.searchers.rl.searcher import RLSearcher, RLSettings

SPACE = DecoderLayoutSpace()


def separable(genotype) -> float:
    """A synthetic reward: the share of separable convs in the cell (no training, so the test is fast)."""
    return sum(op.startswith("seg_sep") for op, _ in genotype.cell) / len(genotype.cell)


def searcher(state_dir, algo="ppo"):
    settings = RLSettings(algo=algo, batch=3, policy=PolicySettings(baseline_decay=0.9))
    return RLSearcher(settings, random.Random(0), seed=0, space=SPACE, state_dir=state_dir)


def step(s, n=2):
    asked = s.ask(n)
    s.tell(asked, [Result(separable(g), {"early_reward": separable(g)}) for g in asked])
    return asked


@pytest.mark.parametrize("algo", ["ppo", "reinforce"])
def test_a_resumed_search_continues_exactly_as_an_uninterrupted_one(tmp_path, algo):
    straight = searcher(tmp_path / "straight", algo)
    full = [g for _ in range(10) for g in step(straight)]

    first = searcher(tmp_path / "run", algo)
    done = [g for _ in range(5) for g in step(first)]  # 10 samples: 3 updates and one sample in the batch
    state = json.loads(json.dumps(first.state_dict()))

    resumed = searcher(tmp_path / "run", algo)
    resumed.tell(done, [Result(separable(g), {"early_reward": separable(g)}) for g in done])  # journal replay
    assert resumed.policy.updates == 0 and resumed.history == []  # replay records rewards, runs no update
    resumed.load_state_dict(state)
    rest = [g for _ in range(5) for g in step(resumed)]
    assert [g.to_dict() for g in done + rest] == [g.to_dict() for g in full]
    assert resumed.history == straight.history and resumed.curve == straight.curve
    assert resumed.policy.baseline == straight.policy.baseline and resumed.gate.count == straight.gate.count
    for key, value in straight.controller.state_dict().items():
        assert torch.equal(resumed.controller.state_dict()[key], value), key


def test_the_journal_state_does_not_grow_with_the_search(tmp_path):
    s = searcher(tmp_path)
    step(s, 3)
    early = len(json.dumps(s.state_dict()))
    for _ in range(12):
        step(s, 3)
    assert s.policy.updates == 13
    assert len(json.dumps(s.state_dict())) < early + 200  # the RNG, the batch and counters only
    assert sorted(p.name for p in tmp_path.glob("weights_*.pt")) == ["weights_000012.pt", "weights_000013.pt"]
    assert len(list(tmp_path.glob("update_*.json"))) == 13


def test_a_state_whose_update_files_are_gone_is_refused(tmp_path):
    s = searcher(tmp_path)
    for _ in range(3):
        step(s, 2)
    state = json.loads(json.dumps(s.state_dict()))
    (tmp_path / "update_000001.json").unlink()
    with pytest.raises(SearchError, match="update_000001.json is missing"):
        searcher(tmp_path).load_state_dict(state)


def test_a_state_that_carries_everything_moves_into_the_store_on_resume(tmp_path):
    old = searcher(None)  # the format DIRs were written in before DIR/rl_state
    for _ in range(4):
        step(old)
    inline = json.loads(json.dumps(old.state_dict()))
    assert "weights" in inline and old.policy.updates == 2

    resumed = searcher(tmp_path)
    resumed.load_state_dict(inline)
    step(resumed)
    again = searcher(tmp_path)
    again.load_state_dict(json.loads(json.dumps(resumed.state_dict())))  # now in the store's format
    assert again.history == resumed.history and again.curve == resumed.curve
    for key, value in resumed.controller.state_dict().items():
        assert torch.equal(again.controller.state_dict()[key], value), key


def test_layouts_over_a_multiadds_bound_are_told_as_penalties_never_asked(tmp_path):
    from genocompile.cost.constraints import Constraints

    space = DecoderLayoutSpace(network={"skeleton": "nas-segm", "input_size": [64, 64]})
    limit = 60_000_000  # at 64x64 the layouts span about 40M to 200M MultiAdds
    constraints = Constraints(max_multiadds=limit)
    s = RLSearcher(RLSettings(algo="ppo", batch=4), random.Random(0), seed=0, space=space, state_dir=tmp_path,
                   constraints=constraints)
    asked = s.ask(3)
    assert all(constraints.costs(g)["multiadds"] <= limit for g in asked)
    assert s.rejected > 0 and all(src == "rejected" for _, src in s.history)
