"""DIR/reward_curve.png: every sample's reward (evaluated, reused, rejected) and the mean reward per policy update."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from genocompile.atomic import save_figure

REWARD_CURVE_NAME = "reward_curve.png"
COLOURS = {"evaluated": "C0", "cached": "C2", "rejected": "C3"}


def write_reward_curve(out_dir: Path, history: Sequence[tuple[float, str]], curve: Sequence[dict],
                       algo: str) -> Path | None:
    if not history:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for source, colour in COLOURS.items():
        points = [(i, r) for i, (r, s) in enumerate(history) if s == source]
        if points:
            ax.scatter([p[0] for p in points], [p[1] for p in points], s=10, alpha=0.5, color=colour,
                       label=f"{source} ({len(points)})")
    if curve:
        ax.plot([c["samples"] - 1 for c in curve], [c["mean_reward"] for c in curve], "-", color="k",
                label="batch mean")
        known = [c for c in curve if c["baseline"] is not None]
        ax.plot([c["samples"] - 1 for c in known], [c["baseline"] for c in known], "--", color="grey",
                label="baseline (EMA)")
    ax.set_xlabel("controller sample")
    ax.set_ylabel("reward")
    ax.set_title(f"RL search ({algo})")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / REWARD_CURVE_NAME)
