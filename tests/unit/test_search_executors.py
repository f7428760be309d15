"""Executors: local worker processes and Ray tasks give the same journal and respect the budget."""
import os
import random
from pathlib import Path

import pytest

from genocompile.searchers.driver import drive
from genocompile.searchers.evolution import AgingEvolution
from genocompile.searchers.journal import Journal
from genocompile.searchers.registry import SearchOptions
from genocompile.searchers.spaces import get_space
from search_helpers import HashFitness

TESTS = str(Path(__file__).resolve().parents[1])


def run(out, executor, workers, budget=5):
    searcher = AgingEvolution(get_space("darts-cifar"), random.Random(0), population=3)
    return drive(searcher, HashFitness(delay=0.05), SearchOptions(space="darts-cifar", out_dir=out, budget=budget,
                                                                  executor=executor, workers=workers))


def journal_rows(out):
    with Journal(out, None) as journal:
        return journal.evaluated()


def test_local_workers_respect_the_budget(tmp_path):
    summary = run(tmp_path, "local", workers=3, budget=7)
    rows = journal_rows(tmp_path)
    assert summary.evaluated == len(rows) == 7
    assert len({r.worker for r in rows}) >= 2  # evaluations really ran in several worker processes
    assert all(r.worker.split(":")[1] != str(os.getpid()) for r in rows)


def test_ray_gives_the_same_journal(tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'genocompile[ray]')")
    # a local Ray instance; its workers import the test helpers from the tests folder
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": TESTS, "OMP_NUM_THREADS": "1"}})
    try:
        summary = run(tmp_path / "ray", "ray", workers=1)
    finally:
        ray.shutdown()
    local = run(tmp_path / "local", "local", workers=1)
    ray_rows, local_rows = journal_rows(tmp_path / "ray"), journal_rows(tmp_path / "local")
    assert summary.evaluated == len(ray_rows) == 5 and (summary.evaluated, summary.resumed) == (local.evaluated, 0)
    # same format and, one worker each, the same search: same candidates, fitness and costs, row by row
    for a, b in zip(ray_rows, local_rows):
        assert (a.hash, a.fitness, a.costs, a.status, a.seed) == (b.hash, b.fitness, b.costs, b.status, b.seed)
        assert set(vars(a)) == set(vars(b))
