"""MultiAdds and params of a cell genotype's deploy network in microseconds, exactly: a fixed part plus one
table entry per edge.

Why: under a tight bound most sampled cells are infeasible (under `--max-multiadds 250000000` on
darts-cifar about 19 in 20 random DARTS cells are over), and the controller must be told each rejection. A
full fvcore count of a 20-cell network takes seconds; this table makes a rejection cost nothing.

Why it is exact: in a DARTS network (genocompile.models.darts) every cell's channel count, resolution and
preprocessing are fixed by the skeleton and the number of nodes, not by the ops; an edge's op reads a
state of that cell's shape with stride 2 exactly when it is an edge from input 0 or 1 of a reduction cell.
fvcore attributes each counted op to its module (`cells.{i}._ops.{j}`), so the network's count is the
count outside the cell ops (stem, preprocessing, head) plus the sum of the edges' counts, each a function
of (cell, stride, op) only. One exception: fvcore counts a traced graph, from which dead code is gone; a
cell that reads neither input 0 nor input 1 leaves a preprocessing layer dead, and through it possibly a
whole earlier cell. The table therefore answers only for genotypes whose cells both read both inputs
(every layer is then live) and returns None otherwise, for the caller to count in full. One probe network per op, with edges of both strides in every cell, fills the
table; the test checks the sum against a full count on random cells.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from genocompile.cost.counting import AUX_PREFIXES, count_multiadds, count_params
from genocompile.genotype import CellGenotype

# Probe cell (reads inputs 0 and 1, so every layer is live): node k reads (k-1, k-3) style pairs so that every cell has edges from inputs 0/1 (stride 2 in a
# reduction cell) and from intermediate nodes (stride 1). Position j of `_ops` is (node 2 + j // 2, branch j % 2).
PROBE_INPUTS = (0, 1, 2, 0, 3, 1, 4, 2, 5, 3, 6, 4)


@dataclass
class EdgeCostTable:
    network: dict
    steps: int = 4
    _base: dict | None = None
    _edges: dict = field(default_factory=dict)  # (cell, stride, op) -> (multiadds, params)

    def _probe(self, op: str) -> None:
        from genocompile.models import build_reference

        inputs = PROBE_INPUTS[:2 * self.steps]
        edges = [(op, i) for i in inputs]
        concat = list(range(2, 2 + self.steps))
        genotype = CellGenotype(normal=edges, normal_concat=concat, reduce=edges, reduce_concat=concat,
                                network=dict(self.network), name="probe")
        model = build_reference(genotype, seed=0)
        counted = count_multiadds(model, (1, 3, *genotype.network.input_size))
        params = {name: p.numel() for name, p in model.named_parameters() if not name.startswith(AUX_PREFIXES)}
        edge_total = [0, 0]
        for i, cell in enumerate(model.cells):
            for j, index in enumerate(inputs):
                prefix = f"cells.{i}._ops.{j}"
                stride = 2 if cell.reduction and index < 2 else 1
                cost = (counted.by_module.get(prefix, 0),
                        sum(n for name, n in params.items() if name.startswith(prefix + ".")))
                self._edges[(i, stride, op)] = cost
                edge_total[0] += cost[0]
                edge_total[1] += cost[1]
        if self._base is None:
            self._base = {"multiadds": counted.total - edge_total[0],
                          "params": count_params(model) - edge_total[1]}

    def costs(self, genotype: CellGenotype) -> dict[str, int] | None:
        """{"multiadds", "params"} of `genotype` in this table's network (equal to a full fvcore count), or None
        when a cell leaves input 0 or 1 unread (dead layers: count the network in full)."""
        if any({0, 1} - {index for _, index in getattr(genotype, kind)} for kind in ("normal", "reduce")):
            return None
        ops = {op for kind in ("normal", "reduce") for op, _ in getattr(genotype, kind)}
        for op in sorted(ops):
            if (0, 1, op) not in self._edges:
                self._probe(op)
        multiadds, params = self._base["multiadds"], self._base["params"]
        reductions = {i for (i, stride, _op) in self._edges if stride == 2}
        layers = 1 + max(i for i, _s, _o in self._edges)
        for i in range(layers):
            reduction = i in reductions
            for op, index in genotype.reduce if reduction else genotype.normal:
                m, p = self._edges[(i, 2 if reduction and index < 2 else 1, op)]
                multiadds, params = multiadds + m, params + p
        return {"multiadds": multiadds, "params": params}
