"""The latency-accuracy benchmark runs end to end on a tiny network (nothing written, no accuracy asserted)."""
import pytest

from benchmark_loader import BENCH, load_benchmark


def _module():
    return load_benchmark("latency_accuracy")


def test_quick_run_reports_the_predictor_and_its_peers():
    results = (BENCH / "RESULTS.md").read_text()
    body = _module().main(["--quick"])
    for row in ("calibrated predictor", "table sum, uncalibrated", "MultiAdds, linear fit"):
        assert f"| {row}" in body
    assert "tested on 6 unseen ones" in body
    assert (BENCH / "RESULTS.md").read_text() == results  # --quick writes nothing


def test_rank_and_tolerance_measures():
    m = _module()
    assert m.kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert m.kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0
    assert m.within([1.0, 1.2, 2.0], [1.0, 1.0, 1.0], 0.15) == pytest.approx(1 / 3)


def test_gpu_run_skips_cleanly_without_cuda(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: run the script itself")
    assert _module().main(["--device", "cuda"]) == ""
    assert "skipped: needs --device cuda" in capsys.readouterr().out
