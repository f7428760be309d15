"""On-device latency measurement: one warmed callable, timed until its median is stable.

How a run is timed:
- CPU: `time.perf_counter` around each call (the call returns when the output exists).
- GPU: a pair of CUDA events around each call, read after one synchronisation per window (so timing does
  not serialise the launches); with `cuda_graph=True` the call is captured once into a CUDA graph and each
  timed call is a graph replay (what a deployment that uses graphs runs: launch overhead gone).

The stability loop: calls are timed in windows (each long enough, ~`window_s`, to hold several calls);
after each window the median of that window is recorded. The run stops when the last `min_windows`
window medians agree within `tolerance` (relative spread (max - min) / median), or at `max_seconds`
(then `stable` is False and `spread` says how far off it was). The reported percentiles are over all timed
calls. Nothing is written anywhere: a killed measurement leaves no trace.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch


_clock = time.perf_counter  # one name, so tests can drive the loops with a fake clock


@dataclass(frozen=True)
class Measurement:
    median_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    throughput: float  # samples per second at the median (batch / median)
    spread: float  # relative spread of the last window medians: (max - min) / median
    stable: bool  # spread <= tolerance before the time cap
    runs: int
    windows: int
    batch: int
    device: str  # the device's name (CPU model and threads, or the GPU's name)
    threads: int
    versions: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # target, precision, clocks, cuda_graph ...

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def relative_spread(values: list[float]) -> float:
    mid = statistics.median(values)
    return (max(values) - min(values)) / mid if mid > 0 else 0.0


class _CpuTimer:
    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn

    def window(self, calls: int) -> list[float]:
        out = []
        for _ in range(calls):
            t = _clock()
            self.fn()
            out.append((_clock() - t) * 1e3)
        return out


class _CudaTimer:
    """CUDA events around each call (or each replay of a captured graph)."""

    def __init__(self, fn: Callable[[], Any], cuda_graph: bool):
        self.fn = fn
        if cuda_graph:
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):  # warm on a side stream before capture, as torch's docs require
                for _ in range(3):
                    fn()
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                fn()
            self.fn = graph.replay

    def window(self, calls: int) -> list[float]:
        pairs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(calls)]
        for start, end in pairs:
            start.record()
            self.fn()
            end.record()
        torch.cuda.synchronize()
        return [start.elapsed_time(end) for start, end in pairs]


def time_callable(fn: Callable[[torch.Tensor], Any], x: torch.Tensor, device: str = "cpu", *, batch: int | None = None,
                  warmup_s: float = 0.2, window_s: float = 0.1, min_windows: int = 3, tolerance: float = 0.03,
                  max_seconds: float = 10.0, min_runs: int = 10, cuda_graph: bool = False,
                  extra: dict[str, Any] | None = None) -> Measurement:
    """Warm `fn(x)` then time it until the median is stable (see the module docstring)."""
    from genocompile.env import device_name, library_versions

    cuda = device.startswith("cuda")
    call = lambda: fn(x)  # noqa: E731
    with torch.inference_mode():
        # Warm-up: first calls allocate, pick algorithms (oneDNN / cuDNN) and fill caches.
        end = _clock() + warmup_s
        warm = 0
        while warm < 3 or _clock() < end:
            call()
            warm += 1
        if cuda:
            torch.cuda.synchronize()
        timer = _CudaTimer(call, cuda_graph) if cuda else _CpuTimer(call)
        probe = timer.window(3)
        per_call = max(statistics.median(probe), 1e-3)
        calls = max(3, int(window_s * 1e3 / per_call))
        samples: list[float] = list(probe)
        medians: list[float] = []
        deadline = _clock() + max_seconds
        spread = float("inf")
        while True:
            window = timer.window(calls)
            samples += window
            medians.append(statistics.median(window))
            if len(medians) >= min_windows:
                spread = relative_spread(medians[-min_windows:])
                if spread <= tolerance and len(samples) >= min_runs:
                    break
            if _clock() > deadline:
                break
    median = statistics.median(samples)
    n = batch if batch is not None else int(x.shape[0])
    info = dict(extra or {})
    if cuda:
        info.update(cuda_graph=cuda_graph, **gpu_clocks(device))
    return Measurement(median_ms=median, p90_ms=_percentile(samples, 90), p99_ms=_percentile(samples, 99),
                       mean_ms=statistics.fmean(samples), min_ms=min(samples), throughput=n * 1e3 / median,
                       spread=spread if spread != float("inf") else relative_spread(medians or [median]),
                       stable=spread <= tolerance, runs=len(samples), windows=len(medians), batch=n,
                       device=device_name(device), threads=torch.get_num_threads(), versions=library_versions(),
                       extra=info)


def interleaved_ms(calls: list[Callable[[], Any]], device: str = "cpu", rounds: int = 20, per_round: int = 3,
                   warmup: int = 3) -> list[float]:
    """Median latency (ms) of each callable, timed round-robin: every round calls each one `per_round` times (the
    starting one rotating), keeps that round's median, and the result is the median over rounds. Comparisons
    between the callables then see the same machine noise (a shared CPU, clock changes), which timing them one
    after the other does not. GPU: CUDA events around each call, one synchronisation per round."""
    cuda = device.startswith("cuda")
    n = len(calls)
    rounds_of: list[list[float]] = [[] for _ in calls]
    with torch.inference_mode():
        for call in calls:
            for _ in range(warmup):
                call()
        for r in range(rounds):
            order = list(range(n))[r % max(n, 1):] + list(range(n))[:r % max(n, 1)]
            if cuda:
                torch.cuda.synchronize()
                events = {i: [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                              for _ in range(per_round)] for i in order}
                for i in order:
                    for start, end in events[i]:
                        start.record()
                        calls[i]()
                        end.record()
                torch.cuda.synchronize()
                for i in order:
                    rounds_of[i].append(statistics.median(s.elapsed_time(e) for s, e in events[i]))
                continue
            for i in order:
                times = []
                for _ in range(per_round):
                    t = _clock()
                    calls[i]()
                    times.append((_clock() - t) * 1e3)
                rounds_of[i].append(statistics.median(times))
    return [statistics.median(ts) for ts in rounds_of]


def gpu_clocks(device: str) -> dict[str, Any]:
    """SM / memory clocks (MHz) at measurement time, where NVML is available (else nothing)."""
    try:
        import pynvml  # optional: ships with nvidia-ml-py

        pynvml.nvmlInit()
        index = torch.device(device).index or 0
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        return {"sm_clock_mhz": pynvml.nvmlDeviceGetClockInfo(handle, pynvml.NVML_CLOCK_SM),
                "mem_clock_mhz": pynvml.nvmlDeviceGetClockInfo(handle, pynvml.NVML_CLOCK_MEM)}
    except Exception:  # no NVML: clocks are simply not recorded
        return {}


def bench_bundle(directory, target: str | None = None, device: str | None = None, **timing) -> Measurement:
    """Load one target of a bundle (checksums verified) and time it on the bundle's input shape."""
    from genocompile.runtime import load

    model = load(directory, target=target, device=device)
    shape = list(model.input_shape)
    shape[0] = shape[0] or 1  # a dynamic bundle: batch 1 unless the caller gives x
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    dev = device or model.manifest["device"]
    extra = {"target": model.target, "precision": model.manifest["precision"], "bundle": str(directory)}
    return time_callable(model, x.to(dev) if dev.startswith("cuda") else x, dev, extra=extra, **timing)


def bench_genotype(genotype, target: str = "torch", device: str = "cpu", batch: int = 1, precision: str = "fp32",
                   **timing) -> Measurement:
    """Build `genotype` into a temporary bundle (verified against the reference model), then time it."""
    import tempfile

    from genocompile.build import BuildOptions, build

    options = BuildOptions(targets=(target,), precision=precision, batch=batch, device=device, measure_latency=False)
    with tempfile.TemporaryDirectory(prefix="genocompile-bench-") as tmp:
        build(genotype, f"{tmp}/bundle", options)
        m = bench_bundle(f"{tmp}/bundle", target, device, **timing)
    m.extra.pop("bundle", None)  # a temporary directory, gone now
    return m
