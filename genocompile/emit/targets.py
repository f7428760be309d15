"""Build targets, registered once each: what files a target writes into a bundle, how it emits them from
the optimized graph, and how the runtime loads them back into a callable.

A `Target` is data plus two functions:
- `emit(ctx: EmitContext, directory: Path) -> None` writes the target's `files` into the bundle directory;
- `load(directory: Path, manifest: dict, device: str) -> Callable[[Tensor], Tensor]` returns float32 in,
  float32 out (the runtime wraps it with input checks).
`check(options)` refuses, before any work, what the target cannot do here (a missing library, a device,
a precision). A new target (e.g. a TVM or an OpenVINO one) is one more `register_target(Target(...))`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import torch

from genocompile.errors import GenocompileError
from genocompile.ir.graph import Graph
from genocompile.registry import Registry

TORCH_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class TargetError(GenocompileError):
    """A target that cannot be built with the options given, or not on this machine."""


@dataclass
class EmitContext:
    """What every target's emitter reads; derived artifacts are computed once and shared between targets."""

    graph: Graph
    precision: str = "fp32"
    batch: int = 1  # the static batch, or the largest batch when dynamic
    dynamic_batch: bool = False
    device: str = "cpu"
    timing_cache: Path | None = None
    name: str = "genotype"
    calibration: list[torch.Tensor] = field(default_factory=list)  # int8: batches the activation ranges come from

    @cached_property
    def module(self) -> torch.nn.Module:
        from genocompile.emit.torch import to_module

        dtype = TORCH_DTYPES.get(self.precision, torch.float32)
        return to_module(self.graph, dtype, self.device, channels_last=True)

    @cached_property
    def program(self):
        from genocompile.emit.torch import example_input, export_program

        example = example_input(self.graph, self.batch, device=self.device)
        return export_program(self.module, example, self.dynamic_batch, max_batch=self.batch)

    def onnx_model(self, precision: str | None = None):
        from genocompile.emit import onnx as onnx_emit

        cache = self.__dict__.setdefault("_onnx", {})
        precision = precision or self.precision
        if precision not in cache:
            ranges = None
            if precision == "int8":
                from genocompile.emit.quantize import activation_ranges

                if not self.calibration:
                    raise TargetError("int8 needs calibration batches (EmitContext.calibration)")
                ranges = activation_ranges(self.graph, self.calibration)
            model = onnx_emit.to_onnx(self.graph, None if self.dynamic_batch else self.batch, precision, self.name,
                                      ranges)
            onnx_emit.check(model)
            cache[precision] = onnx_emit.simplify(model)
        return cache[precision]


@dataclass(frozen=True)
class Target:
    name: str
    files: tuple[str, ...]
    precisions: tuple[str, ...]
    emit: Callable[[EmitContext, Path], None]
    load: Callable[[Path, dict, str], Callable[[torch.Tensor], torch.Tensor]]
    check: Callable[[Any], None] = lambda options: None
    devices: tuple[str, ...] = ("cpu", "cuda")
    fused_kernels: frozenset[str] = field(default_factory=frozenset)  # patterns it runs as one kernel
    triton_platform: str | None = None  # Triton Inference Server platform name, if Triton serves it
    doc: str = ""


TARGETS: Registry[Target] = Registry("target", TargetError)


def register_target(target: Target) -> Target:
    return TARGETS.add(target.name, target)


def get_target(name: str) -> Target:
    return TARGETS.get_or_raise(name)


# --- torch (torch.export .pt2) -----------------------------------------------------------------------
def _emit_torch(ctx: EmitContext, directory: Path) -> None:
    from genocompile.emit.torch import save_program

    save_program(ctx.program, directory / "model.pt2")


def _load_torch(directory: Path, manifest: dict, device: str):
    from genocompile.emit.torch import load_program

    module = load_program(directory / "model.pt2")
    built_on = manifest["device"]
    cl = built_on.startswith("cuda")

    def run(x: torch.Tensor) -> torch.Tensor:
        x = x.to(built_on)
        if cl:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            return module(x)
    return run


# --- aoti (AOTInductor package) ----------------------------------------------------------------------
def _emit_aoti(ctx: EmitContext, directory: Path) -> None:
    from genocompile.emit.aoti import compile_package

    compile_package(ctx.program, directory / "model.aoti.pt2")


def _load_aoti(directory: Path, manifest: dict, device: str):
    from genocompile.emit.aoti import load_package

    runner = load_package(directory / "model.aoti.pt2")
    built_on = manifest["device"]

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            x = x.to(built_on)
            if built_on.startswith("cuda"):
                x = x.contiguous(memory_format=torch.channels_last)
            return runner(x)
    return run


def _check_aoti(options) -> None:
    import shutil

    if options.device == "cpu" and not (shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")):
        raise TargetError("--target aoti --device cpu needs a C++ compiler (g++ or clang++) on PATH")


# --- onnx ----------------------------------------------------------------------------------------------
def _emit_onnx(ctx: EmitContext, directory: Path) -> None:
    (directory / "model.onnx").write_bytes(ctx.onnx_model().SerializeToString())


def _load_onnx(directory: Path, manifest: dict, device: str):
    from genocompile.emit.onnx import INPUT, session

    sess = session((directory / "model.onnx").read_bytes(), manifest["device"])

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(sess.run(None, {INPUT: x.detach().cpu().float().numpy()})[0])
    return run


def _check_onnx(options) -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxslim  # noqa: F401
    except ImportError as e:
        raise TargetError(f"--target onnx needs {e.name}: pip install 'genocompile[onnx]'") from None


# --- trt -----------------------------------------------------------------------------------------------
def _emit_trt(ctx: EmitContext, directory: Path) -> None:
    from genocompile.emit import trt
    from genocompile.emit.onnx import INPUT

    model = ctx.onnx_model(ctx.precision)  # fp16 / int8 live in the ONNX itself: the network is strongly typed
    trt.check_onnx(model, ctx.dynamic_batch)
    profile = trt.profile_shapes(INPUT, ctx.graph.input_shape, ctx.batch, ctx.dynamic_batch)
    plan = trt.build_engine(model.SerializeToString(), profile, trt.builder_settings(ctx.precision), ctx.timing_cache)
    trt.write_plan(directory / "model.plan", plan)


def _load_trt(directory: Path, manifest: dict, device: str):
    from genocompile.emit.trt import load_engine

    return load_engine(directory / "model.plan")


def _check_trt(options) -> None:
    from genocompile.emit import trt

    _check_onnx(options)
    trt.import_tensorrt()


register_target(Target("torch", ("model.pt2",), ("fp32", "fp16", "bf16"), _emit_torch, _load_torch,
                       doc="torch.export program (.pt2), loadable with torch.export.load"))
register_target(Target("aoti", ("model.aoti.pt2",), ("fp32", "fp16", "bf16"), _emit_aoti, _load_aoti, _check_aoti,
                       doc="AOTInductor package for one device, loadable with torch._inductor.aoti_load_package"))
register_target(Target("onnx", ("model.onnx",), ("fp32", "fp16", "int8"), _emit_onnx, _load_onnx, _check_onnx,
                       triton_platform="onnxruntime_onnx", doc="ONNX opset 17, checked, simplified by onnxslim"))
register_target(Target("trt", ("model.plan",), ("fp32", "fp16", "int8"), _emit_trt, _load_trt, _check_trt,
                       devices=("cuda",), triton_platform="tensorrt_plan",
                       doc="TensorRT engine built from genocompile's ONNX (strongly typed)"))
