"""The graph IR: an immutable DAG of typed nodes with inferred shapes, plus the weights they read.

- A `Node` is frozen: a unique `name`, an op `kind` (registered in `genocompile.ir.ops`), the names of
  its `inputs`, frozen `attrs` (sorted `(key, value)` pairs of ints, strings and tuples), its inferred
  per-sample `shape` (batch excluded), and `params`: `(role, key)` pairs naming the weight tensors it
  reads. Lowered nodes use the reference model's state_dict keys, so trained weights attach by key and
  every node remembers where its tensors came from; passes that make new tensors (BN folding) name them
  after their sources (`conv.weight|bn:cells.0.bn`).
- A `Graph` holds nodes in topological order, its `outputs`, and `weights` ({key: tensor}). Weights are
  *not* part of the graph's structural identity (`==`, `dump`), so golden dumps do not depend on values.

Passes never mutate: they build a new Graph (`graph.replace(...)`), and `verify` checks the result.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import torch

from genocompile.ir.ops import IRError, Shape, get_ir_op


def freeze_attrs(attrs: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    def freeze(v):
        if isinstance(v, list):
            return tuple(freeze(x) for x in v)
        return v
    return tuple(sorted((k, freeze(v)) for k, v in attrs.items() if v is not None))


@dataclass(frozen=True)
class Node:
    name: str
    kind: str
    inputs: tuple[str, ...]
    attrs: tuple[tuple[str, Any], ...]
    shape: Shape
    params: tuple[tuple[str, str], ...] = ()  # (role, weight key)
    source: str = ""  # the reference-model module this node was lowered from (for messages and dumps)

    @property
    def attr(self) -> Mapping[str, Any]:
        return MappingProxyType(dict(self.attrs))

    def param(self, role: str) -> str | None:
        return dict(self.params).get(role)

    def with_(self, **changes: Any) -> "Node":
        if "attrs" in changes and isinstance(changes["attrs"], Mapping):
            changes["attrs"] = freeze_attrs(changes["attrs"])
        return replace(self, **changes)


@dataclass(frozen=True)
class Graph:
    name: str
    nodes: tuple[Node, ...]
    outputs: tuple[str, ...]
    weights: Mapping[str, torch.Tensor] = field(default_factory=dict, compare=False, hash=False, repr=False)

    # --- views -------------------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        return self._index()[name]

    def _index(self) -> dict[str, Node]:
        cache = self.__dict__.get("_by_name")
        if cache is None:
            cache = {n.name: n for n in self.nodes}
            object.__setattr__(self, "_by_name", cache)
        return cache

    def users(self) -> dict[str, list[str]]:
        """{value name: names of the nodes that read it} (an output counts as a user named '<output>')."""
        out: dict[str, list[str]] = defaultdict(list)
        for n in self.nodes:
            for i in n.inputs:
                out[i].append(n.name)
        for o in self.outputs:
            out[o].append("<output>")
        return out

    @property
    def inputs(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.kind == "input")

    @property
    def input_shape(self) -> Shape:
        (node,) = self.inputs
        return node.shape

    def count(self, kind: str) -> int:
        return sum(n.kind == kind for n in self.nodes)

    # --- building new graphs -----------------------------------------------------------------------
    def replace(self, nodes: Iterable[Node] | None = None, outputs: Iterable[str] | None = None,
                weights: Mapping[str, torch.Tensor] | None = None) -> "Graph":
        """A new graph; weights no node reads any more are dropped."""
        nodes = tuple(self.nodes if nodes is None else nodes)
        weights = dict(self.weights if weights is None else weights)
        used = {key for n in nodes for _, key in n.params}
        return Graph(self.name, nodes, tuple(self.outputs if outputs is None else outputs),
                     {k: v for k, v in weights.items() if k in used})

    def rewire(self, mapping: Mapping[str, str], drop: set[str] = frozenset()) -> "Graph":
        """Replace every read of value `a` by `mapping[a]` (chased transitively) and drop the named nodes."""
        def chase(name: str) -> str:
            seen = set()
            while name in mapping and name not in seen:
                seen.add(name)
                name = mapping[name]
            return name
        nodes = [n.with_(inputs=tuple(chase(i) for i in n.inputs)) for n in self.nodes if n.name not in drop]
        return self.replace(nodes, [chase(o) for o in self.outputs])


class GraphBuilder:
    """Appends nodes in topological order, inferring each shape as it goes (used by lowerings and passes)."""

    def __init__(self, name: str):
        self.name = name
        self.nodes: list[Node] = []
        self.shapes: dict[str, Shape] = {}

    def shape(self, value: str) -> Shape:
        return self.shapes[value]

    def _unique(self, name: str) -> str:
        if name not in self.shapes:
            return name
        i = 1
        while f"{name}#{i}" in self.shapes:
            i += 1
        return f"{name}#{i}"

    def add(self, kind: str, inputs: Iterable[str] = (), attrs: Mapping[str, Any] | None = None,
            params: Mapping[str, str] | None = None, name: str | None = None, source: str = "") -> str:
        op = get_ir_op(kind)
        inputs = tuple(inputs)
        attrs = {**op.defaults, **(attrs or {})}
        frozen = freeze_attrs(attrs)
        for i in inputs:
            if i not in self.shapes:
                raise IRError(f"{name or kind}: reads {i!r}, which no earlier node defines")
        shape = tuple(op.infer(dict(frozen), [self.shapes[i] for i in inputs]))
        name = self._unique(name or f"{kind}{len(self.nodes)}")
        node = Node(name, kind, inputs, frozen, shape, tuple(sorted((params or {}).items())), source or name)
        self.nodes.append(node)
        self.shapes[name] = shape
        return name

    def append(self, node: Node) -> str:
        """Re-add an existing node (a pass copying a graph), re-inferring its shape."""
        return self.add(node.kind, node.inputs, dict(node.attrs), dict(node.params), node.name, node.source)

    # conveniences the lowerings use -------------------------------------------------------------------
    def conv(self, x: str, out_channels: int, kernel, stride=1, padding=0, dilation=1, groups=1, *,
             weight: str, bias: str | None = None, name: str | None = None) -> str:
        pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)  # noqa: E731
        params = {"weight": weight, **({"bias": bias} if bias else {})}
        return self.add("conv", [x], {"out_channels": out_channels, "kernel": pair(kernel), "stride": pair(stride),
                                      "padding": pair(padding), "dilation": pair(dilation), "groups": groups},
                        params, name=name or weight.rsplit(".", 1)[0])

    def batchnorm(self, x: str, prefix: str, eps: float = 1e-5) -> str:
        params = {role: f"{prefix}.{role}" for role in ("weight", "bias", "running_mean", "running_var")}
        return self.add("batchnorm", [x], {"eps": eps}, params, name=prefix)

    def build(self, outputs: Iterable[str], weights: Mapping[str, torch.Tensor] | None = None) -> Graph:
        return Graph(self.name, tuple(self.nodes), tuple(outputs), dict(weights or {}))


def verify(graph: Graph, check_weights: bool = True) -> Graph:
    """Raise IRError naming the first node that breaks an invariant; return the graph unchanged.

    Checks: unique names; inputs defined before use (topological order); arity; the stored shape equals
    the one inferred from the inputs; required weight roles present and no unknown ones; when the graph
    carries weights (`check_weights` and any present), each named tensor exists with the expected shape.
    """
    shapes: dict[str, Shape] = {}
    has_weights = check_weights and bool(graph.weights)
    for n in graph.nodes:
        op = get_ir_op(n.kind)
        where = f"node {n.name!r} ({n.kind})"
        if n.name in shapes:
            raise IRError(f"{where}: name defined twice")
        for i in n.inputs:
            if i not in shapes:
                raise IRError(f"{where}: reads {i!r}, which is not defined before it")
        if op.arity is not None and len(n.inputs) != op.arity:
            raise IRError(f"{where}: takes {op.arity} input(s), has {len(n.inputs)}")
        if op.arity is None and not n.inputs:
            raise IRError(f"{where}: needs at least one input")
        in_shapes = [shapes[i] for i in n.inputs]
        try:
            inferred = tuple(op.infer(dict(n.attrs), in_shapes))
        except (KeyError, TypeError) as e:
            raise IRError(f"{where}: bad attributes {dict(n.attrs)} ({e})") from None
        if inferred != n.shape:
            raise IRError(f"{where}: stored shape {n.shape} but inputs give {inferred}")
        expected = op.param_shapes(dict(n.attrs), in_shapes)
        roles = dict(n.params)
        for role in expected:
            if role not in roles and role not in op.optional:
                raise IRError(f"{where}: lacks its {role!r} tensor")
        for role, key in roles.items():
            if role not in expected:
                raise IRError(f"{where}: unknown tensor role {role!r}; {n.kind} reads {', '.join(expected)}")
            if has_weights:
                if key not in graph.weights:
                    raise IRError(f"{where}: weight {key!r} is not attached")
                if tuple(graph.weights[key].shape) != tuple(expected[role]):
                    raise IRError(f"{where}: weight {key!r} is {list(graph.weights[key].shape)}, "
                                  f"expected {list(expected[role])}")
        shapes[n.name] = n.shape
    for o in graph.outputs:
        if o not in shapes:
            raise IRError(f"graph output {o!r} is not defined")
    return graph


def _fmt(v: Any) -> str:
    if isinstance(v, tuple):
        return "x".join(map(str, v))
    return str(v)


def dump(graph: Graph) -> str:
    """A stable, human-readable text form (weights by key and shape-free; values never printed)."""
    lines = [f"graph {graph.name}"]
    for n in graph.nodes:
        attrs = " ".join(f"{k}={_fmt(v)}" for k, v in n.attrs)
        params = " ".join(f"{role}={key}" for role, key in n.params)
        args = ", ".join(f"%{i}" for i in n.inputs)
        line = f"  %{n.name} = {n.kind}({args})"
        if attrs:
            line += f" {{{attrs}}}"
        line += f" -> {_fmt(n.shape)}"
        if params:
            line += f" [{params}]"
        lines.append(line)
    lines.append("  return " + ", ".join(f"%{o}" for o in graph.outputs))
    return "\n".join(lines) + "\n"
