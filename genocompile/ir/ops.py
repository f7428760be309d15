"""IR op kinds: what a node may compute, registered once with its shape rule and its torch meaning.

An `IROp` is the single source of truth for one node kind:

- `infer(attrs, in_shapes) -> out_shape`: shape inference (shapes are per sample, batch excluded:
  `(C, H, W)` for feature maps, `(F,)` for vectors); raises `IRError` on inputs it cannot take;
- `param_shapes(attrs, in_shapes) -> {role: shape}`: the weight tensors the node reads, by role
  (`weight`, `bias`, `running_mean`, ...); roles in `optional` may be absent;
- `torch(inputs, params, attrs) -> Tensor` (`params` = {role: tensor}): the meaning, written with torch functions only. The
  reference interpreter calls it on tensors; the torch emitter calls the *same* function on fx
  proxies, which records the torch calls into a GraphModule (so the fused module runs generated code,
  with no per-node Python dispatch, and exports cleanly).

Every node may also carry `attrs["act"]` = "relu" or "relu6" (set by the conv+activation fusion): the
activation applied to the node's result (`ACTIVATIONS`); emitters honour it generically via `apply_act`.

Extending (a family team adding e.g. bilinear upsampling or channel shuffle): call `register_ir_op`
with a new kind, then register one rule per emitter that must support it (`genocompile.emit.onnx.onnx_rule`;
the torch emitters need nothing more). `tests/unit/test_ir_ops.py` fails until every emitter covers
every kind.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F

from genocompile.errors import GenocompileError
from genocompile.registry import Registry

Shape = tuple[int, ...]


class IRError(GenocompileError):
    """A graph that does not verify: wrong arity, shapes that do not fit, missing or misshapen weights."""


@dataclass(frozen=True)
class IROp:
    kind: str
    arity: int | None  # number of inputs; None = one or more
    infer: Callable[[Mapping[str, Any], Sequence[Shape]], Shape]
    torch: Callable[[list, Mapping[str, Any], Mapping[str, Any]], Any]
    param_shapes: Callable[[Mapping[str, Any], Sequence[Shape]], dict[str, Shape]] = lambda attrs, shapes: {}
    optional: tuple[str, ...] = ()  # parameter roles that may be absent (e.g. a conv without bias)
    pure: bool = True  # no weights, no side effects: two equal nodes on equal inputs compute the same
    doc: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)


IR_OPS: Registry[IROp] = Registry("IR op kind", IRError)


def register_ir_op(op: IROp) -> IROp:
    return IR_OPS.add(op.kind, op)


def get_ir_op(kind: str) -> IROp:
    return IR_OPS.get_or_raise(kind)


# Activations a node may carry fused (`attrs['act']`), each also an IR op kind of the same name. The
# torch forms work on tensors and on fx proxies alike. relu6 is ProxylessNAS' / MobileNetV2's ReLU6.
ACTIVATIONS: dict[str, Callable[[Any], Any]] = {
    "relu": torch.relu,
    "relu6": lambda x: torch.clamp(x, 0.0, 6.0),
}


def apply_act(x, act: str | None):
    """The fused activation of a node (`attrs['act']`), written with torch functions (works on fx proxies)."""
    if not act:
        return x
    if act not in ACTIVATIONS:
        raise IRError(f"unknown fused activation {act!r}; known: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[act](x)


# --- shape helpers ------------------------------------------------------------------------------

def _window(size: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _map(where: str, shape: Shape) -> Shape:
    if len(shape) != 3:
        raise IRError(f"{where}: needs a (C, H, W) feature map, got {shape}")
    return shape


def _conv_shape(attrs, shapes):
    c, h, w = _map("conv", shapes[0])
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = attrs["kernel"], attrs["stride"], attrs["padding"], attrs["dilation"]
    if c % attrs["groups"] or attrs["out_channels"] % attrs["groups"]:
        raise IRError(f"conv: {c} input / {attrs['out_channels']} output channels not divisible by "
                      f"groups={attrs['groups']}")
    oh, ow = _window(h, kh, sh, ph, dh), _window(w, kw, sw, pw, dw)
    if oh < 1 or ow < 1:
        raise IRError(f"conv: kernel {attrs['kernel']} does not fit a {h}x{w} map")
    return (attrs["out_channels"], oh, ow)


def _conv_params(attrs, shapes):
    kh, kw = attrs["kernel"]
    out = {"weight": (attrs["out_channels"], shapes[0][0] // attrs["groups"], kh, kw)}
    out["bias"] = (attrs["out_channels"],)
    return out


def _conv(ins, params, attrs):
    y = F.conv2d(ins[0], params["weight"], params.get("bias"), stride=attrs["stride"], padding=attrs["padding"],
                 dilation=attrs["dilation"], groups=attrs["groups"])
    return apply_act(y, attrs.get("act"))


def _pool_shape(attrs, shapes):
    c, h, w = _map("pool", shapes[0])
    (kh, kw), (sh, sw), (ph, pw) = attrs["kernel"], attrs["stride"], attrs["padding"]
    return (c, _window(h, kh, sh, ph), _window(w, kw, sw, pw))


def _same(where: str):
    def infer(attrs, shapes):
        first = shapes[0]
        for s in shapes[1:]:
            if s != first:
                raise IRError(f"{where}: inputs must have equal shapes, got {list(shapes)}")
        return first
    return infer


def _concat_shape(attrs, shapes):
    for s in shapes:
        _map("concat", s)
        if s[1:] != shapes[0][1:]:
            raise IRError(f"concat: inputs must share H and W, got {list(shapes)}")
    return (sum(s[0] for s in shapes), *shapes[0][1:])


def _slice_shape(attrs, shapes):
    c, h, w = _map("slice", shapes[0])
    (h0, w0), (sh, sw) = attrs["start"], attrs["step"]
    return (c, len(range(h0, h, sh)), len(range(w0, w, sw)))


def _channel_slice_shape(attrs, shapes):
    c, h, w = _map("channel_slice", shapes[0])
    start, step = attrs["start"], attrs["step"]
    if not 0 <= start < c or step < 1:
        raise IRError(f"channel_slice: start {start} / step {step} select nothing of {c} channels")
    return (len(range(start, c, step)), h, w)


def _slice(ins, params, attrs):
    (h0, w0), (sh, sw) = attrs["start"], attrs["step"]
    return apply_act(ins[0][:, :, h0::sh, w0::sw], attrs.get("act"))


def _zero(ins, params, attrs):
    # The DARTS `none` op is x * 0 (not torch.zeros): equal to zeros for finite inputs, and it keeps the
    # input's dtype, device and batch without a shape computation.
    s = attrs["stride"]
    x = ins[0] if s == 1 else ins[0][:, :, ::s, ::s]
    return x.mul(0.0)


def _bn_params(attrs, shapes):
    c = shapes[0][0]
    return {"weight": (c,), "bias": (c,), "running_mean": (c,), "running_var": (c,)}


def _bn(ins, params, attrs):
    y = F.batch_norm(ins[0], params["running_mean"], params["running_var"], params.get("weight"), params.get("bias"),
                     training=False, momentum=0.0, eps=attrs["eps"])
    return apply_act(y, attrs.get("act"))


def _linear_shape(attrs, shapes):
    if len(shapes[0]) != 1:
        raise IRError(f"linear: needs a flat (F,) input, got {shapes[0]}")
    return (attrs["out_features"],)


def _dwpw_shape(attrs, shapes):
    if attrs["groups"] != shapes[0][0]:
        raise IRError(f"dwpw_conv: groups={attrs['groups']} must equal the {shapes[0][0]} input channels")
    dw = {**attrs, "out_channels": shapes[0][0]}
    c, h, w = _conv_shape(dw, shapes)
    return (attrs["out_channels"], h, w)


def _dwpw_params(attrs, shapes):
    c = shapes[0][0]
    kh, kw = attrs["kernel"]
    return {"dw_weight": (c, 1, kh, kw), "weight": (attrs["out_channels"], c, 1, 1), "bias": (attrs["out_channels"],)}


def _dwpw(ins, params, attrs):
    x = F.conv2d(ins[0], params["dw_weight"], None, stride=attrs["stride"], padding=attrs["padding"],
                 dilation=attrs["dilation"], groups=attrs["groups"])
    return apply_act(F.conv2d(x, params["weight"], params.get("bias")), attrs.get("act"))


def _act(fn):
    return lambda ins, params, attrs: apply_act(fn(ins, attrs), attrs.get("act"))


register_ir_op(IROp("input", 0, infer=lambda attrs, shapes: tuple(attrs["shape"]),
                    torch=lambda ins, params, attrs: ins[0], pure=False, doc="the graph input (batch excluded)"))
register_ir_op(IROp("conv", 1, infer=_conv_shape, torch=_conv, param_shapes=_conv_params, optional=("bias",),
                    pure=False, doc="2-d convolution (groups, dilation, stride); optional bias and fused act"))
register_ir_op(IROp("dwpw_conv", 1, infer=_dwpw_shape, torch=_dwpw, param_shapes=_dwpw_params, optional=("bias",),
                    pure=False, doc="depthwise kxk then pointwise 1x1, as one kernel where a target has one"))
register_ir_op(IROp("batchnorm", 1, infer=lambda attrs, shapes: _map("batchnorm", shapes[0]), torch=_bn,
                    param_shapes=_bn_params, optional=("weight", "bias"), pure=False,
                    doc="BatchNorm2d in eval mode (running statistics)"))
register_ir_op(IROp("relu", 1, infer=lambda attrs, shapes: shapes[0], torch=_act(lambda ins, a: torch.relu(ins[0])),
                    doc="max(x, 0)"))
register_ir_op(IROp("relu6", 1, infer=lambda attrs, shapes: shapes[0],
                    torch=_act(lambda ins, a: ACTIVATIONS["relu6"](ins[0])), doc="min(max(x, 0), 6)"))
register_ir_op(IROp("max_pool", 1, infer=_pool_shape, doc="max pool, implicit -inf padding",
                    torch=_act(lambda ins, a: F.max_pool2d(ins[0], a["kernel"], a["stride"], a["padding"]))))
register_ir_op(IROp("avg_pool", 1, infer=_pool_shape, doc="average pool; count_include_pad as attr",
                    torch=_act(lambda ins, a: F.avg_pool2d(ins[0], a["kernel"], a["stride"], a["padding"],
                                                           count_include_pad=a["count_include_pad"]))))
register_ir_op(IROp("global_avg_pool", 1, infer=lambda attrs, shapes: (_map("global_avg_pool", shapes[0])[0], 1, 1),
                    torch=_act(lambda ins, a: F.adaptive_avg_pool2d(ins[0], 1)), doc="mean over H and W"))
register_ir_op(IROp("add", None, infer=_same("add"), doc="elementwise sum of one or more equal-shaped inputs",
                    torch=_act(lambda ins, a: _sum(ins))))
register_ir_op(IROp("concat", None, infer=_concat_shape, doc="concatenate along channels",
                    torch=_act(lambda ins, a: torch.cat(list(ins), 1))))
register_ir_op(IROp("slice", 1, infer=_slice_shape, torch=_slice, doc="x[:, :, h0::sh, w0::sw]"))
register_ir_op(IROp("channel_slice", 1, infer=_channel_slice_shape, doc="x[:, start::step] (ShuffleNetV2's "
                    "channel shuffle + split: even channels = start 0, odd = start 1, step 2)",
                    torch=_act(lambda ins, a: ins[0][:, a["start"]::a["step"]])))
register_ir_op(IROp("zero", 1, infer=lambda attrs, shapes: _slice_shape({"start": (0, 0), "step": (attrs["stride"],) * 2},
                                                                         shapes),
                    torch=_zero, doc="the `none` op: x[:, :, ::s, ::s] * 0 (zeros for finite inputs)"))
register_ir_op(IROp("identity", 1, infer=lambda attrs, shapes: shapes[0], torch=lambda ins, params, attrs: ins[0],
                    doc="x"))
register_ir_op(IROp("flatten", 1, infer=lambda attrs, shapes: (int(torch.tensor(shapes[0]).prod()),),
                    torch=lambda ins, params, attrs: torch.flatten(ins[0], 1), doc="(C, H, W) -> (C*H*W,)"))
register_ir_op(IROp("linear", 1, infer=_linear_shape, optional=("bias",), pure=False, doc="x @ W.T + b",
                    param_shapes=lambda attrs, shapes: {"weight": (attrs["out_features"], shapes[0][0]),
                                                        "bias": (attrs["out_features"],)},
                    torch=lambda ins, params, attrs: apply_act(F.linear(ins[0], params["weight"], params.get("bias")),
                                                                    attrs.get("act"))))


# --- resampling (the segmentation networks) -------------------------------------------------------

def _resize_shape(attrs, shapes):
    c, h, w = _map("resize", shapes[0])
    oh, ow = attrs["size"]
    if oh < 1 or ow < 1:
        raise IRError(f"resize: output size must be positive, got {attrs['size']}")
    if attrs["mode"] != "bilinear":
        raise IRError(f"resize: unknown mode {attrs['mode']!r}; known: bilinear")
    return (c, oh, ow)


def _resize(ins, params, attrs):
    y = F.interpolate(ins[0], size=tuple(attrs["size"]), mode="bilinear", align_corners=False)
    return apply_act(y, attrs.get("act"))


def _expand_shape(attrs, shapes):
    c, h, w = _map("expand", shapes[0])
    if (h, w) != (1, 1):
        raise IRError(f"expand: broadcasts a (C, 1, 1) map, got {shapes[0]}; resize larger maps instead")
    return (c, *attrs["size"])


register_ir_op(IROp("resize", 1, infer=_resize_shape, torch=_resize, defaults={"mode": "bilinear"},
                    doc="bilinear resize to an explicit (H, W), align_corners=False: half-pixel centres, "
                        "in = (out + 0.5) * in_size / out_size - 0.5, clamped at the border, no antialias "
                        "(torch F.interpolate; ONNX Resize linear / half_pixel; TensorRT the same)"))
register_ir_op(IROp("expand", 1, infer=_expand_shape,
                    torch=lambda ins, params, attrs: apply_act(ins[0].expand(-1, -1, *attrs["size"]), attrs.get("act")),
                    doc="broadcast a (C, 1, 1) map to (C, H, W): bilinear upsampling of a 1x1 map in any convention"))


def _sum(xs):
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out
