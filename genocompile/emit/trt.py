"""The TensorRT emitter: a serialized engine (`model.plan`) built from genocompile's ONNX with the
TensorRT Python API, on TensorRT 10.x and 11.x.

Precision: the network is always created *strongly typed* (`NetworkDefinitionCreationFlag.STRONGLY_TYPED`),
so every tensor's type comes from the ONNX model: fp32 from the fp32 ONNX (TF32 cleared where the flag
still exists, to keep the 1e-4 parity), fp16 from the ONNX written in fp16 (`to_onnx(precision="fp16")`),
int8 from an ONNX with QuantizeLinear/DequantizeLinear pairs. TensorRT 11 removed the FP16/INT8 builder
flags; strongly typed networks are how both 10.x and 11.x take reduced precision, so there is one code path.

Everything before `builder.build_serialized_network` is plain Python tested on the CPU (`check_onnx`,
`profile_shapes`, `builder_settings`, plan file handling); `tensorrt` is imported inside `build_engine`
and `load_engine` only. Parser errors are all reported, each with its node. The timing cache is read
from and written back to a file beside the bundle, so rebuilding the same network is fast.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genocompile.atomic import write_bytes
from genocompile.errors import GenocompileError

# Op types the emitters write that TensorRT's ONNX parser supports (onnx-tensorrt operators.md).
TRT_SUPPORTED_OPS = frozenset({
    "Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Sum", "Concat", "Slice", "Mul",
    "Identity", "Flatten", "Gemm", "BatchNormalization", "Cast", "QuantizeLinear", "DequantizeLinear",
    "Resize", "Shape", "Expand",  # bilinear resizes (linear / half_pixel) and ASPP's image-pooling broadcast
    "Clip",  # ReLU6 (ProxylessNAS, MobileNetV2): Clip with constant min 0 / max 6 inputs
})
TRT_OPSETS = range(9, 21)  # opsets the TensorRT 10.x and 11.x parsers accept (9 .. 20)
TRT_PRECISIONS = ("fp32", "fp16", "int8")
INSTALL_HINT = "install TensorRT (pip install genocompile[trt]) on a machine with an NVIDIA GPU"


class TensorRTError(GenocompileError):
    """TensorRT is missing, or rejected the network (all parser errors are in the message)."""


@dataclass(frozen=True)
class Profile:
    """One optimization profile for the input: (min, opt, max) shapes, batch included."""

    name: str
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]


def profile_shapes(input_name: str, sample_shape: tuple[int, ...], batch: int, dynamic: bool) -> Profile:
    """Static batch: min = opt = max = batch. Dynamic: batches 1..batch, tuned for `batch` (serving load)."""
    if batch < 1:
        raise TensorRTError(f"batch must be at least 1, got {batch}")
    full = lambda n: (n, *sample_shape)  # noqa: E731
    if not dynamic:
        return Profile(input_name, full(batch), full(batch), full(batch))
    return Profile(input_name, full(1), full(batch), full(batch))


def check_onnx(model, dynamic: bool) -> None:
    """Refuse, before any GPU work, an ONNX model TensorRT's parser would reject or build wrongly:
    an opset outside `TRT_OPSETS`, an op outside `TRT_SUPPORTED_OPS`, a symbolic dimension other than
    a dynamic batch (or a symbolic batch without `dynamic`), more than one input."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset not in TRT_OPSETS:
        raise TensorRTError(f"ONNX opset {opset} is outside what TensorRT's parser accepts "
                            f"({TRT_OPSETS.start}..{TRT_OPSETS.stop - 1})")
    unsupported = sorted({n.op_type for n in model.graph.node} - TRT_SUPPORTED_OPS)
    if unsupported:
        raise TensorRTError(f"ONNX ops TensorRT's parser does not take here: {', '.join(unsupported)}")
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise TensorRTError(f"expected one network input, found {len(inputs)}")
    for value in list(inputs) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        for axis, d in enumerate(dims):
            symbolic = not d.HasField("dim_value")
            if symbolic and (axis != 0 or not dynamic):
                raise TensorRTError(f"{value.name}: dimension {axis} is symbolic ({d.dim_param!r}); TensorRT needs "
                                    f"static shapes except a dynamic batch with an optimization profile")
            if not symbolic and axis == 0 and dynamic:
                raise TensorRTError(f"{value.name}: --dynamic-batch needs a symbolic batch dimension")


@dataclass(frozen=True)
class BuilderSettings:
    strongly_typed: bool
    clear_tf32: bool
    workspace_bytes: int


def builder_settings(precision: str, workspace_mb: int = 2048) -> BuilderSettings:
    if precision not in TRT_PRECISIONS:
        raise TensorRTError(f"TensorRT precision {precision!r} is not supported; use one of {', '.join(TRT_PRECISIONS)}")
    return BuilderSettings(strongly_typed=True, clear_tf32=precision == "fp32", workspace_bytes=workspace_mb << 20)


def import_tensorrt():
    try:
        import tensorrt as trt
    except ImportError:
        raise TensorRTError(f"the trt target needs TensorRT: {INSTALL_HINT}") from None
    return trt


def _flag(enum, name):
    return getattr(enum, name, None)


def build_engine(onnx_bytes: bytes, profile: Profile, settings: BuilderSettings, timing_cache: Path | None = None,
                 trt=None) -> bytes:
    """Parse the ONNX, configure the builder, build and return the serialized engine (the plan)."""
    trt = trt or import_tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if settings.strongly_typed:
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_bytes):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise TensorRTError(f"TensorRT's ONNX parser rejected the model ({len(errors)} error(s)): " + " | ".join(errors))
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, settings.workspace_bytes)
    tf32 = _flag(trt.BuilderFlag, "TF32")
    if settings.clear_tf32 and tf32 is not None:
        config.clear_flag(tf32)
    opt_profile = builder.create_optimization_profile()
    opt_profile.set_shape(profile.name, profile.min, profile.opt, profile.max)
    config.add_optimization_profile(opt_profile)
    cache_bytes = timing_cache.read_bytes() if timing_cache and timing_cache.is_file() else b""
    cache = config.create_timing_cache(cache_bytes)
    config.set_timing_cache(cache, ignore_mismatch=True)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise TensorRTError("TensorRT could not build an engine for this network (see the TensorRT log above)")
    if timing_cache is not None:
        write_bytes(timing_cache, bytes(memoryview(config.get_timing_cache().serialize())))
    return bytes(memoryview(plan))


def write_plan(path: Path, plan: bytes) -> Path:
    if not plan:
        raise TensorRTError("empty TensorRT plan: the engine build produced nothing")
    write_bytes(path, plan)
    return path


class TensorRTModule:
    """Runs a deserialized engine on CUDA tensors: float32 (N, C, H, W) in, float32 logits out."""

    def __init__(self, plan: bytes, trt=None):
        import torch

        self.trt = trt or import_tensorrt()
        if not torch.cuda.is_available():
            raise TensorRTError("a TensorRT engine runs only on a CUDA GPU, and torch sees none here")
        runtime = self.trt.Runtime(self.trt.Logger(self.trt.Logger.WARNING))
        self.engine = runtime.deserialize_cuda_engine(plan)
        if self.engine is None:
            raise TensorRTError("TensorRT could not deserialize model.plan (built with another TensorRT version "
                                "or GPU? rebuild it here)")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        mode = self.trt.TensorIOMode.INPUT
        self.input = next(n for n in names if self.engine.get_tensor_mode(n) == mode)
        self.output = next(n for n in names if self.engine.get_tensor_mode(n) != mode)

    def __call__(self, x):
        import torch

        x = x.to("cuda", torch.float32).contiguous()
        self.context.set_input_shape(self.input, tuple(x.shape))
        out = torch.empty(tuple(self.context.get_tensor_shape(self.output)), device="cuda", dtype=torch.float32)
        self.context.set_tensor_address(self.input, x.data_ptr())
        self.context.set_tensor_address(self.output, out.data_ptr())
        stream = torch.cuda.current_stream()
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise TensorRTError("TensorRT execution failed")
        stream.synchronize()
        return out


def load_engine(path: Path) -> TensorRTModule:
    return TensorRTModule(Path(path).read_bytes())
