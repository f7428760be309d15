"""The `cell` family (NASNet, ENAS, AmoebaNet, PNAS, DARTS): a normal and a reduction cell.

Each intermediate node takes two `(op, input)` pairs. Inputs index the cell's states:
0 = output of cell k-2, 1 = output of cell k-1, j >= 2 = intermediate node j. The cell's output
concatenates the nodes named in `*_concat`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from genocompile.errors import GenotypeError
from genocompile.genotype.network import DartsNetwork, NetworkedGenotype, network_to_dict
from genocompile.genotype.registry import register_family
from genocompile.ops.table import CELL_OPS

Edge = tuple[str, int]
CELL_KINDS = ("normal", "reduce")


def _freeze_edges(where: str, edges: Any) -> tuple[Edge, ...]:
    if not isinstance(edges, (list, tuple)) or not edges:
        raise GenotypeError(f"{where}: must be a non-empty list of [op, input] pairs, got {edges!r}")
    out = []
    for i, pair in enumerate(edges):
        if (not isinstance(pair, (list, tuple)) or len(pair) != 2 or not isinstance(pair[0], str)
                or isinstance(pair[1], bool) or not isinstance(pair[1], int)):
            raise GenotypeError(f"{where}, pair {i}: must be [op name, input index] (a string and an integer), "
                                f"got {pair!r}")
        out.append((pair[0], pair[1]))
    return tuple(out)


def _freeze_concat(where: str, concat: Any) -> tuple[int, ...]:
    if isinstance(concat, range):
        concat = list(concat)
    if (not isinstance(concat, (list, tuple)) or not concat
            or any(isinstance(c, bool) or not isinstance(c, int) for c in concat)):
        raise GenotypeError(f"{where}: must be a non-empty list of node indices, got {concat!r}")
    return tuple(concat)


def validate_cell(kind: str, edges: tuple[Edge, ...], concat: tuple[int, ...], ops: tuple[str, ...] = CELL_OPS,
                  where: str | None = None) -> None:
    """Raise GenotypeError naming the first problem of one cell, and how to fix it (`where` prefixes messages)."""
    where = where or f"cell {kind}"
    if len(edges) % 2:
        raise GenotypeError(f"{where}: {len(edges)} [op, input] pairs is odd; every node takes exactly two, "
                            f"so add or remove one pair")
    for i, (op, index) in enumerate(edges):
        node = 2 + i // 2
        if op not in ops:
            raise GenotypeError(f"{where}, node {node}: unknown op {op!r}; known: {', '.join(sorted(ops))}")
        if not 0 <= index < node:
            raise GenotypeError(f"{where}, node {node}: input {index} is out of range; node {node} can read "
                                f"0 (cell k-2), 1 (cell k-1) or an earlier node 2..{node - 1}"
                                if node > 2 else
                                f"{where}, node {node}: input {index} is out of range; node {node} can read "
                                f"0 (cell k-2) or 1 (cell k-1)")
    last = 1 + len(edges) // 2
    for c in concat:
        if not 2 <= c <= last:
            raise GenotypeError(f"{where}_concat: names node {c}, which does not exist; this cell has "
                                f"nodes 2..{last}")
    if len(set(concat)) != len(concat):
        raise GenotypeError(f"{where}_concat: {list(concat)} names a node twice; list each node once")


@register_family
@dataclass(frozen=True)
class CellGenotype(NetworkedGenotype):
    """A validated cell genotype. Construct it directly, with `from_dict`, or with `load_genotype`."""

    family: ClassVar[str] = "cell"
    default_skeleton: ClassVar[str] = "darts-cifar"

    normal: tuple[Edge, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Edge, ...]
    reduce_concat: tuple[int, ...]
    network: DartsNetwork = field(default=None)  # type: ignore[assignment]  # None -> skeleton defaults
    name: str = "genotype"

    def __post_init__(self) -> None:
        # Accept plain lists / ranges and freeze them, so the dataclass stays hashable and immutable.
        for kind in CELL_KINDS:
            object.__setattr__(self, kind, _freeze_edges(f"cell {kind}", getattr(self, kind)))
            object.__setattr__(self, f"{kind}_concat",
                               _freeze_concat(f"cell {kind}_concat", getattr(self, f"{kind}_concat")))
        self._freeze_network_and_name()
        for kind in CELL_KINDS:
            validate_cell(kind, getattr(self, kind), getattr(self, f"{kind}_concat"))

    # --- views ---------------------------------------------------------------------------------
    def cell(self, kind: str) -> tuple[tuple[Edge, ...], tuple[int, ...]]:
        return getattr(self, kind), getattr(self, f"{kind}_concat")

    def steps(self, kind: str) -> int:
        return len(getattr(self, kind)) // 2

    # --- JSON form -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "genocompile": 1, "family": self.family, "name": self.name,
            "normal": [list(e) for e in self.normal], "normal_concat": list(self.normal_concat),
            "reduce": [list(e) for e in self.reduce], "reduce_concat": list(self.reduce_concat),
            "network": network_to_dict(self.network),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CellGenotype":
        known = {"genocompile", "family", "name", "normal", "normal_concat", "reduce", "reduce_concat", "network"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise GenotypeError(f"cell genotype: unknown key(s) {', '.join(map(repr, unknown))}; "
                                f"known: {', '.join(sorted(known))}")
        for key in ("normal", "normal_concat", "reduce", "reduce_concat"):
            if key not in data:
                raise GenotypeError(f"cell genotype: missing {key!r}; a cell genotype needs normal, normal_concat, "
                                    f"reduce and reduce_concat")
        return cls(normal=data["normal"], normal_concat=data["normal_concat"], reduce=data["reduce"],
                   reduce_concat=data["reduce_concat"], network=data.get("network"),
                   name=data.get("name", "genotype"))
