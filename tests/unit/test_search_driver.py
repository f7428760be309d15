"""The driver: budget met, resume never repeats a finished evaluation, constraint violators never evaluated,
kill -9 mid-run then rerun meets the budget with nothing finished lost."""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genocompile.cost.constraints import Constraints
from genocompile.cost.fast_count import fast_costs
from genocompile.errors import SearchError
from genocompile.genotype import load_genotype
from genocompile.searchers.driver import drive
from genocompile.searchers.evolution import AgingEvolution, DetNASEvolution
from genocompile.searchers.journal import Journal
from genocompile.searchers.progress import RecordingProgress
from genocompile.searchers.registry import SearchOptions
from genocompile.searchers.spaces import get_space
from search_helpers import HashFitness

TESTS = Path(__file__).resolve().parents[1]


def searcher(kind=AgingEvolution, seed=0):
    return kind(get_space("darts-cifar"), random.Random(seed), population=4)


def options(tmp_path, budget, **kw):
    return SearchOptions(space="darts-cifar", out_dir=tmp_path, budget=budget, **kw)


def rows(tmp_path):
    with Journal(tmp_path, None) as journal:
        return journal.evaluated()


@pytest.mark.parametrize("kind", [AgingEvolution, DetNASEvolution])
def test_budget_met_and_resume_continues(tmp_path, kind):
    first = drive(searcher(kind), HashFitness(), options(tmp_path, 5))
    assert (first.evaluated, first.resumed) == (5, 0)
    before = [r.hash for r in rows(tmp_path)]
    progress = RecordingProgress()
    second = drive(searcher(kind), HashFitness(), options(tmp_path, 9), progress)
    assert (second.evaluated, second.resumed) == (9, 5)
    after = [r.hash for r in rows(tmp_path)]
    assert after[:5] == before and len(set(after)) == 9  # nothing finished was evaluated again
    assert progress.updates[0]["done"] == 5 and progress.updates[-1]["done"] == 9
    # the same budget again: nothing to evaluate (an evaluation would take a minute here)
    started = time.perf_counter()
    third = drive(searcher(kind), HashFitness(delay=60), options(tmp_path, 9))
    assert (third.evaluated, third.resumed) == (9, 9) and time.perf_counter() - started < 30
    best = load_genotype(tmp_path / "genotype.json")
    assert best.network.skeleton == "darts-cifar" and best.network.init_channels == 36
    assert second.best["fitness"] == max(r.fitness for r in rows(tmp_path))
    assert (tmp_path / "pareto.png").stat().st_size > 1000


def test_resumed_search_continues_as_an_uninterrupted_one(tmp_path):
    drive(searcher(), HashFitness(), options(tmp_path / "a", 4))
    drive(searcher(), HashFitness(), options(tmp_path / "a", 8))
    drive(searcher(), HashFitness(), options(tmp_path / "b", 8))
    assert [r.hash for r in rows(tmp_path / "a")] == [r.hash for r in rows(tmp_path / "b")]


def test_constraint_violators_are_never_evaluated(tmp_path):
    limit = 250_000_000
    summary = drive(searcher(), HashFitness(), options(tmp_path, 4, constraints=Constraints(max_multiadds=limit)))
    assert summary.extra["rejected"] > 0
    for row in rows(tmp_path):
        assert row.costs["multiadds"] <= limit
        assert fast_costs(row.load_genotype())[0] == row.costs["multiadds"]
    assert summary.best["costs"]["multiadds"] <= limit


def test_an_unmeetable_limit_stops_with_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("genocompile.searchers.driver.MAX_CONSECUTIVE_SKIPS", 50)
    with pytest.raises(SearchError, match="50 candidates in a row .* loosen the limits"):
        drive(searcher(), HashFitness(), options(tmp_path, 2, constraints=Constraints(max_multiadds=1000)))


def test_another_search_in_the_directory_is_refused(tmp_path):
    drive(searcher(), HashFitness(), options(tmp_path, 1))
    with pytest.raises(SearchError, match="holds a search with seed 0, not 1"):
        drive(searcher(), HashFitness(), options(tmp_path, 2, seed=1))


KILLABLE = """
import random, sys
from genocompile.searchers.driver import drive
from genocompile.searchers.evolution import AgingEvolution
from genocompile.searchers.registry import SearchOptions
from genocompile.searchers.spaces import get_space
from search_helpers import HashFitness
s = AgingEvolution(get_space("darts-cifar"), random.Random(0), population=4)
summary = drive(s, HashFitness(delay=float(sys.argv[2])), SearchOptions(space="darts-cifar", out_dir=sys.argv[1],
                budget=int(sys.argv[3]), workers=2))
print(summary.evaluated, summary.resumed)
"""


def test_kill_9_mid_run_then_rerun_meets_the_budget(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "dir"
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, str(out), "0.4", "8"], env=env,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        if (out / "journal.sqlite").exists() and len(rows(out)) >= 3:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker processes, at once
    proc.wait()
    finished = [r.hash for r in rows(out)]
    assert 3 <= len(finished) < 8
    result = subprocess.run([sys.executable, "-c", KILLABLE, str(out), "0", "8"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["8", str(len(finished))]
    after = [r.hash for r in rows(out)]
    assert after[:len(finished)] == finished and len(set(after)) == 8


class DeviceSaysSlower:
    """A latency model that predicts every candidate within the bound while the device runs `slow` ones at
    10 ms: what a stale or optimistic table does."""

    def __init__(self, slow):
        self.slow = slow

    def predict_ms(self, genotype):
        return 1.0

    def measure_ms(self, genotype):
        from genocompile.genotype import genotype_hash

        return 10.0 if self.slow(genotype_hash(genotype)) else 2.0


def test_the_device_has_the_final_say_over_predicted_latency(tmp_path):
    first = drive(searcher(), HashFitness(), options(tmp_path / "free", 6))
    fittest = first.best["hash"]
    bound = Constraints(max_latency_ms=5.0, latency=DeviceSaysSlower(lambda h: h == fittest))
    summary = drive(searcher(), HashFitness(), options(tmp_path / "bound", 6, constraints=bound))
    ranked = sorted(rows(tmp_path / "bound"), key=lambda r: (-r.fitness, r.id))
    assert ranked[0].hash == fittest  # the same search: the fittest row predicts within the bound...
    assert summary.best["hash"] == ranked[1].hash != fittest  # ...but measures over it, so the next one wins
    assert summary.best["costs"]["latency_ms"] == 2.0 and summary.best["costs"]["latency_measured"] == 1.0
    assert [p["hash"] for p in summary.extra["measured"]["passed_over"]] == [fittest]
    written = load_genotype(tmp_path / "bound").to_dict()
    assert {**written, "name": None} == {**ranked[1].genotype, "name": None}  # DIR/genotype.json is the winner


def test_no_finalist_within_the_measured_bound_is_one_clear_error(tmp_path):
    bound = Constraints(max_latency_ms=5.0, latency=DeviceSaysSlower(lambda h: True))
    with pytest.raises(SearchError, match=r"none of the 5 fittest .* measured on the device .*genocompile profile"):
        drive(searcher(), HashFitness(), options(tmp_path, 6, constraints=bound))
    assert not (tmp_path / "genotype.json").exists()
