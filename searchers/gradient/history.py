"""α over the search: one record per epoch (DIR/alpha_history.json) and its plot (DIR/alphas.png)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

HISTORY_NAME = "alpha_history.json"
PLOT_NAME = "alphas.png"


def epoch_record(epoch: int, alphas: Mapping[str, torch.Tensor], metrics: Mapping[str, Any]) -> dict:
    """α and its softmax per cell kind (lists of edges x ops), with the epoch's metrics."""
    return {"epoch": epoch, **{k: float(v) if isinstance(v, (int, float)) else v for k, v in metrics.items()},
            "alphas": {kind: a.detach().double().tolist() for kind, a in alphas.items()},
            "weights": {kind: torch.softmax(a.detach().double(), -1).tolist() for kind, a in alphas.items()}}


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_history(out_dir: Path, ops: Sequence[str], records: Sequence[dict]) -> Path:
    path = Path(out_dir) / HISTORY_NAME
    _replace(path, json.dumps({"ops": list(ops), "epochs": list(records)}, indent=1).encode())
    return path


def write_plot(out_dir: Path, ops: Sequence[str], records: Sequence[dict]) -> Path | None:
    """One panel per edge and cell kind: each op's softmax weight against the epoch."""
    if not records:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(records[0]["weights"])
    edges = len(records[0]["weights"][kinds[0]])
    epochs = [r["epoch"] for r in records]
    fig, axes = plt.subplots(len(kinds), edges, figsize=(1.6 * edges + 1, 2.0 * len(kinds) + 0.6), squeeze=False,
                             sharex=True, sharey=True)
    for row, kind in enumerate(kinds):
        for e in range(edges):
            ax = axes[row][e]
            for k, op in enumerate(ops):
                ax.plot(epochs, [r["weights"][kind][e][k] for r in records], label=op, lw=1)
            ax.set_title(f"{kind} e{e}", fontsize=7)
            ax.tick_params(labelsize=6)
    axes[0][0].set_ylabel("softmax(α)", fontsize=7)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(ops), fontsize=7)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    path = Path(out_dir) / PLOT_NAME
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    os.replace(tmp, path)
    return path
