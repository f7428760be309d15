"""What a finished (or resumed) search leaves in DIR besides the journal: genotype.json and pareto.png.

Both are written to a temporary name and renamed, so a reader never sees half a file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from genocompile.atomic import save_figure, write_text
from genocompile.genotype import genotype_from_dict, to_json
from genocompile.searchers.journal import Row

GENOTYPE_NAME = "genotype.json"
PARETO_NAME = "pareto.png"


def write_genotype(out_dir: Path, genotype_dict: dict, name: str = "searched") -> Path:
    """DIR/genotype.json: canonical JSON of the genotype, with its deploy network."""
    genotype = genotype_from_dict({**genotype_dict, "name": name})
    path = Path(out_dir) / GENOTYPE_NAME
    write_text(path, to_json(genotype))
    return path


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the (cost, fitness) points no other point beats on both (lower cost, higher fitness)."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def write_pareto_plot(out_dir: Path, rows: Sequence[Row], cost: str = "multiadds", limit: float | None = None) -> Path | None:
    """DIR/pareto.png: every evaluated candidate's fitness against its deploy-network cost, the front joined."""
    rows = [r for r in rows if cost in r.costs and r.fitness is not None]
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scale, unit = (1e6, "M MultiAdds") if cost == "multiadds" else (1.0, cost)
    points = [(r.costs[cost] / scale, r.fitness) for r in rows]
    front = pareto_front(points)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.scatter([p[0] for p in points], [p[1] for p in points], s=14, alpha=0.6, label="evaluated")
    ax.plot([points[i][0] for i in front], [points[i][1] for i in front], "o-", color="C3", ms=5, label="Pareto front")
    if limit is not None:
        ax.axvline(limit / scale, color="grey", ls="--", label="limit")
    ax.set_xlabel(f"deploy network ({unit})")
    ax.set_ylabel("fitness (validation accuracy)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / PARETO_NAME)


def write_outputs(out_dir: Path, rows: Sequence[Row], best: Row, constraints) -> None:
    write_genotype(out_dir, best.genotype)
    write_pareto_plot(out_dir, rows, limit=constraints.max_multiadds)
