"""An independent count of the DARTS evaluation networks: closed-form parameter and fvcore-MultiAdds
formulas per op, walked over the genotype with explicit spatial sizes. It shares no code with
genocompile's builder, so agreement between the two is evidence, not tautology.

fvcore conventions: conv = out_numel * (C_in / groups) * kh * kw; linear = in * out; BatchNorm in eval
with affine = 2 * numel; AdaptiveAvgPool = input numel; pools, adds, mul = 0. fvcore counts a TorchScript
trace, which drops dead code: a node nothing reads, a cell input no live node reads, and so on back through
the network, costs MultiAdds nothing (its parameters still count).
"""
from __future__ import annotations


def _out(size: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _bn(c, h, w):
    return 2 * c, 2 * c * h * w  # params (affine), MultiAdds


def _op_cost(op: str, c: int, h: int, w: int, stride: int) -> tuple[int, int, int, int]:
    """(params, multiadds, out_h, out_w) of one op on a c-channel h x w map."""
    if op in ("none", "max_pool_3x3", "avg_pool_3x3"):
        return 0, 0, _out(h, 3, stride, 1) if op != "none" else (h + stride - 1) // stride, \
            _out(w, 3, stride, 1) if op != "none" else (w + stride - 1) // stride
    if op == "skip_connect":
        if stride == 1:
            return 0, 0, h, w
        return _factorized_reduce(c, c, h, w)
    if op.startswith("sep_conv_"):
        k = int(op[-1])
        oh, ow = _out(h, k, stride, k // 2), _out(w, k, stride, k // 2)
        per = c * k * k + c * c + 2 * c
        ma = oh * ow * (c * k * k + c * c) + 2 * c * oh * ow
        return 2 * per, 2 * ma, oh, ow
    if op.startswith("dil_conv_"):
        k = int(op[-1])
        pad = 2 * (k // 2)
        oh, ow = _out(h, k, stride, pad, 2), _out(w, k, stride, pad, 2)
        return c * k * k + c * c + 2 * c, oh * ow * (c * k * k + c * c) + 2 * c * oh * ow, oh, ow
    if op == "conv_7x1_1x7":
        ow = _out(w, 7, stride, 3)
        oh = _out(h, 7, stride, 3)
        ma = h * ow * 7 * c * c + oh * ow * 7 * c * c + 2 * c * oh * ow
        return 14 * c * c + 2 * c, ma, oh, ow
    raise KeyError(op)


def _factorized_reduce(c_in, c_out, h, w):
    oh, ow = _out(h, 1, 2, 0), _out(w, 1, 2, 0)
    return c_in * c_out + 2 * c_out, oh * ow * c_in * c_out + 2 * c_out * oh * ow, oh, ow


def _relu_conv_bn_1x1(c_in, c_out, h, w):
    return c_in * c_out + 2 * c_out, h * w * c_in * c_out + 2 * c_out * h * w


def _live_nodes(edges, concat) -> set[int]:
    live, todo = set(), list(concat)
    while todo:
        node = todo.pop()
        if node not in live:
            live.add(node)
            if node >= 2:
                todo.extend(index for _, index in edges[2 * (node - 2):2 * (node - 2) + 2])
    return live


def _live_cells(genotype: dict, layers: int) -> list[set[int]]:
    """Per cell, the live states (0, 1 = inputs, >= 2 = nodes); empty if the cell's output is dead."""
    per_kind = {k: _live_nodes(genotype[k], genotype[f"{k}_concat"]) for k in ("normal", "reduce")}
    kinds = ["reduce" if i in (layers // 3, 2 * layers // 3) else "normal" for i in range(layers)]
    out_live = [False] * layers
    out_live[-1] = True
    for i in range(layers - 1, -1, -1):
        if (i + 1 < layers and out_live[i + 1] and 1 in per_kind[kinds[i + 1]]) or \
                (i + 2 < layers and out_live[i + 2] and 0 in per_kind[kinds[i + 2]]):
            out_live[i] = True
    return [per_kind[kinds[i]] if out_live[i] else set() for i in range(layers)]


def count(genotype: dict) -> tuple[int, int]:
    """(params without auxiliary head, fvcore MultiAdds at batch 1) of a canonical genotype dict."""
    net = genotype["network"]
    c, layers, classes = net["init_channels"], net["layers"], net["num_classes"]
    h, w = net["input_size"]
    params = ma = 0
    live = _live_cells(genotype, layers)
    reads = [live[0], live[1] if layers > 1 else set()]  # which inputs cells 0 and 1 use
    if net["skeleton"] == "darts-cifar":
        cs = 3 * c
        params += 27 * cs + 2 * cs
        if {0, 1} & reads[0] or 0 in reads[1]:
            ma += h * w * 27 * cs + 2 * cs * h * w
        states = [(cs, h, w), (cs, h, w)]
        reduction_prev = False
    else:
        h1, w1 = _out(h, 3, 2, 1), _out(w, 3, 2, 1)
        h2, w2 = _out(h1, 3, 2, 1), _out(w1, 3, 2, 1)
        h3, w3 = _out(h2, 3, 2, 1), _out(w2, 3, 2, 1)
        half = c // 2
        params += 27 * half + 2 * half + 9 * half * c + 2 * c + 9 * c * c + 2 * c
        stem1_live = 1 in reads[0] or 0 in reads[1]
        if stem1_live or 0 in reads[0]:
            ma += h1 * w1 * 27 * half + 2 * half * h1 * w1 + h2 * w2 * 9 * half * c + 2 * c * h2 * w2
        if stem1_live:
            ma += h3 * w3 * 9 * c * c + 2 * c * h3 * w3
        states = [(c, h2, w2), (c, h3, w3)]
        reduction_prev = True
    c_curr = c
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        if reduction:
            c_curr *= 2
        (c0, h0, w0), (c1, h1_, w1_) = states
        if reduction_prev:
            p, m, h0, w0 = _factorized_reduce(c0, c_curr, h0, w0)
        else:
            p, m = _relu_conv_bn_1x1(c0, c_curr, h0, w0)
        params, ma = params + p, ma + (m if 0 in live[i] else 0)
        p, m = _relu_conv_bn_1x1(c1, c_curr, h1_, w1_)
        params, ma = params + p, ma + (m if 1 in live[i] else 0)
        kind = "reduce" if reduction else "normal"
        edges, concat = genotype[kind], genotype[f"{kind}_concat"]
        sizes = [(h0, w0), (h1_, w1_)]
        for j in range(0, len(edges), 2):
            out = None
            for op, index in edges[j:j + 2]:
                stride = 2 if reduction and index < 2 else 1
                p, m, oh, ow = _op_cost(op, c_curr, *sizes[index], stride)
                params, ma = params + p, ma + (m if 2 + j // 2 in live[i] else 0)
                out = (oh, ow)
            sizes.append(out)
        oh, ow = sizes[concat[0]]
        states = [states[1], (len(concat) * c_curr, oh, ow)]
        reduction_prev = reduction
    c_last, hl, wl = states[1]
    if net["skeleton"] == "darts-cifar":
        ma += c_last * hl * wl  # AdaptiveAvgPool2d: fvcore counts its input numel
    params += c_last * classes + classes
    ma += c_last * classes
    return params, ma
