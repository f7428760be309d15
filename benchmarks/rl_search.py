"""RL search: does the controller learn, and does a constrained search return a feasible cell?

1. REINFORCE and PPO on the synthetic target-op task (the reward is the fraction of op choices that are
   sep_conv_3x3: chance 1/8, best 1), several seeds, mean reward of the first and last fifth of the samples.
2. `--searcher rl` on darts-cifar under --max-multiadds 250000000 (digits proxy, the searcher's defaults),
   the best genotype's MultiAdds counted independently (fvcore FlopCountAnalysis on a fresh reference model),
   the controller's rejections and the compute progressive early stopping saved.

One CPU thread on a shared machine: times are noisy.

    python benchmarks/rl_search.py                  # writes the `rl_search` section of RESULTS.md
    python benchmarks/rl_search.py --quick          # tiny, prints only (the smoke test)
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from results import update_section, versions_line  # noqa: E402


LIMIT = 250_000_000


def independent_multiadds(genotype) -> int:
    from fvcore.nn import FlopCountAnalysis

    from genocompile.models import build_reference

    model = build_reference(genotype, seed=0).eval()
    analysis = FlopCountAnalysis(model, torch.zeros(1, 3, *genotype.network.input_size))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(analysis.total())


def constrained_search(algo: str, budget: int, extra: dict) -> str:
    from genocompile.cost.constraints import Constraints
    from genocompile.genotype import load_genotype
    from genocompile.searchers.registry import SearchOptions, get_searcher

    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = get_searcher("rl")(SearchOptions(space="darts-cifar", out_dir=Path(out), budget=budget,
                                                   constraints=Constraints(max_multiadds=LIMIT),
                                                   extra={"rl_algo": algo, **extra}))
        seconds = time.perf_counter() - start
        counted = independent_multiadds(load_genotype(out))
    rl = summary.extra["rl"]
    es = rl["early_stopping"]
    return (f"| {algo} | {summary.evaluated} | {rl['rejected_by_controller']} | {summary.best['fitness']:.3f} | "
            f"{counted / 1e6:.1f}M {'<=' if counted <= LIMIT else '>'} {LIMIT / 1e6:.0f}M | "
            f"{es['stopped_early']} ({es['saved_fraction']:.0%} of epochs) | {seconds:.0f} |")


def main(argv: list[str] | None = None) -> str:
    from genocompile.searchers.rl.synthetic import train_on_target_op

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 samples, one seed, nothing written")
    parser.add_argument("--samples", type=int, default=480)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=12, help="evaluations of the constrained search")
    args = parser.parse_args(argv)
    samples, seeds = (16, 1) if args.quick else (args.samples, args.seeds)
    torch.set_num_threads(1)
    rows = []
    for algo in ("reinforce", "ppo"):
        first, last, seconds = [], [], []
        for seed in range(seeds):
            start = time.perf_counter()
            rewards = train_on_target_op(algo, samples=samples, batch=8, seed=seed)
            seconds.append(time.perf_counter() - start)
            k = max(1, len(rewards) // 5)
            first.append(statistics.mean(rewards[:k]))
            last.append(statistics.mean(rewards[-k:]))
        rows.append(f"| {algo} | {samples} | {seeds} | {statistics.mean(first):.3f} | {statistics.mean(last):.3f} | "
                    f"{min(last):.3f} | {statistics.mean(seconds):.1f} |")
    tiny = {"proxy_channels": 4, "proxy_layers": 3, "proxy_input": 8, "epochs": 2, "proxy_train": 128,
            "proxy_valid": 64}
    search_rows = [constrained_search(algo, 2 if args.quick else args.budget, tiny if args.quick else {})
                   for algo in (("ppo",) if args.quick else ("reinforce", "ppo"))]
    body = "\n".join([
        "## RL controller on a known-best task (`benchmarks/rl_search.py`)", "",
        "Reward = fraction of the cell's 16 op choices that are sep_conv_3x3 (uniform controller: 0.125, best: 1).",
        "ENAS controller defaults (LSTM 64, temperature 5, tanh constant 1.5, Adam 3.5e-3), batch 8, EMA baseline",
        "decay 0.9; PPO: 4 epochs per batch, clip 0.2. Mean over seeds of the first / last fifth of the samples.",
        "Shared 2-core CPU, one thread: times are noisy.", "",
        "| algorithm | samples | seeds | first fifth | last fifth | worst seed, last fifth | seconds per run |",
        "|---|---|---|---|---|---|---|", *rows, "",
        "`--searcher rl --space darts-cifar --max-multiadds 250000000` on digits (default proxy: C=8, 5 cells, 16x16,",
        "3 epochs; early stopping after epoch 1, p0 = 1 decaying 0.95 per candidate). Fitness = validation accuracy",
        "x (MultiAdds / 250M)^-0.07 (MnasNet soft regime). Best MultiAdds counted by fvcore on a fresh model.", "",
        "| algorithm | evaluated | rejected by the controller (free) | best fitness | best MultiAdds | stopped early "
        "| seconds |", "|---|---|---|---|---|---|---|", *search_rows, "", versions_line("cpu")])
    print(body)
    if not args.quick:
        update_section("rl_search", body)
    return body


if __name__ == "__main__":
    main()
