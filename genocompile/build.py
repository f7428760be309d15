"""`genocompile build`: genotype (+ weights) -> verified artifacts in an atomically written bundle.

    reference model (seed or checkpoint) -> lower -> optimize -> per target: emit, load back, compare
    -> genotype.json + manifest.json -> rename into place

Every artifact is loaded back the way `genocompile.runtime.load` will load it and compared with the
reference model on random inputs; a relative error (`rel_err` = max|out - ref| / max|ref|) above the
precision's tolerance refuses the whole build. The bundle is assembled in a hidden directory beside the
target and renamed into place only when everything passed: a failed, interrupted (SIGINT/SIGTERM) or
killed build leaves no bundle, and a later build removes what a killed one left behind.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from genocompile.errors import GenocompileError

# rel_err = max|out - ref| / max|ref| over the verification batches. fp32: same arithmetic up to
# reassociation (BN folding, fused kernels). fp16 / bf16: 10 / 7 mantissa bits through ~20-40 layers; int8:
# Q/DQ on every conv input and weight, calibrated on random batches. The bounds hold with margin over the zoo
# with randomised BN statistics (tests/parity measures fp16 ~1e-3, bf16 ~1e-2, int8 ~3e-3 at most).
TOLERANCES = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 5e-2, "int8": 1e-1}
PRECISIONS = tuple(TOLERANCES)
DEFAULT_DYNAMIC_MAX_BATCH = 64


class VerificationError(GenocompileError):
    """An artifact that does not compute the reference model's function within tolerance."""


@dataclass(frozen=True)
class BuildOptions:
    targets: Sequence[str] = ("torch",)
    precision: str = "fp32"
    batch: int | None = None  # static batch (default 1), or the largest batch with dynamic_batch (default 64)
    dynamic_batch: bool = False
    device: str = "cpu"
    seed: int = 0
    weights: str | Path | None = None
    triton_repo: str | Path | None = None
    verify_samples: int = 2  # random input batches per artifact
    measure_latency: bool = True

    @property
    def max_batch(self) -> int:
        return self.batch or (DEFAULT_DYNAMIC_MAX_BATCH if self.dynamic_batch else 1)


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    """max|out - ref| / max|ref| (max|out - ref| when ref is all zeros)."""
    diff = (out.detach().cpu().double() - ref.detach().cpu().double()).abs().max().item()
    scale = ref.detach().cpu().double().abs().max().item()
    return diff / scale if scale > 0 else diff


def check_options(options: BuildOptions) -> None:
    """Refuse, before any work, options that cannot build here (one line naming the fix)."""
    from genocompile.emit.targets import get_target

    if not options.targets:
        raise GenocompileError("give at least one --target (torch, aoti, onnx, trt)")
    if options.precision not in PRECISIONS:
        raise GenocompileError(f"unknown precision {options.precision!r}; known: {', '.join(PRECISIONS)}")
    if options.batch is not None and options.batch < 1:
        raise GenocompileError(f"--batch must be at least 1, got {options.batch}")
    if options.device not in ("cpu", "cuda") and not options.device.startswith("cuda:"):
        raise GenocompileError(f"unknown device {options.device!r}; use cpu or cuda")
    for name in options.targets:
        target = get_target(name)
        target.check(options)  # first: a missing library is the first thing to fix
        if options.precision not in target.precisions:
            raise GenocompileError(f"--target {name} does not support --precision {options.precision}; "
                                   f"it supports {', '.join(target.precisions)}")
        if options.device.split(":")[0] not in target.devices:
            raise GenocompileError(f"--target {name} does not run on --device {options.device}; use "
                                   f"--device {target.devices[0]}")
    if options.device.startswith("cuda") and not torch.cuda.is_available():
        raise GenocompileError("--device cuda: torch sees no CUDA GPU here; build with --device cpu, or on a "
                               "machine with an NVIDIA GPU and a CUDA build of torch")


# --- atomic bundle directory --------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(out: Path) -> None:
    """Remove what killed builds of `out` left beside it (their process is gone)."""
    for p in out.parent.glob(f".{out.name}.building-*"):
        try:
            pid = int(p.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "manifest.json").is_file())):
        raise GenocompileError(f"--out {out} exists and is not a genocompile bundle; choose a new directory "
                               f"(an existing bundle there is replaced)")


@contextlib.contextmanager
def _terminate_as_interrupt():
    """SIGTERM raises KeyboardInterrupt in the main thread, so `finally` blocks clean up like on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _publish(tmp: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


# --- the build ----------------------------------------------------------------------------------------
def reference_model(genotype, options: BuildOptions) -> torch.nn.Module:
    from genocompile.models import build_reference, load_weights

    model = build_reference(genotype, seed=options.seed)
    if options.weights is not None:
        model = load_weights(model, options.weights)
    return model.eval()


def _verification_batches(options: BuildOptions, input_shape, seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed + 1)
    if options.dynamic_batch:
        sizes = [1, min(3, options.max_batch)][:max(options.verify_samples, 1)]
    else:
        sizes = [options.max_batch] * max(options.verify_samples, 1)
    return [torch.randn((n, *input_shape), generator=gen) for n in sizes]


def _latency_ms(fn, x: torch.Tensor, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t) * 1e3)
    return round(statistics.median(times), 3)


def build(genotype, out: str | Path, options: BuildOptions,
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build every target of `options` for `genotype` into the bundle directory `out`; return its manifest."""
    from genocompile.cost import count_multiadds, reference_costs
    from genocompile.emit.targets import EmitContext, get_target
    from genocompile.env import library_versions
    from genocompile.genotype import genotype_hash, to_json
    from genocompile.ir import lower
    from genocompile.passes import optimize, pipeline_for
    from genocompile.runtime.load import load
    from genocompile.runtime.manifest import write_manifest

    step = progress or (lambda message: None)
    check_options(options)
    out = Path(out).resolve()
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(out)
    tmp = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        with _terminate_as_interrupt():
            step("reference model")
            reference = reference_model(genotype, options)
            step("lower and optimize")
            targets = [get_target(t) for t in dict.fromkeys(options.targets)]
            kernels = set.intersection(*(set(t.fused_kernels) for t in targets))
            steps = pipeline_for(kernels)
            lowered = lower(genotype, reference.state_dict())
            graph = optimize(lowered, steps)
            input_shape = graph.input_shape
            calibration = [torch.randn((4, *input_shape), generator=torch.Generator().manual_seed(options.seed + 2))
                           for _ in range(2)] if options.precision == "int8" else []
            ctx = EmitContext(graph, options.precision, options.max_batch, options.dynamic_batch, options.device,
                              timing_cache=out.parent / f"{out.name}.trt-timing.cache", name=genotype.name,
                              calibration=calibration)
            batches = _verification_batches(options, input_shape, options.seed)
            with torch.no_grad():
                references = [reference(x) for x in batches]
            (tmp / "genotype.json").write_text(to_json(genotype))
            n = options.max_batch
            manifest: dict[str, Any] = {
                "genocompile": library_versions()["genocompile"],
                "genotype": genotype.to_dict(), "genotype_hash": genotype_hash(genotype),
                "input": {"name": "input", "shape": [None if options.dynamic_batch else n, *input_shape],
                          "dtype": "float32", "max_batch": n},
                "output": {"name": "logits", "shape": [None if options.dynamic_batch else n,
                                                       *graph.node(graph.outputs[0]).shape], "dtype": "float32"},
                "precision": options.precision, "device": options.device, "tolerance": TOLERANCES[options.precision],
                "weights": _weights_origin(options),
                "passes": list(steps), "nodes": {"lowered": len(lowered.nodes), "optimized": len(graph.nodes)},
                "libraries": library_versions(), "targets": {}, "default_target": targets[0].name,
            }
            for target in targets:
                step(f"emit {target.name}")
                target.emit(ctx, tmp)
                step(f"verify {target.name}")
                # Verified through a provisional manifest, exactly as runtime.load will read the bundle.
                write_manifest(tmp, {**manifest, "targets": {target.name: {"files": list(target.files)}}})
                model = load(tmp, target.name)
                errors = [rel_err(model(x), ref) for x, ref in zip(batches, references)]
                worst = max(errors)
                if not worst < TOLERANCES[options.precision]:
                    raise VerificationError(
                        f"--target {target.name} ({options.precision}) disagrees with the reference model: relative "
                        f"error {worst:.3g} > tolerance {TOLERANCES[options.precision]:g}; no bundle written")
                entry: dict[str, Any] = {"files": list(target.files),
                                         "parity": {"rel_err": worst, "tolerance": TOLERANCES[options.precision],
                                                    "batches": [list(x.shape) for x in batches]}}
                if options.measure_latency:
                    entry["latency_ms"] = {"batch": batches[0].shape[0], "median_of_5": _latency_ms(model, batches[0]),
                                           "device": options.device}
                manifest["targets"][target.name] = entry
            step("costs")
            costs = reference_costs(genotype)
            manifest["params"] = costs.params  # training-only heads (the model's auxiliary_prefixes) excluded
            manifest["multiadds"] = {"reference": costs.multiadds,  # fvcore, batch 1, as `inspect` reports
                                     "fused": count_multiadds(_fp32_module(graph), (1, *input_shape)).total}
            (tmp / "manifest.json").unlink(missing_ok=True)
            write_manifest(tmp, manifest)
            step("publish")
            _publish(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    from genocompile.runtime.manifest import read_manifest

    final = read_manifest(out)
    if options.triton_repo:
        from genocompile.runtime.triton import write_triton_repo

        step("triton repository")
        write_triton_repo(Path(options.triton_repo), out, final)
    return final


def _fp32_module(graph):
    from genocompile.emit.torch import to_module

    return to_module(graph)


def _weights_origin(options: BuildOptions) -> dict[str, Any]:
    if options.weights is None:
        return {"init": "seed", "seed": options.seed}
    from genocompile.runtime.manifest import sha256_file

    path = Path(options.weights)
    return {"init": "checkpoint", "file": path.name, "sha256": sha256_file(path)}
