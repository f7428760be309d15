"""α over the search: one record per epoch (DIR/alpha_history.json) and its plot (DIR/alphas.png)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from genocompile.atomic import save_figure, write_text

HISTORY_NAME = "alpha_history.json"
PLOT_NAME = "alphas.png"


def epoch_record(epoch: int, alphas: Mapping[str, torch.Tensor], metrics: Mapping[str, Any]) -> dict:
    """α and its softmax per cell kind (lists of edges x ops), with the epoch's metrics."""
    return {"epoch": epoch, **{k: float(v) if isinstance(v, (int, float)) else v for k, v in metrics.items()},
            "alphas": {kind: a.detach().double().tolist() for kind, a in alphas.items()},
            "weights": {kind: torch.softmax(a.detach().double(), -1).tolist() for kind, a in alphas.items()}}


def write_history(out_dir: Path, ops: Sequence[str], records: Sequence[dict]) -> Path:
    path = Path(out_dir) / HISTORY_NAME
    write_text(path, json.dumps({"ops": list(ops), "epochs": list(records)}, indent=1))
    return path


def write_plot(out_dir: Path, ops: Sequence[str], records: Sequence[dict]) -> Path | None:
    """One panel per cell kind: each op's softmax weight against the epoch, the line its mean over the edges
    and the band its range (two panels, no automatic layout: cheap enough to redraw every epoch)."""
    if not records:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    kinds = list(records[0]["weights"])
    epochs = [r["epoch"] + 1 for r in records]
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.0 * len(kinds), 3.6), sharey=True, squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        w = np.asarray([r["weights"][kind] for r in records])  # (epochs, edges, ops)
        for k, op in enumerate(ops):
            ax.plot(epochs, w[:, :, k].mean(1), label=op, lw=1.2, color=f"C{k}")
            ax.fill_between(epochs, w[:, :, k].min(1), w[:, :, k].max(1), color=f"C{k}", alpha=0.12, lw=0)
        ax.set_title(f"{kind} cell: softmax(α) per op (mean and range over edges)", fontsize=8)
        ax.set_xlabel("epoch", fontsize=8)
    axes[0][0].set_ylabel("weight", fontsize=8)
    axes[0][-1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.subplots_adjust(left=0.06, right=0.86, bottom=0.14, top=0.9, wspace=0.08)
    return save_figure(fig, Path(out_dir) / PLOT_NAME, dpi=80)
