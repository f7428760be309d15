"""CPU latency of genocompile's artifacts against their peers, measured in one interleaved run.

    python benchmarks/compile_cpu.py              # DARTS_V2 darts-imagenet bs 1 and darts-cifar bs 32 -> RESULTS.md
    python benchmarks/compile_cpu.py --quick      # a tiny network, nothing written (a smoke run)

Contenders, all computing the same function with the same weights (BN statistics randomised):
eager PyTorch on the reference model; genocompile's fused torch module (fx GraphModule, channels_last
weights, as the build targets use it); torch.compile of
the reference model (inductor, default mode); ONNX Runtime on a plain `torch.onnx.export` of the reference
model (TorchScript exporter, `dynamo=False`, opset 17: constant folding and its eval-mode Conv+BN fusion
included); ONNX Runtime on genocompile's ONNX. ORT runs at its default optimisation level (all) with the
same thread count as torch. Each round calls every contender once, in turn (round-robin, the starting
contender rotating each round), so machine noise hits all of them alike; we report medians and ratios of
medians. Worker threads sleep instead of spinning when idle (OpenMP's passive wait policy, ORT's
allow_spinning=0): a spinning pool would steal the cores from whichever contender runs next. A second table measures each pass's
effect: the graph after each prefix of the pipeline, emitted to torch and ONNX and timed the same way.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads its OpenMP runtime
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from results import update_section, versions_line  # noqa: E402

from genocompile.emit.onnx import session, simplify, to_onnx  # noqa: E402
from genocompile.emit.torch import to_module  # noqa: E402
from genocompile.genotype import zoo_genotype  # noqa: E402
from genocompile.ir import lower  # noqa: E402
from genocompile.passes import DEFAULT_PIPELINE, PASSES, optimize  # noqa: E402
from genocompile.models import build_reference  # noqa: E402

Runner = Callable[[torch.Tensor], object]


def randomize_bn(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            c = bn.num_features
            bn.running_mean.copy_(torch.rand(c, generator=gen) - 0.5)
            bn.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            bn.weight.copy_(torch.rand(c, generator=gen) + 0.5)
            bn.bias.copy_(torch.rand(c, generator=gen) - 0.5)
    return model


def ort_runner(model_bytes: bytes) -> Runner:
    sess = session(model_bytes, "cpu", threads=torch.get_num_threads(), spin=False)
    return lambda x: sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]


def torch_runner(module: torch.nn.Module) -> Runner:
    def run(x):
        with torch.inference_mode():
            return module(x)
    return run


def plain_onnx_export(model: torch.nn.Module, x: torch.Tensor) -> bytes:
    f = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, (x,), f, dynamo=False, opset_version=17, input_names=["input"],
                          output_names=["logits"])
    return f.getvalue()


def interleaved(runners: dict[str, Runner], x: torch.Tensor, rounds: int, warmup: int = 3) -> dict[str, float]:
    """Median milliseconds per contender; every round calls each contender once, in turn."""
    for _ in range(warmup):
        for run in runners.values():
            run(x)
    times: dict[str, list[float]] = {name: [] for name in runners}
    order = list(runners.items())
    for r in range(rounds):
        for name, run in order[r % len(order):] + order[:r % len(order)]:
            t = time.perf_counter()
            run(x)
            times[name].append((time.perf_counter() - t) * 1e3)
    return {name: statistics.median(ts) for name, ts in times.items()}


def check_same_function(runners: dict[str, Runner], x: torch.Tensor) -> float:
    """Largest rel err of any contender against the first (the eager reference): a benchmark of wrong code is void."""
    outs = {name: torch.as_tensor(run(x)) for name, run in runners.items()}
    ref = next(iter(outs.values()))
    worst = max(((o - ref).abs().max() / ref.abs().max()).item() for o in outs.values())
    if worst > 1e-3:
        raise AssertionError(f"contenders disagree (rel err {worst:.2g}); not benchmarking")
    return worst


def contenders(genotype, batch: int, use_compile: bool) -> tuple[dict[str, Runner], torch.Tensor, dict]:
    model = randomize_bn(build_reference(genotype, seed=0))
    x = torch.randn(batch, 3, *genotype.network.input_size, generator=torch.Generator().manual_seed(1))
    lowered = lower(genotype, model.state_dict())
    graph = optimize(lowered)
    runners: dict[str, Runner] = {"eager (reference)": torch_runner(model),
                                  "genocompile torch (fx)": torch_runner(to_module(graph, channels_last=True))}
    if use_compile:
        compiled = torch.compile(model)
        runners["torch.compile (reference)"] = torch_runner(compiled)
    plain = plain_onnx_export(model, x)
    ours = simplify(to_onnx(graph, batch=batch)).SerializeToString()
    runners["ORT, plain torch.onnx.export"] = ort_runner(plain)
    runners["ORT, genocompile ONNX"] = ort_runner(ours)
    info = {"nodes": (len(lowered.nodes), len(graph.nodes))}
    return runners, x, info


def pass_effects(genotype, batch: int, rounds: int) -> list[tuple[str, int, float, float]]:
    """(step, nodes, fused torch ms, ORT ms) after each prefix of the default pipeline."""
    model = randomize_bn(build_reference(genotype, seed=0))
    x = torch.randn(batch, 3, *genotype.network.input_size, generator=torch.Generator().manual_seed(1))
    graph = lower(genotype, model.state_dict())
    graphs = [("lowered (no pass)", graph)]
    for name in DEFAULT_PIPELINE:
        graph = PASSES[name](graph)
        graphs.append((f"+ {name}", graph))
    runners = {}
    for label, g in graphs:
        runners[f"{label}|torch"] = torch_runner(to_module(g, channels_last=True))
        runners[f"{label}|ort"] = ort_runner(to_onnx(g, batch=batch).SerializeToString())
    check_same_function({"ref": torch_runner(model), **runners}, x)
    ms = interleaved(runners, x, rounds)
    return [(label, len(g.nodes), ms[f"{label}|torch"], ms[f"{label}|ort"]) for label, g in graphs]


def table(title: str, ms: dict[str, float]) -> str:
    eager = ms["eager (reference)"]
    plain = ms["ORT, plain torch.onnx.export"]
    rows = [f"**{title}**", "", "| contender | median ms | speed-up vs eager | speed-up vs plain ORT |",
            "|---|---:|---:|---:|"]
    for name, value in ms.items():
        rows.append(f"| {name} | {value:.2f} | {eager / value:.2f}x | {plain / value:.2f}x |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny network, few rounds, nothing written")
    parser.add_argument("--no-compile", action="store_true", help="leave torch.compile out (it compiles for minutes)")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    g = zoo_genotype("darts_v2")
    if args.quick:
        configs = [("darts-imagenet", 1, g.with_network("darts-imagenet", init_channels=8, layers=2), 5),
                   ("darts-cifar", 4, g.with_network("darts-cifar", init_channels=8, layers=3, input_size=(16, 16)), 5)]
    else:
        configs = [("darts-imagenet", 1, g.with_network("darts-imagenet"), args.rounds or 40),
                   ("darts-cifar", 32, g.with_network("darts-cifar"), args.rounds or 12)]
    sections = []
    for skeleton, batch, genotype, rounds in configs:
        runners, x, info = contenders(genotype, batch, use_compile=not args.no_compile)
        err = check_same_function(runners, x)
        ms = interleaved(runners, x, rounds)
        title = (f"DARTS_V2 {skeleton} ({genotype.network.init_channels} channels, {genotype.network.layers} cells, "
                 f"{'x'.join(map(str, genotype.network.input_size))}), batch {batch}, median of {rounds} interleaved "
                 f"rounds; graph {info['nodes'][0]} -> {info['nodes'][1]} nodes; contenders agree to rel err {err:.1e}")
        sections.append(table(title, ms))
        print(sections[-1] + "\n", flush=True)
    skeleton, batch, genotype, rounds = configs[0]
    effects = pass_effects(genotype, batch, rounds)
    rows = [f"**Effect of each pass** (DARTS_V2 {skeleton}, batch {batch}: the graph after each prefix of the "
            "pipeline, emitted unchanged otherwise)", "",
            "| after | nodes | fused torch ms | ORT ms |", "|---|---:|---:|---:|"]
    rows += [f"| {label} | {nodes} | {t:.2f} | {o:.2f} |" for label, nodes, t, o in effects]
    sections.append("\n".join(rows))
    print(sections[-1], flush=True)
    sections.append(
        "Reading the ORT rows: ONNX Runtime's own optimizer (level all) already performs what our passes do on "
        "the plain export - common-subexpression elimination merges the duplicate ReLUs and pools, Conv+BN folding, "
        "Conv+ReLU and Conv+Add fusion into NCHWc kernels - and convolutions are ~88% of its time (ORT profiler), "
        "so a cleaner graph buys a few percent there, not the 1.25x goal. The torch rows gain for real: eager "
        "PyTorch runs every BN, ReLU and identity as its own kernel, and the fused module stores its conv weights "
        "channels_last (oneDNN's fast path).")
    body = "\n\n".join(sections)
    if not args.quick:
        update_section("compile_cpu", f"## Compiled artifacts on the CPU (`benchmarks/compile_cpu.py`)\n\n{body}\n\n"
                                      f"Threads: torch {torch.get_num_threads()}, ORT the same. {versions_line()}")
    return body


if __name__ == "__main__":
    main()
