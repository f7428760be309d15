"""The ONNX emitter: the optimized graph written directly as an ONNX model with `onnx.helper`.

Writing ONNX from the IR (rather than exporting a torch module) fixes exactly what ONNX Runtime and
TensorRT's parser see: one `Conv` with its folded bias and a `Relu` right after (fused by both into one
kernel), one `Relu` per tensor, no BatchNormalization, no dead branches, opset 17, static shapes except
an optional symbolic batch. One rule per IR op kind is registered with `@onnx_rule(kind)`; a test checks
every registered kind has one. Inputs and outputs are float32 ("input", "logits"); fp16 casts after the
input and before the output and stores its initializers in fp16; int8 puts QuantizeLinear/DequantizeLinear
on every conv input and int8 weights behind DequantizeLinear (`genocompile.emit.quantize`).

`onnx` and `onnxruntime` are imported inside the functions only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from genocompile.errors import GenocompileError
from genocompile.ir.graph import Graph, Node
from genocompile.registry import Registry

OPSET = 17
IR_VERSION = 8  # the IR version of opset 17: readable by TensorRT 10's parser and every current ORT
INPUT, OUTPUT = "input", "logits"
INT64_MAX = 2 ** 63 - 1


# onnx.TensorProto enum values by precision (fixed by the ONNX standard)
_ONNX_TYPES = {"fp32": 1, "fp16": 10, "bf16": 16}
_TORCH_TYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class OnnxError(GenocompileError):
    """An ONNX model that cannot be written, checked or run."""


ONNX_RULES: Registry[Callable[["OnnxContext", Node], None]] = Registry("ONNX rule for IR op kind", OnnxError)


def onnx_rule(kind: str):
    return ONNX_RULES.decorator(kind)


@dataclass
class OnnxContext:
    graph: Graph
    precision: str = "fp32"
    ranges: dict | None = None  # int8: calibrated max |activation| per quantised value
    nodes: list = field(default_factory=list)
    initializers: dict = field(default_factory=dict)

    def value(self, name: str) -> str:
        """The ONNX value holding IR value `name` (the graph input, or its cast to the precision)."""
        if self.graph.node(name).kind == "input":
            return f"{INPUT}:cast" if self.precision in ("fp16", "bf16") else INPUT
        return name

    def add(self, op_type: str, inputs: list[str], output: str, **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op_type, inputs, [output], name=f"{op_type}:{output}", **attrs))
        return output

    def weight(self, key: str, tensor: torch.Tensor | None = None) -> str:
        if key not in self.initializers:
            t = (self.graph.weights[key] if tensor is None else tensor).detach().cpu()
            stored = "fp32" if self.precision == "int8" else self.precision
            self.initializers[key] = _tensor_proto(key, t.to(_TORCH_TYPES[stored]), stored)
        return key

    def int8(self, key: str, tensor: torch.Tensor) -> str:
        from onnx import helper

        if key not in self.initializers:
            t = tensor.detach().cpu().to(torch.int8).contiguous()
            self.initializers[key] = helper.make_tensor(key, 3, list(t.shape), t.numpy().tobytes(), raw=True)  # INT8
        return key

    def activation(self, name: str) -> str:
        """The value a quantised node reads: in int8, `name` through QuantizeLinear -> DequantizeLinear."""
        from genocompile.emit.quantize import activation_scale

        value = self.value(name)
        if self.precision != "int8":
            return value
        out = f"{name}:dq"
        if out not in self.initializers and not any(out in n.output for n in self.nodes):
            scale = self.weight(f"{name}:scale", torch.tensor(activation_scale(self.ranges[name])))
            zero = self.int8("int8_zero", torch.zeros(()))
            self.add("QuantizeLinear", [value, scale, zero], f"{name}:q")
            self.add("DequantizeLinear", [f"{name}:q", scale, zero], out)
        return out

    def conv_weight(self, key: str) -> str:
        """A conv weight: in int8 stored as int8 with per-output-channel scales behind DequantizeLinear."""
        from genocompile.emit.quantize import quantize_weight

        if self.precision != "int8":
            return self.weight(key)
        q, scale = quantize_weight(self.graph.weights[key])
        out = f"{key}:dq"
        if not any(out in n.output for n in self.nodes):
            zeros = self.int8(f"{key}:zero", torch.zeros(q.shape[0]))
            self.add("DequantizeLinear", [self.int8(f"{key}:int8", q), self.weight(f"{key}:scale", scale), zeros],
                     out, axis=0)
        return out

    def ints(self, key: str, values: list[int]) -> str:
        from onnx import helper

        if key not in self.initializers:
            self.initializers[key] = helper.make_tensor(key, 7, [len(values)], values)  # 7 = INT64
        return key

    def scalar(self, key: str, value: float) -> str:
        return self.weight(key, torch.tensor(value))

    def relu6_bounds(self) -> list[str]:
        """Clip's min / max inputs for ReLU6 (scalars of the graph's float type, as opset 11+ wants)."""
        return [self.scalar("relu6_min", 0.0), self.scalar("relu6_max", 6.0)]

    def emit(self, node: Node, op_type: str, inputs: list[str], **attrs: Any) -> None:
        """Append `op_type` computing `node`, then its fused activation if it has one."""
        act = node.attr.get("act")
        out = self.add(op_type, inputs, f"{node.name}:pre" if act else node.name, **attrs)
        if act:
            self.activate(act, out, node.name)

    def activate(self, act: str, x: str, out: str) -> str:
        """`act` (an `ACTIVATIONS` name) of value `x` into `out`: Relu, or Clip(0, 6) for relu6 (ONNX Runtime
        fuses both into the Conv before them, TensorRT too)."""
        if act == "relu":
            return self.add("Relu", [x], out)
        if act == "relu6":
            return self.add("Clip", [x, *self.relu6_bounds()], out)
        raise OnnxError(f"value {out}: no ONNX form for activation {act!r}")


def _tensor_proto(name: str, t: torch.Tensor, precision: str):
    from onnx import helper

    raw = t.contiguous().view(torch.int16) if t.dtype == torch.bfloat16 else t.contiguous()
    return helper.make_tensor(name, _ONNX_TYPES[precision], list(t.shape), raw.numpy().tobytes(), raw=True)


def _pads(p) -> list[int]:
    return [p[0], p[1], p[0], p[1]]


def _conv_attrs(a) -> dict:
    return {"kernel_shape": list(a["kernel"]), "strides": list(a["stride"]), "pads": _pads(a["padding"]),
            "dilations": list(a["dilation"]), "group": a["groups"]}


@onnx_rule("conv")
def _conv(ctx: OnnxContext, n: Node) -> None:
    ins = [ctx.activation(n.inputs[0]), ctx.conv_weight(n.param("weight"))] + ([ctx.weight(n.param("bias"))] if n.param("bias") else [])
    ctx.emit(n, "Conv", ins, **_conv_attrs(n.attr))


@onnx_rule("dwpw_conv")
def _dwpw(ctx: OnnxContext, n: Node) -> None:
    dw = ctx.add("Conv", [ctx.activation(n.inputs[0]), ctx.conv_weight(n.param("dw_weight"))], f"{n.name}:dw",
                 **_conv_attrs(n.attr))
    ins = [dw, ctx.conv_weight(n.param("weight"))] + ([ctx.weight(n.param("bias"))] if n.param("bias") else [])
    ctx.emit(n, "Conv", ins, kernel_shape=[1, 1])


@onnx_rule("batchnorm")
def _bn(ctx: OnnxContext, n: Node) -> None:
    c = n.shape[0]
    scale = ctx.weight(n.param("weight")) if n.param("weight") else ctx.weight(f"{n.name}.ones", torch.ones(c))
    bias = ctx.weight(n.param("bias")) if n.param("bias") else ctx.weight(f"{n.name}.zeros", torch.zeros(c))
    ctx.emit(n, "BatchNormalization", [ctx.value(n.inputs[0]), scale, bias, ctx.weight(n.param("running_mean")),
                                       ctx.weight(n.param("running_var"))], epsilon=float(n.attr["eps"]))


def _activation_rule(act: str) -> None:
    """A standalone activation node is written exactly as a fused one (`OnnxContext.activate`)."""
    onnx_rule(act)(lambda ctx, n: ctx.activate(act, ctx.value(n.inputs[0]), n.name))


for _act in ("relu", "relu6"):
    _activation_rule(_act)


@onnx_rule("max_pool")
def _max_pool(ctx, n):
    a = n.attr
    ctx.emit(n, "MaxPool", [ctx.value(n.inputs[0])], kernel_shape=list(a["kernel"]), strides=list(a["stride"]),
             pads=_pads(a["padding"]))


@onnx_rule("avg_pool")
def _avg_pool(ctx, n):
    a = n.attr
    ctx.emit(n, "AveragePool", [ctx.value(n.inputs[0])], kernel_shape=list(a["kernel"]), strides=list(a["stride"]),
             pads=_pads(a["padding"]), count_include_pad=int(a["count_include_pad"]))


@onnx_rule("global_avg_pool")
def _gap(ctx, n):
    ctx.emit(n, "GlobalAveragePool", [ctx.value(n.inputs[0])])


@onnx_rule("add")
def _add(ctx, n):
    ins = [ctx.value(i) for i in n.inputs]
    if len(ins) == 1:
        ctx.emit(n, "Identity", ins)
    else:
        ctx.emit(n, "Add" if len(ins) == 2 else "Sum", ins)


@onnx_rule("concat")
def _concat(ctx, n):
    ctx.emit(n, "Concat", [ctx.value(i) for i in n.inputs], axis=1)


def _slice(ctx, n: Node, x: str, start, step, out: str | None = None) -> str:
    ins = [x, ctx.ints(f"{n.name}.starts", list(start)), ctx.ints(f"{n.name}.ends", [INT64_MAX, INT64_MAX]),
           ctx.ints("axes_hw", [2, 3]), ctx.ints(f"{n.name}.steps", list(step))]
    if out is None:
        ctx.emit(n, "Slice", ins)
        return n.name
    return ctx.add("Slice", ins, out)


@onnx_rule("slice")
def _slice_rule(ctx, n):
    _slice(ctx, n, ctx.value(n.inputs[0]), n.attr["start"], n.attr["step"])


@onnx_rule("channel_slice")
def _channel_slice(ctx, n):
    # A strided Slice on the channel axis (TensorRT's ISliceLayer takes strides; static bounds).
    ins = [ctx.value(n.inputs[0]), ctx.ints(f"{n.name}.starts", [n.attr["start"]]),
           ctx.ints(f"{n.name}.ends", [INT64_MAX]), ctx.ints("axes_c", [1]), ctx.ints(f"{n.name}.steps", [n.attr["step"]])]
    ctx.emit(n, "Slice", ins)


@onnx_rule("zero")
def _zero(ctx, n):
    # x * 0 as in the reference (zeros for finite x), after the stride's subsampling.
    x = ctx.value(n.inputs[0])
    s = n.attr["stride"]
    if s != 1:
        x = _slice(ctx, n, x, (0, 0), (s, s), out=f"{n.name}:sub")
    ctx.emit(n, "Mul", [x, ctx.scalar("zero_scalar", 0.0)])


@onnx_rule("identity")
def _identity(ctx, n):
    ctx.emit(n, "Identity", [ctx.value(n.inputs[0])])


@onnx_rule("flatten")
def _flatten(ctx, n):
    ctx.emit(n, "Flatten", [ctx.value(n.inputs[0])], axis=1)


@onnx_rule("linear")
def _linear(ctx, n):
    ins = [ctx.value(n.inputs[0]), ctx.weight(n.param("weight"))] + ([ctx.weight(n.param("bias"))] if n.param("bias") else [])
    ctx.emit(n, "Gemm", ins, transB=1)


@onnx_rule("resize")
def _resize(ctx, n):
    # Resize (opset 13+) with `sizes`: mode linear + half_pixel is exactly torch's bilinear with
    # align_corners=False. Opset 17's `sizes` spans every axis, so the batch comes from Shape(x)[0:2]:
    # the same model runs any batch (onnxslim folds it to a constant where the batch is static).
    x = ctx.value(n.inputs[0])
    leading = ctx.add("Shape", [x], f"{n.name}:nc", start=0, end=2)
    sizes = ctx.add("Concat", [leading, ctx.ints(f"{n.name}.size", list(n.attr["size"]))], f"{n.name}:sizes", axis=0)
    ctx.emit(n, "Resize", [x, "", "", sizes], mode="linear", coordinate_transformation_mode="half_pixel")


@onnx_rule("expand")
def _expand(ctx, n):
    # Bidirectional broadcasting: (N, C, 1, 1) against (1, C, H, W) gives (N, C, H, W) for any batch.
    ctx.emit(n, "Expand", [ctx.value(n.inputs[0]), ctx.ints(f"{n.name}.shape", [1, *n.shape])])


@onnx_rule("input")
def _input(ctx, n):
    if ctx.precision in ("fp16", "bf16"):
        ctx.add("Cast", [INPUT], ctx.value(n.name), to=_ONNX_TYPES[ctx.precision])


def _free_io_names(graph: Graph, ranges: dict | None) -> tuple[Graph, dict | None]:
    """Rename IR values that the model's input / output names would shadow (a segmentation head's conv is
    naturally called `logits`): ONNX values are defined once."""
    clash = {n.name: f"{n.name}:value" for n in graph.nodes if n.name in (INPUT, OUTPUT) and n.kind != "input"}
    if not clash:
        return graph, ranges
    rename = lambda name: clash.get(name, name)  # noqa: E731
    nodes = [n.with_(name=rename(n.name), inputs=tuple(map(rename, n.inputs))) for n in graph.nodes]
    return (graph.replace(nodes, map(rename, graph.outputs)),
            None if ranges is None else {rename(k): v for k, v in ranges.items()})


def to_onnx(graph: Graph, batch: int | None = 1, precision: str = "fp32", name: str | None = None,
            ranges: dict | None = None):
    """An onnx.ModelProto of `graph`: input "input" float32 [batch, *input_shape] (`batch=None`: a symbolic
    "batch" dimension), output "logits" float32. `precision="int8"` needs `ranges` (see
    `genocompile.emit.quantize.activation_ranges`): convs then read Q/DQ'd int8 activations and weights."""
    from onnx import TensorProto, helper

    if precision == "bf16":
        raise OnnxError("ONNX opset 17 has no bfloat16 Conv; build onnx/trt with --precision fp16 (or bf16 with "
                        "--target torch/aoti)")
    if precision == "int8" and ranges is None:
        raise OnnxError("int8 ONNX needs calibrated activation ranges (activation_ranges(graph, batches))")
    if precision not in _ONNX_TYPES and precision != "int8":
        raise OnnxError(f"ONNX precision {precision!r} is not supported; use fp32, fp16 or int8")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise OnnxError("the ONNX emitter writes single-input, single-output graphs")
    graph, ranges = _free_io_names(graph, ranges)
    ctx = OnnxContext(graph, precision, ranges)
    for n in graph.nodes:
        if n.kind not in ONNX_RULES:
            raise OnnxError(f"no ONNX rule for IR op kind {n.kind!r} (node {n.name}); register one with "
                            f"@genocompile.emit.onnx.onnx_rule({n.kind!r})")
        ONNX_RULES[n.kind](ctx, n)
    out = graph.outputs[0]
    if precision in ("fp16", "bf16"):
        ctx.add("Cast", [out], OUTPUT, to=TensorProto.FLOAT)
    else:
        ctx.add("Identity", [out], OUTPUT)
    dim = batch if batch is not None else "batch"
    inp = helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, [dim, *graph.input_shape])
    outp = helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [dim, *graph.node(out).shape])
    g = helper.make_graph(ctx.nodes, name or graph.name, [inp], [outp], list(ctx.initializers.values()))
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="genocompile")
    model.ir_version = IR_VERSION
    return model


def check(model) -> None:
    """onnx.checker with full_check (shape inference included); raises OnnxError with the checker's message."""
    import onnx

    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise OnnxError(f"ONNX model does not pass onnx.checker: {str(e).splitlines()[0]}") from None


def simplify(model):
    """onnxslim's graph simplification (constant folding, dead nodes, redundant Identity), checked again."""
    import onnxslim

    slim = onnxslim.slim(model)
    slim.ir_version = IR_VERSION
    check(slim)
    return slim


def session(model_bytes: bytes, device: str = "cpu", threads: int | None = None, spin: bool = True):
    """An onnxruntime InferenceSession on `device` (cpu, or cuda through the CUDA execution provider).
    `spin=False` lets idle worker threads sleep (for benchmarks sharing cores between contenders)."""
    import onnxruntime as ort

    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise OnnxError("onnxruntime here has no CUDAExecutionProvider; install onnxruntime-gpu on the GPU "
                            "machine (see shared/GPU.md) or build with --device cpu")
        providers = ["CUDAExecutionProvider"]
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model_bytes, options, providers=providers)
