"""The benchmark scripts run (tiny networks, nothing written, no timing asserted) and check what they time."""
import pytest
import torch

from benchmark_loader import load_benchmark as _module


def test_compile_cpu_quick_run_times_every_contender_and_pass():
    body = _module("compile_cpu").main(["--quick", "--no-compile", "--rounds", "2"])
    for row in ("eager (reference)", "genocompile torch (fx)", "ORT, plain torch.onnx.export", "ORT, genocompile ONNX",
                "+ fold_bn", "+ fuse_conv_relu"):
        assert f"| {row} |" in body


def test_contenders_that_disagree_are_not_benchmarked():
    cpu = _module("compile_cpu")
    with pytest.raises(AssertionError, match="contenders disagree"):
        cpu.check_same_function({"a": lambda x: x, "b": lambda x: x + 1}, torch.ones(2))


def test_compile_gpu_skips_cleanly_without_cuda(capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: run the script itself")
    assert _module("compile_gpu").main(["--device", "cuda"]) == 0
    assert "skipped: needs --device cuda and a CUDA GPU" in capsys.readouterr().out


def test_rl_search_quick_run_reports_both_algorithms():
    body = _module("rl_search").main(["--quick"])
    assert "| reinforce | 16 |" in body and "| ppo | 16 |" in body
    assert "| ppo | 2 |" in body and "<= 250M" in body  # the constrained search row: feasible by fvcore
