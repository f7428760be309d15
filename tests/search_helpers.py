"""Small, fast search settings for tests: a tiny proxy (seconds per candidate on one thread)."""
from __future__ import annotations

import random
from dataclasses import dataclass

from genocompile.searchers.evaluation import ProxyEvaluator, ProxySettings
from genocompile.searchers.protocol import EvalResult

TINY_EXTRA = {"proxy_channels": "4", "proxy_layers": "3", "epochs": "1", "proxy_input": "8", "population": "3"}
TINY_PROXY = ProxySettings(init_channels=4, layers=3, input_size=8, epochs=1, train_subset=256, valid_subset=128)


def tiny_evaluator(seed: int = 0) -> ProxyEvaluator:
    return ProxyEvaluator(seed=seed, settings=TINY_PROXY)


@dataclass(frozen=True)
class HashFitness:
    """A picklable stand-in evaluator: a deterministic pseudo-fitness from the genotype's hash (no training),
    for tests of the search machinery itself."""

    delay: float = 0.0

    def __call__(self, genotype) -> EvalResult:
        import time

        from genocompile.genotype import genotype_hash

        if self.delay:
            time.sleep(self.delay)
        fitness = random.Random(genotype_hash(genotype)).random()
        return EvalResult(fitness=fitness, metrics={"seed": 0})


def kill_once_checkpointed(script_text: str, args: list[str], state, tmp_path, settle: float = 0.3) -> None:
    """Run `script_text` (a search) in a subprocess and SIGKILL it `settle` s after its checkpoint file `state`
    first appears: a kill -9 that lands mid-search, between two saved epochs."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "search.py"
    script.write_text(script_text)
    proc = subprocess.Popen([sys.executable, str(script), *map(str, args)], env={**os.environ})
    deadline = time.time() + 120
    while not state.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(settle)  # into the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def ok_rows(out) -> list[tuple[str, float]]:
    """(hash, fitness) of DIR's finished evaluations in commit order, read straight from the journal file (so a
    test can watch a search running in another process); [] while the journal is being created."""
    import sqlite3

    try:
        with sqlite3.connect(out / "journal.sqlite") as db:
            return db.execute("SELECT hash, fitness FROM evaluations WHERE status = 'ok' ORDER BY id").fetchall()
    except sqlite3.OperationalError:
        return []
