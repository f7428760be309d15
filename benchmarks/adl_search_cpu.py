"""Auto-DeepLab hierarchical gradient search on the generated shapes set, CPU-sized, with a kill -9 midway.

    python benchmarks/adl_search_cpu.py            # the CPU-sized search -> RESULTS.md section adl_search_cpu
    python benchmarks/adl_search_cpu.py --quick    # a tiny search, nothing written (a smoke run)

What runs: `genocompile search --searcher gradient --space autodeeplab` (the library call) with α and β,
first order, in a fresh process that is killed with SIGKILL once its second epoch is saved; then the same
search is rerun in this process to the full budget (it resumes from DIR). Reported: validation mIoU per
epoch, the decoded path and cell, the resume figures (epochs saved at the kill, resumed, evaluated), the
decoded deploy network's MultiAdds from the searcher's tables against a fresh fvcore count of the whole
network, and the expectation under the final (soft) α and β. Times are wall clock on a shared, noisy CPU.
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from results import update_section, versions_line  # noqa: E402

# Deploy: the skeleton's F=20 and 19 classes at 256x256. α/β learning rate 0.01 (the paper: 3e-3 over 20
# epochs of arch updates) so that α and β move within a CPU-sized budget.
SEARCH = {"filter_multiplier": 4, "layers": 4, "input_size": 32, "batch_size": 8, "train_samples": 128,
          "eval_samples": 32, "arch_lr": 0.01, "deploy_input_size": 256}
QUICK = {"filter_multiplier": 2, "layers": 3, "input_size": 32, "batch_size": 4, "steps_per_epoch": 1,
         "train_samples": 8, "eval_samples": 4, "deploy_filter_multiplier": 4, "deploy_input_size": 64}
KILL_SCRIPT = """
import sys
from genocompile.searchers.gradient import run
from genocompile.searchers.registry import SearchOptions
run(SearchOptions(space="autodeeplab", out_dir=sys.argv[1], budget=int(sys.argv[2]), extra={extra!r}))
"""


def killed_run(out: Path, budget: int, extra: dict, after_epochs: int) -> int:
    """Run the search in a fresh process, SIGKILL it once `after_epochs` epochs are saved; epochs saved."""
    from genocompile.searchers.gradient import checkpoint

    script = out.with_suffix(".py")
    script.write_text(KILL_SCRIPT.format(extra=extra))
    proc = subprocess.Popen([sys.executable, str(script), str(out), str(budget)], env={**os.environ})
    deadline = time.time() + 1800
    while time.time() < deadline and proc.poll() is None:
        state = out / checkpoint.STATE_NAME
        if state.exists() and checkpoint.load_state(out)["epochs"] >= after_epochs:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return checkpoint.load_state(out)["epochs"]


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny search, nothing written")
    p.add_argument("--budget", type=int, default=None, help="epochs (default 10; --quick: 3)")
    args = p.parse_args(argv)
    import torch

    from genocompile.cost.counting import count_multiadds
    from genocompile.genotype import load_genotype
    from genocompile.models import build_reference
    from genocompile.searchers.gradient import run
    from genocompile.searchers.registry import SearchOptions

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    extra = QUICK if args.quick else SEARCH
    budget = args.budget or (3 if args.quick else 10)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "search"
        start = time.perf_counter()
        saved = killed_run(out, budget, extra, after_epochs=1 if args.quick else 2)
        killed_s = time.perf_counter() - start
        start = time.perf_counter()
        summary = run(SearchOptions(space="autodeeplab", out_dir=out, budget=budget, extra=extra))
        resumed_s = time.perf_counter() - start
        genotype = load_genotype(out / "genotype.json")
    from genocompile.searchers.gradient.hierarchical_search import arch_entropy
    from genocompile.searchers.gradient.hierarchical_supernet import HierarchicalSpec, HierarchicalSuperNet

    uniform = HierarchicalSuperNet(HierarchicalSpec(filter_multiplier=1, layers=extra["layers"], blocks=1))
    with torch.no_grad():
        uniform.beta.zero_()
    uniform_beta = arch_entropy(uniform)["beta_entropy"]
    shape = (1, 3, *genotype.network.input_size)
    counted = count_multiadds(build_reference(genotype, seed=0), shape).total
    tables = summary.best["costs"]["multiadds"]
    miou = ", ".join(f"{m:.3f}" for m in summary.extra["miou_per_epoch"])
    net = genotype.network
    body = "\n".join([
        "## Auto-DeepLab hierarchical search on CPU (`benchmarks/adl_search_cpu.py`)",
        "",
        f"Search: supernet F={extra['filter_multiplier']}, L={extra['layers']}, B=5, "
        f"{extra['input_size']}x{extra['input_size']} SyntheticShapes ({extra['train_samples']} training images "
        f"split for weights and α/β, {extra['eval_samples']} validation), batch {extra['batch_size']}, first order, "
        f"α/β lr {extra.get('arch_lr', 3e-3)}, "
        f"{budget} epochs. Deploy network: autodeeplab F={net.filter_multiplier}, {net.num_classes} classes, "
        f"{net.input_size[0]}x{net.input_size[1]}, L={genotype.layers} (the searched path length).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| validation mIoU per epoch | {miou} |",
        f"| decoded path (rates) | {list(genotype.path)} |",
        f"| decoded cell | {[list(e) for e in genotype.cell]} |",
        f"| killed with SIGKILL after | {saved} saved epochs ({killed_s:.0f} s) |",
        f"| rerun: evaluated / resumed | {summary.evaluated} / {summary.resumed} ({resumed_s:.0f} s) |",
        f"| deploy MultiAdds, searcher's tables | {tables / 1e9:.4f} G |",
        f"| deploy MultiAdds, fresh fvcore count | {counted / 1e9:.4f} G (equal: {tables == counted}) |",
        f"| expected MultiAdds under the final soft α, β | "
        f"{summary.extra['expected_costs']['multiadds'] / 1e9:.4f} G |",
        f"| α / β mean entropy at the end (uniform: {math.log(8):.4f} / {uniform_beta:.4f}) | "
        f"{summary.extra['alpha_entropy']:.4f} / {summary.extra['beta_entropy']:.4f} |",
        "",
        "Times are wall clock on a shared CPU (noisy); they include process start and the cost tables.",
        versions_line("cpu"),
    ])
    print(body)
    if not args.quick:
        update_section("adl_search_cpu", body)
    return body


if __name__ == "__main__":
    main()
