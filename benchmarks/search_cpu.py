"""The search issue's must-shows, measured on this machine's CPU:

1. a search limited to 250M MultiAdds on darts-cifar returns a genotype that an independent counter (a fresh
   fvcore count of the built reference model, not the search's own fast count) puts under the limit;
2. resume: kill -9 mid-run, rerun with the same budget (the budget is met, nothing finished lost), rerun with
   a larger budget (`resumed` equals the earlier count);
3. one-shot ranking: Kendall tau between one-shot fitness (inherited supernet weights, BN recalibrated) and
   stand-alone proxy training, on a handful of random candidates.

    python benchmarks/search_cpu.py            # ~10 minutes on two shared cores; writes its RESULTS.md section
    python benchmarks/search_cpu.py --quick    # tiny settings, nothing written (the smoke test)
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from results import update_section, versions_line  # noqa: E402

from genocompile.cost.counting import count_multiadds  # noqa: E402
from genocompile.genotype import load_genotype, zoo_genotype  # noqa: E402
from genocompile.models import build_reference  # noqa: E402
from genocompile.searchers.evaluation import ProxyEvaluator, ProxySettings  # noqa: E402
from genocompile.searchers.journal import Journal  # noqa: E402
from genocompile.searchers.oneshot import OneShotEvaluator, OneShotSettings, train_supernet  # noqa: E402
from genocompile.searchers.spaces import get_space  # noqa: E402

LIMIT = 250_000_000


def fresh_fvcore(genotype) -> int:
    """The independent count: fvcore on the reference model built now (no cache, no fast count)."""
    return count_multiadds(build_reference(genotype), (1, 3, *genotype.network.input_size)).total


def journal_count(out: Path) -> int:
    if not (out / "journal.sqlite").exists():
        return 0
    with Journal(out, None) as journal:
        return journal.count("ok")


def search_cli(out: Path, budget: int, extra: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "genocompile", "search", "--searcher", "evolution",
                             "--space", "darts-cifar", "--budget", str(budget), "--max-multiadds", str(LIMIT),
                             "--out", str(out), "--json", *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, start_new_session=True)


def finish(proc: subprocess.Popen) -> dict:
    stdout, _ = proc.communicate()
    assert proc.returncode == 0, f"search failed ({proc.returncode})"
    return json.loads(stdout.strip().splitlines()[-1])


def constrained_search_with_resume(out: Path, budget: int, kill_after: int, more: int, extra: list[str]) -> dict:
    started = time.perf_counter()
    proc = search_cli(out, budget, extra)
    while journal_count(out) < kill_after and proc.poll() is None:
        time.sleep(0.5)
    assert proc.poll() is None, "the search ended before it could be killed; raise kill_after"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers
    proc.wait()
    at_kill = journal_count(out)
    after_kill = finish(search_cli(out, budget, extra))
    larger = finish(search_cli(out, budget + more, extra))
    seconds = time.perf_counter() - started
    best = load_genotype(out / "genotype.json")
    return {"at_kill": at_kill, "after_kill": after_kill, "larger": larger, "seconds": seconds,
            "independent": fresh_fvcore(best), "darts_v2": fresh_fvcore(zoo_genotype("darts_v2")),
            "budget": budget, "more": more}


def kendall_tau(a: list[float], b: list[float]) -> tuple[float, float]:
    from scipy.stats import kendalltau

    result = kendalltau(a, b)
    return float(result.statistic), float(result.pvalue)


def oneshot_ranking(out: Path, candidates: int, oneshot: OneShotSettings, proxy: ProxySettings) -> dict:
    space = get_space("darts-cifar")
    started = time.perf_counter()
    checkpoint = train_supernet(space, None, 0, oneshot, out, lambda m: print("  " + m, flush=True))
    supernet_seconds = time.perf_counter() - started
    rng = random.Random(2024)
    genotypes = [space.sample(rng) for _ in range(candidates)]
    shot = OneShotEvaluator(space.name, str(checkpoint), None, oneshot)
    # stand-alone fitness: the mean over two training seeds, so that seed noise blurs the reference less
    alone = [ProxyEvaluator(None, seed, proxy) for seed in (0, 1)]
    started = time.perf_counter()
    shot_fitness = [shot(g).fitness for g in genotypes]
    shot_seconds = time.perf_counter() - started
    started = time.perf_counter()
    alone_fitness = [sum(e(g).fitness for e in alone) / len(alone) for g in genotypes]
    alone_seconds = time.perf_counter() - started
    tau, p = kendall_tau(shot_fitness, alone_fitness)
    return {"tau": tau, "p": p, "shot": shot_fitness, "alone": alone_fitness, "supernet_seconds": supernet_seconds,
            "shot_seconds": shot_seconds, "alone_seconds": alone_seconds, "candidates": candidates}


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny settings, RESULTS.md untouched")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.quick:
        budget, kill_after, more, candidates = 3, 1, 1, 3
        extra = ["--population", "2", "--proxy-channels", "4", "--proxy-layers", "3", "--proxy-input", "8",
                 "--epochs", "1"]
        oneshot = OneShotSettings(init_channels=4, layers=3, input_size=8, epochs=1, train_subset=128,
                                  valid_subset=64, recalibration_batches=2)
        proxy = ProxySettings(init_channels=4, layers=3, input_size=8, epochs=1, train_subset=128, valid_subset=64)
    else:
        budget, kill_after, more, candidates = 10, 4, 4, 10
        extra = ["--population", "4"]
        oneshot = OneShotSettings()
        proxy = ProxySettings(init_channels=oneshot.init_channels, layers=oneshot.layers,
                              input_size=oneshot.input_size, epochs=2)
    with tempfile.TemporaryDirectory() as tmp:
        print("constrained search with kill -9 and resume ...", flush=True)
        s = constrained_search_with_resume(Path(tmp) / "search", budget, kill_after, more, extra)
        print("one-shot ranking ...", flush=True)
        r = oneshot_ranking(Path(tmp) / "oneshot", candidates, oneshot, proxy)
    best = s["larger"]["best"]
    assert s["independent"] <= LIMIT, "the searched genotype breaks the limit"
    lines = [
        "## Search on the CPU (`benchmarks/search_cpu.py`)",
        "",
        f"{versions_line('cpu')} Shared, noisy 2-core CPU: timings are indicative only.",
        "",
        f"**Constrained search** (`genocompile search --searcher evolution --space darts-cifar --max-multiadds "
        f"{LIMIT}`, regularized evolution, population 4, proxy: {ProxySettings().describe()}, digits):",
        "",
        "| figure | value |",
        "|---|---|",
        f"| best genotype, MultiAdds by the search (fast count) | {best['costs']['multiadds']:,} |",
        f"| best genotype, MultiAdds by a fresh fvcore count of the built reference | {s['independent']:,} "
        f"(limit {LIMIT:,}) |",
        f"| DARTS_V2 in the same network, fresh fvcore count | {s['darts_v2']:,} |",
        f"| best fitness (digits validation accuracy of the proxy) | {best['fitness']:.4f} |",
        f"| candidates rejected by the limit before evaluation | {s['larger'].get('rejected', 0):,} |",
        f"| wall time (three runs below, with the kill) | {s['seconds']:.0f} s |",
        "",
        "**Resume** (same DIR each time):",
        "",
        "| run | evaluated | resumed |",
        "|---|---|---|",
        f"| `--budget {s['budget']}`, kill -9 once {s['at_kill']} evaluations were journalled | {s['at_kill']} "
        f"(in the journal) | - |",
        f"| rerun, `--budget {s['budget']}` | {s['after_kill']['evaluated']} | {s['after_kill']['resumed']} |",
        f"| rerun, `--budget {s['budget'] + s['more']}` | {s['larger']['evaluated']} | {s['larger']['resumed']} |",
        "",
        f"**One-shot ranking**: {r['candidates']} random darts-cifar candidates, fitness from the supernet "
        f"({oneshot.describe()}; trained in {r['supernet_seconds']:.0f} s, {r['shot_seconds']:.0f} s for all "
        f"candidates) against stand-alone proxy training ({proxy.describe()}; {r['alone_seconds']:.0f} s): "
        f"**Kendall tau {r['tau']:.2f}** (p = {r['p']:.2f}; chance is 0).",
        "",
        "| candidate | one-shot | stand-alone (mean of 2 seeds) |",
        "|---|---|---|",
        *[f"| {i} | {a:.3f} | {b:.3f} |" for i, (a, b) in enumerate(zip(r["shot"], r["alone"]))],
    ]
    body = "\n".join(lines)
    print(body)
    if not args.quick:
        update_section("search_cpu", body)
    return body


if __name__ == "__main__":
    main()
