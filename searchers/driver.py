"""drive(): the loop every ask/tell searcher runs in, and what makes a search safe to kill and rerun.

    ask -> drop duplicates and constraint violators (counted as rejections, never evaluated, replaced)
        -> evaluate on the executor -> commit the row (and the searcher's state) -> tell

Resume: the journal's finished rows are told back to a fresh searcher in commit order, then its saved
state (RNG, counters) is restored; nothing finished is evaluated again, and a larger budget continues.
`kill -9` loses only the evaluations in flight (each row is its own durable transaction).

Latency bounds screen candidates by the latency model's prediction (milliseconds per candidate); before the
best is written, the finalists are measured end to end on the device (`Constraints.measured`), which has the
final say: a finalist the device runs slower than the bound is passed over for the next one.
"""
from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import Any, Callable, Mapping

from genocompile.errors import SearchError
from genocompile.genotype import Genotype, genotype_hash
from genocompile.searchers.executors import make_executor
from genocompile.searchers.journal import Journal, Row
from genocompile.searchers.output import write_outputs
from genocompile.searchers.progress import NullProgress, Progress
from genocompile.searchers.protocol import EvalResult, Searcher
from genocompile.searchers.registry import SearchOptions, SearchSummary

log = logging.getLogger("genocompile.search")

# Consecutive candidates that are duplicates or break the constraints before the driver gives up: the
# space (or what is left of it under the limits) is exhausted, and asking forever would hang. Random
# darts-cifar cells fit 250M MultiAdds about once in 2,000 draws; counting one takes ~0.5 ms.
MAX_CONSECUTIVE_SKIPS = 100_000
REPORT_EVERY = 200  # rejections between progress updates
# Finalists measured on the device, best fitness first, before a latency-bounded search gives up: a calibrated
# predictor is within +-10% for all but a few (benchmarks/latency_accuracy.py), so the answer is near the top.
MEASURED_FINALISTS = 5


def identity_of(searcher: Searcher, options: SearchOptions, settings: Mapping[str, Any] | None = None) -> dict:
    """What the journal must match to be resumed: space, searcher, seed, constraints, data, settings."""
    return {"space": options.space, "searcher": searcher.name, "seed": options.seed,
            "constraints": options.constraints.describe(), "data": options.data or "digits", **dict(settings or {})}


def check_directory(searcher: Searcher, options: SearchOptions, settings: Mapping[str, Any] | None = None) -> None:
    """Raise SearchError now if DIR holds another search (before any expensive preparation)."""
    Journal(options.out_dir, identity_of(searcher, options, settings)).close()


def result_of(row: Row) -> EvalResult:
    return EvalResult(fitness=float(row.fitness), metrics=row.metrics, costs=row.costs)


def drive(searcher: Searcher, evaluate: Callable[[Genotype], EvalResult], options: SearchOptions,
          progress: Progress | None = None, settings: Mapping[str, Any] | None = None) -> SearchSummary:
    """Run `searcher` until DIR's journal holds `options.budget` evaluations; write DIR's outputs.

    `evaluate` must be picklable (it runs in worker processes or Ray tasks); `settings` are the
    result-changing settings (evaluation mode, proxy size ...) that a resumed DIR must share."""
    progress = progress or NullProgress()
    out_dir = Path(options.out_dir)
    constraints = options.constraints
    with Journal(out_dir, identity_of(searcher, options, settings)) as journal, search_log(out_dir):
        finished = journal.evaluated()
        resumed = len(finished)
        rejected = journal.get_meta("rejected") or 0
        known = {row.hash for row in journal}  # evaluated (and, below, rejected): never proposed again
        if finished:
            searcher.tell([row.load_genotype() for row in finished], [result_of(row) for row in finished])
        state = journal.get_meta("searcher_state")
        if state is not None:
            searcher.load_state_dict(state)
        best = max((row.fitness for row in finished), default=None)
        done = resumed
        log.info("search %s: space %s, budget %d, constraints %s, %d evaluations resumed from %s",
                 searcher.name, options.space, options.budget, constraints.describe(), resumed, journal.path)
        progress.update(done=done, total=options.budget, best=best, rejected=rejected,
                        message=f"resumed {resumed}" if resumed else "starting")

        if done < options.budget:
            executor = make_executor(options.executor, options.workers)
            in_flight: dict[int, tuple[Genotype, dict]] = {}
            asked: deque[Genotype] = deque()
            ticket = 0
            try:
                while done < options.budget:
                    while len(in_flight) < options.workers and done + len(in_flight) < options.budget:
                        skips = 0
                        while True:
                            if not asked:
                                asked.extend(searcher.ask(options.workers - len(in_flight)))
                            genotype = asked.popleft()
                            key = genotype_hash(genotype)
                            if key in known:
                                skips += 1
                            else:
                                costs = constraints.costs(genotype)
                                broken = constraints.violations(genotype, costs)
                                known.add(key)
                                if not broken:
                                    break
                                rejected += 1
                                skips += 1
                                if rejected % REPORT_EVERY == 1:
                                    progress.update(done=done, total=options.budget, best=best,
                                                    rejected=rejected, message="rejected: " + "; ".join(broken))
                            if skips >= MAX_CONSECUTIVE_SKIPS:
                                raise SearchError(f"{skips} candidates in a row were duplicates or broke the "
                                                  f"constraints ({constraints.describe()}); loosen the limits or "
                                                  f"use a larger space")
                        ticket += 1
                        in_flight[ticket] = (genotype, costs)
                        executor.submit(ticket, evaluate, genotype)
                    for item in executor.wait():
                        genotype, costs = in_flight.pop(item.key)
                        result: EvalResult = item.value
                        result = EvalResult(result.fitness, result.metrics, {**costs, **result.costs})
                        searcher.tell([genotype], [result])
                        journal.commit(genotype, "ok", fitness=result.fitness, metrics=result.metrics,
                                       costs=result.costs, started=item.started, seconds=item.seconds,
                                       seed=result.metrics.get("seed"), worker=item.worker,
                                       meta={"searcher_state": searcher.state_dict(), "rejected": rejected})
                        done += 1
                        best = result.fitness if best is None else max(best, result.fitness)
                        log.info("evaluated %s: fitness %.4f, %s, %.1fs on %s", genotype_hash(genotype)[:12],
                                 result.fitness, _costs_text(result.costs), item.seconds, item.worker)
                        progress.update(done=done, total=options.budget, best=best, rejected=rejected,
                                        message=f"fitness {result.fitness:.4f}, {_costs_text(result.costs)}")
            finally:
                executor.close()
        rows = journal.evaluated()
        best_row, best_costs, measured = _measured_best(rows, constraints, progress)
        write_outputs(out_dir, rows, best_row, constraints)
        summary = SearchSummary(
            best={"genotype": best_row.genotype, "fitness": best_row.fitness, "costs": best_costs,
                  "hash": best_row.hash},
            evaluated=len(rows), resumed=resumed,
            extra={"rejected": rejected, "space": options.space, "searcher": searcher.name,
                   "genotype_json": str(out_dir / "genotype.json"), **measured})
        log.info("best %s: fitness %.4f, %s (%d evaluated, %d resumed, %d rejected)", best_row.hash[:12],
                 best_row.fitness, _costs_text(best_row.costs), len(rows), resumed, rejected)
        return summary


def _measured_best(rows: list[Row], constraints, progress: Progress) -> tuple[Row, dict, dict]:
    """The fittest row, its costs, and (under a latency bound with a model that can measure) the device's
    verdict: finalists are measured in fitness order and the first within every bound wins."""
    ranked = sorted(rows, key=lambda r: (-r.fitness, r.id))
    if constraints.max_latency_ms is None or getattr(constraints.latency, "measure_ms", None) is None:
        return ranked[0], ranked[0].costs, {}
    passed_over: list[dict] = []
    for row in ranked[:MEASURED_FINALISTS]:
        genotype = row.load_genotype()
        progress.update(done=len(rows), total=len(rows), message=f"measuring finalist {row.hash[:12]} on the device")
        costs = {**row.costs, **constraints.measured(genotype)}
        broken = constraints.violations(genotype, costs)
        if not broken:
            log.info("finalist %s measures %.2f ms (bound %.2f ms)", row.hash[:12], costs["latency_ms"],
                     constraints.max_latency_ms)
            return row, costs, {"measured": {"latency_ms": costs["latency_ms"], "passed_over": passed_over}}
        log.info("finalist %s passed over: %s", row.hash[:12], "; ".join(broken))
        passed_over.append({"hash": row.hash, "latency_ms": costs["latency_ms"],
                            "predicted_ms": row.costs.get("latency_ms")})
    times = ", ".join(f"{p['latency_ms']:.2f}" for p in passed_over)
    raise SearchError(f"none of the {len(passed_over)} fittest candidates runs within --max-latency-ms "
                      f"{constraints.max_latency_ms:g} when measured on the device ({times} ms; the model predicted "
                      f"them within it): recalibrate the latency model (`genocompile profile`) or loosen the bound")


def _costs_text(costs: Mapping[str, float]) -> str:
    parts = []
    if "multiadds" in costs:
        parts.append(f"{costs['multiadds'] / 1e6:.1f}M MultiAdds")
    if "params" in costs:
        parts.append(f"{costs['params'] / 1e6:.2f}M params")
    if "latency_ms" in costs:
        parts.append(f"{costs['latency_ms']:.2f} ms")
    return ", ".join(parts) or "no costs"


class search_log:
    """Append the search logger's records to DIR/search.log for the duration of a `with` block."""

    def __init__(self, out_dir: Path):
        self.path = Path(out_dir) / "search.log"

    def __enter__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handler = logging.FileHandler(self.path)
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(self.handler)
        log.setLevel(logging.INFO)

    def __exit__(self, *_: Any) -> None:
        log.removeHandler(self.handler)
        self.handler.close()
