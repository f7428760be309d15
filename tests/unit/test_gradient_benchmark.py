"""benchmarks/gradient_search_cpu.py runs (tiny network, nothing written, no timing asserted)."""
import torch

from benchmark_loader import load_benchmark


def _module():
    return load_benchmark("gradient_search_cpu")


def test_quick_run_times_every_contender_and_measures_memory():
    bench = _module()
    body = bench.main(["--quick", "--rounds", "1"])
    for name in bench.CONTENDERS:
        assert f"| {name} |" in body
    assert "| genocompile supernet | " in body and "autograd-saved MiB" in body


def test_the_peer_is_darts_and_computes_the_same_function():
    bench = _module()
    spec = bench.SupernetSpec(channels=4, layers=3, steps=2)
    naive = bench.build("naive", spec, False)
    assert sum(1 for m in naive.modules() if isinstance(m, bench.NaiveMixedOp)) == 3 * 5
    bench.check_same_function(spec, torch.randn(2, 3, 8, 8))
