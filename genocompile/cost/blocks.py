"""The blocks a compiled network is made of, each as a stand-alone graph with a structural key.

A network's lowered graph is cut into blocks by the reference module each node came from: the stem,
every cell's two preprocessing layers, every op instance (`cells.i._ops.j`), every intermediate node's sum,
the cell's concat, and the head (pooling + classifier). A block becomes a graph of its own: the values it
reads from other blocks turn into `input` nodes of their shape, the values others read from it are its
outputs. The profiler runs the default pass pipeline on that graph and times the torch emitter's module.

A block's key is a hash of its structure alone (node kinds, attributes, shapes, wiring by position; no
names, no weights), so the same op at the same shape and stride has one key wherever it occurs, in any
genotype. (Like nn-Meter's kernel keys, which are the kernel type plus its configuration: cin, cout, ks,
stride, hw; here the configuration is the whole lowered block, so a new op needs no new key scheme.)
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

import torch

from genocompile.genotype.network import darts_reduction_cells
from genocompile.ir.graph import Graph, GraphBuilder, verify
from genocompile.ir.ops import get_ir_op

_CELL_PART = re.compile(r"^(cells\.\d+\.(?:_ops\.\d+|[^.]+))")


def block_of(node_name: str) -> str:
    """The block a lowered node belongs to (by the reference module it mirrors)."""
    m = _CELL_PART.match(node_name)
    if m:
        return m.group(1)
    if node_name == "input" or node_name.startswith("stem"):
        return "stem"
    return "head"


@dataclass(frozen=True)
class Block:
    name: str  # where it sits in the network, e.g. cells.3._ops.2
    graph: Graph  # stand-alone: inputs are `input` nodes, no weights
    key: str  # structural hash
    label: str  # human-readable: what it computes, at which shape


def _canonical(graph: Graph) -> str:
    index = {n.name: i for i, n in enumerate(graph.nodes)}
    rows = [[n.kind, [[k, v] for k, v in n.attrs], list(n.shape), [index[i] for i in n.inputs]] for n in graph.nodes]
    return json.dumps([rows, [index[o] for o in graph.outputs]], separators=(",", ":"))


def block_key(graph: Graph) -> str:
    return hashlib.sha1(_canonical(graph).encode()).hexdigest()[:16]


def _label(name: str, graph: Graph, what: str) -> str:
    ins = " + ".join("x".join(map(str, n.shape)) for n in graph.inputs)
    kinds = sorted({n.kind for n in graph.nodes if n.kind != "input"})
    return f"{what} on {ins} -> {'x'.join(map(str, graph.node(graph.outputs[0]).shape))} ({','.join(kinds)})"


def extract(graph: Graph, names: list[str], block_name: str = "block") -> Graph:
    """The subgraph of `names` as a graph of its own (external reads become inputs, external uses outputs)."""
    inside = set(names)
    users = graph.users()
    b = GraphBuilder(block_name)
    for name in names:
        node = graph.node(name)
        for i in node.inputs:
            if i not in inside and i not in b.shapes:
                b.add("input", [], {"shape": graph.node(i).shape}, name=i)
        if node.kind == "input":
            b.add("input", [], {"shape": node.shape}, name=name)
        else:
            b.append(node)
    outputs = [n for n in names if any(u not in inside for u in users.get(n, []))]
    return verify(b.build(outputs or names[-1:]), check_weights=False)


def network_blocks(genotype, graph: Graph | None = None) -> list[Block]:
    """The genotype's deploy network cut into blocks, in network order."""
    from genocompile.ir.lower import lower_structure

    graph = graph or lower_structure(genotype)
    groups: dict[str, list[str]] = {}
    for n in graph.nodes:
        groups.setdefault(block_of(n.name), []).append(n.name)
    ops = _op_names(genotype, graph)
    blocks = []
    for name, names in groups.items():
        sub = extract(graph, names, name)
        blocks.append(Block(name, sub, block_key(sub), _label(name, sub, ops.get(name, _kind_of(name)))))
    return blocks


def _kind_of(block_name: str) -> str:
    part = block_name.split(".")[-1]
    if part.startswith("node"):
        return "add"
    return {"out": "concat"}.get(part, re.sub(r"\d+$", "", part))


def _op_names(genotype, graph: Graph) -> dict[str, str]:
    """cells.i._ops.j -> the genotype op (with its stride) for labels."""
    out: dict[str, str] = {}
    if getattr(genotype, "family", None) != "cell":
        return out
    for name in {block_of(n.name) for n in graph.nodes}:
        m = re.match(r"cells\.(\d+)\._ops\.(\d+)$", name)
        if m:
            i, j = int(m.group(1)), int(m.group(2))
            net = genotype.network
            reduction = i in darts_reduction_cells(net.layers)
            op, index = genotype.cell("reduce" if reduction else "normal")[0][j]
            out[name] = f"{op} s{2 if reduction and index < 2 else 1}"
    return out


def op_block(op: str, in_shape: tuple[int, ...], c: int, stride: int) -> Graph:
    """One genotype op lowered on its own at `in_shape` (the block `network_blocks` cuts out for it)."""
    from genocompile.ir.lower import lower_op

    b = GraphBuilder(op)
    x = b.add("input", [], {"shape": tuple(in_shape)}, name="x")
    out = lower_op(b, op, x, c, stride, "op")
    return verify(b.build([out]), check_weights=False)


def random_weights(graph: Graph, seed: int = 0) -> Graph:
    """The graph with random tensors of the right shapes (BN variances positive): timing needs values, any."""
    gen = torch.Generator().manual_seed(seed)
    shapes = {n.name: n.shape for n in graph.nodes}
    weights: dict[str, torch.Tensor] = {}
    for n in graph.nodes:
        wanted = get_ir_op(n.kind).param_shapes(dict(n.attrs), [shapes[i] for i in n.inputs])
        for role, key in n.params:
            if key not in weights:
                t = torch.rand(wanted[role], generator=gen) * 0.2 - 0.1
                weights[key] = t.abs() + 0.5 if role == "running_var" else t
    return verify(graph.replace(weights=weights))


def optimized(graph: Graph, seed: int = 0) -> Graph:
    """`graph` with random weights through the default passes: what the torch target runs."""
    from genocompile.passes import optimize

    return optimize(random_weights(graph, seed))


def compile_optimized(graph: Graph, device: str = "cpu") -> torch.nn.Module:
    """The torch emitter's module (channels_last) for an already optimized graph."""
    from genocompile.emit.torch import to_module

    return to_module(graph, device=device, channels_last=True)


def compile_graph(graph: Graph, device: str = "cpu", seed: int = 0) -> torch.nn.Module:
    """What the torch target runs for `graph`: random weights, the default passes, the torch emitter (channels_last)."""
    return compile_optimized(optimized(graph, seed), device)


NETWORK_INPUT = "input"  # the lowered network's input node: fed as the user gives it (contiguous NCHW)


def example_inputs(graph: Graph, batch: int, device: str = "cpu", seed: int = 0,
                   channels_last: bool = False) -> list[torch.Tensor]:
    """Random inputs for `graph`. With `channels_last`, every 4-d input but the network's own is channels_last,
    as it is inside the compiled network (its convs' weights are channels_last, so their outputs are): a block
    timed on the other layout can be several times slower (max pooling: measured 8x on this CPU)."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for n in graph.inputs:
        x = torch.randn((batch, *n.shape), generator=gen).to(device)
        if channels_last and x.dim() == 4 and n.name != NETWORK_INPUT:
            x = x.contiguous(memory_format=torch.channels_last)
        out.append(x)
    return out
