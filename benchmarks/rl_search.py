"""RL search: does the controller learn? REINFORCE and PPO on the synthetic target-op task (the reward is the
fraction of op choices that are sep_conv_3x3: chance 1/8, best 1), several seeds, mean reward of the first and
last fifth of the samples, and the wall time (one CPU thread; the machine is shared, so times are noisy).

    python benchmarks/rl_search.py            # writes the `rl_search` section of RESULTS.md
    python benchmarks/rl_search.py --quick    # fewer samples and seeds, prints only
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from results import update_section, versions_line  # noqa: E402


def main(argv: list[str] | None = None) -> str:
    from genocompile.searchers.rl.synthetic import train_on_target_op

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 samples, one seed, nothing written")
    parser.add_argument("--samples", type=int, default=480)
    parser.add_argument("--seeds", type=int, default=3)
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
    body = "\n".join([
        "## RL controller on a known-best task (`benchmarks/rl_search.py`)", "",
        "Reward = fraction of the cell's 16 op choices that are sep_conv_3x3 (uniform controller: 0.125, best: 1).",
        "ENAS controller defaults (LSTM 64, temperature 5, tanh constant 1.5, Adam 3.5e-3), batch 8, EMA baseline",
        "decay 0.9; PPO: 4 epochs per batch, clip 0.2. Mean over seeds of the first / last fifth of the samples.",
        "Shared 2-core CPU, one thread: times are noisy.", "",
        "| algorithm | samples | seeds | first fifth | last fifth | worst seed, last fifth | seconds per run |",
        "|---|---|---|---|---|---|---|", *rows, "", versions_line("cpu")])
    print(body)
    if not args.quick:
        update_section("rl_search", body)
    return body


if __name__ == "__main__":
    main()
