"""GPU latency of genocompile's artifacts against their peers (written for the H100 machine).

    python benchmarks/compile_gpu.py --device cuda            # fp32 and fp16, batch 1 and 64 -> RESULTS.md
    python benchmarks/compile_gpu.py --device cuda --quick    # a tiny network, nothing written

Without a CUDA GPU it prints why and exits 0. On the GPU machine, onnxruntime's CUDA provider comes from
`pip install --no-deps onnxruntime-gpu==1.31.1` (shared/GPU.md); without it the ORT rows are left out and
the table says so; TensorRT rows appear only where `tensorrt` imports.

Contenders (DARTS_V2 darts-imagenet, 224x224, same weights; fp16 = weights and activations in half,
channels_last): eager reference; reference replayed as a CUDA graph; genocompile's fused fx module, eager
and as a CUDA graph; torch.compile(mode="reduce-overhead") of the reference and of the fused module;
ORT CUDA on a plain torch.onnx.export and on genocompile's ONNX, both through IO binding with ORT's CUDA
graph; TensorRT built from genocompile's ONNX. Each contender owns a pre-allocated input on the GPU;
a call is timed host-side between two `torch.cuda.synchronize()`, round-robin over contenders, median.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).parent))
from compile_cpu import plain_onnx_export, randomize_bn  # noqa: E402
from results import update_section, versions_line  # noqa: E402

from genocompile.emit.onnx import simplify, to_onnx  # noqa: E402
from genocompile.emit.torch import to_module  # noqa: E402
from genocompile.genotype import zoo_genotype  # noqa: E402
from genocompile.ir import lower  # noqa: E402
from genocompile.models import build_reference  # noqa: E402
from genocompile.passes import optimize  # noqa: E402

Call = Callable[[], torch.Tensor]
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


def cuda_graph(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> Call:
    """Capture fn(x) once (after warm-up on a side stream) and replay it."""
    static_x = x.clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side), torch.inference_mode():
        for _ in range(3):
            fn(static_x)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.inference_mode():
        static_y = fn(static_x)

    def replay():
        graph.replay()
        return static_y
    return replay


def eager(fn, x: torch.Tensor) -> Call:
    def run():
        with torch.inference_mode():
            return fn(x)
    return run


def ort_cuda(model_bytes: bytes, x: torch.Tensor, out_shape, out_dtype) -> Call | None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return None
    sess = ort.InferenceSession(model_bytes, providers=[("CUDAExecutionProvider", {"enable_cuda_graph": "1"})])
    y = torch.empty(out_shape, device="cuda", dtype=out_dtype)
    binding = sess.io_binding()
    np_type = {torch.float32: "float32", torch.float16: "float16"}
    import numpy as np

    binding.bind_input(sess.get_inputs()[0].name, "cuda", 0, np.dtype(np_type[x.dtype]), tuple(x.shape), x.data_ptr())
    binding.bind_output(sess.get_outputs()[0].name, "cuda", 0, np.dtype(np_type[out_dtype]), tuple(y.shape),
                        y.data_ptr())

    def run():
        sess.run_with_iobinding(binding)
        return y
    return run


def tensorrt_call(graph, precision: str, batch: int, x: torch.Tensor) -> Call | None:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return None
    from genocompile.emit import trt
    from genocompile.emit.onnx import INPUT

    model = simplify(to_onnx(graph, batch, precision))
    plan = trt.build_engine(model.SerializeToString(), trt.profile_shapes(INPUT, graph.input_shape, batch, False),
                            trt.builder_settings(precision))
    engine = trt.TensorRTModule(plan)
    return lambda: engine(x)


def contenders(genotype, precision: str, batch: int) -> tuple[dict[str, Call], list[str]]:
    dtype = DTYPES[precision]
    cl = torch.channels_last
    model = randomize_bn(build_reference(genotype, seed=0))
    graph = optimize(lower(genotype, model.state_dict()))
    x32 = torch.randn(batch, 3, *genotype.network.input_size, generator=torch.Generator().manual_seed(1)).cuda()
    ref = model.cuda().to(dtype)
    if precision != "fp32":
        ref = ref.to(memory_format=cl)
    x_ref = x32.to(dtype).contiguous(memory_format=cl) if precision != "fp32" else x32
    fused = to_module(graph, dtype, "cuda", channels_last=True)
    x_fused = x32.contiguous(memory_format=cl)  # the fused module takes float32 and casts inside
    calls: dict[str, Call] = {
        "eager (reference)": eager(ref, x_ref),
        "reference, CUDA graph": cuda_graph(ref, x_ref),
        "genocompile torch (fx)": eager(fused, x_fused),
        "genocompile torch, CUDA graph": cuda_graph(fused, x_fused),
        "torch.compile reduce-overhead (reference)": eager(torch.compile(ref, mode="reduce-overhead"), x_ref),
        "torch.compile reduce-overhead (genocompile)": eager(torch.compile(fused, mode="reduce-overhead"), x_fused),
    }
    missing = []
    n_classes = genotype.network.num_classes
    plain = ort_cuda(plain_onnx_export(ref, x_ref), x_ref.contiguous(), (batch, n_classes), dtype)
    ours = ort_cuda(simplify(to_onnx(graph, batch, precision)).SerializeToString(), x32, (batch, n_classes),
                    torch.float32)
    if plain is None:
        missing.append("ORT CUDA (onnxruntime-gpu not installed)")
    else:
        calls["ORT CUDA + graph, plain torch.onnx.export"] = plain
        calls["ORT CUDA + graph, genocompile ONNX"] = ours
    trt_call = tensorrt_call(graph, precision, batch, x32)
    if trt_call is None:
        missing.append("TensorRT (not installed)")
    else:
        calls["TensorRT (genocompile ONNX)"] = trt_call
    return calls, missing


def interleaved(calls: dict[str, Call], rounds: int, warmup: int = 10) -> dict[str, float]:
    for _ in range(warmup):
        for call in calls.values():
            call()
    torch.cuda.synchronize()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            torch.cuda.synchronize()
            t = time.perf_counter()
            call()
            torch.cuda.synchronize()
            times[name].append((time.perf_counter() - t) * 1e3)
    return {name: statistics.median(ts) for name, ts in times.items()}


def check_same_function(calls: dict[str, Call], tolerance: float) -> float:
    outs = {name: call().float().cpu() for name, call in calls.items()}
    ref = outs["eager (reference)"]
    worst = max(((o - ref).abs().max() / ref.abs().max()).item() for o in outs.values())
    if worst > tolerance:
        raise AssertionError(f"contenders disagree (rel err {worst:.2g} > {tolerance}); not benchmarking")
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny network, few rounds, nothing written")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)
    if not args.device.startswith("cuda") or not torch.cuda.is_available():
        print("compile_gpu: skipped: needs --device cuda and a CUDA GPU visible to torch (none here)")
        return 0
    g = zoo_genotype("darts_v2").with_network("darts-imagenet")
    if args.quick:
        g = g.with_network(init_channels=8, layers=2)
    rounds = 10 if args.quick else args.rounds
    sections = []
    for precision in ("fp32", "fp16"):
        for batch in (1, 64):
            calls, missing = contenders(g, precision, batch)
            err = check_same_function(calls, 1e-4 if precision == "fp32" else 1e-2)
            ms = interleaved(calls, rounds)
            eager_ms = ms["eager (reference)"]
            rows = [f"**{precision}, batch {batch}** (median of {rounds} interleaved rounds; contenders agree to rel "
                    f"err {err:.1e}{'; not measured: ' + ', '.join(missing) if missing else ''})", "",
                    "| contender | median ms | speed-up vs eager |", "|---|---:|---:|"]
            rows += [f"| {name} | {value:.2f} | {eager_ms / value:.2f}x |" for name, value in ms.items()]
            sections.append("\n".join(rows))
            print(sections[-1] + "\n", flush=True)
    if not args.quick:
        update_section("compile_gpu", "## Compiled artifacts on the GPU (`benchmarks/compile_gpu.py`)\n\nDARTS_V2 "
                                      "darts-imagenet 224x224.\n\n" + "\n\n".join(sections) + f"\n\n{versions_line('cuda')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
