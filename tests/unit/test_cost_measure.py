"""Measurement: the stability loop stops on a stable median (or at its time cap), and bench reports the fields."""
import json
import pytest
import torch

from genocompile.cli.main import main
from genocompile.cost import measure
from genocompile.cost.measure import relative_spread, time_callable
from genocompile.genotype import to_json
from cost_factory import tiny_genotype


class FakeClock:
    """The measurement loops' clock, advanced only by the timed callables: exact, whatever the machine's load."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def work(self, ms):
        self.now += ms / 1e3


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(measure, "_clock", fake)
    return fake


def test_stable_callable_stops_once_window_medians_agree(clock):
    durations = iter([5.0] * 3 + [2.0, 2.2, 1.8] * 10_000)  # slow warm-up calls, then stable
    m = time_callable(lambda x: clock.work(next(durations)), torch.zeros(1), warmup_s=0.01, window_s=0.02,
                      min_windows=3, tolerance=0.05, max_seconds=5)
    assert m.stable and m.spread <= 0.05 and m.windows == 3
    assert m.median_ms == pytest.approx(2.0) and m.p90_ms == pytest.approx(2.2) and m.min_ms == pytest.approx(1.8)
    assert m.runs >= 3 + 3 * 9 and m.throughput == pytest.approx(500.0)
    assert m.threads == torch.get_num_threads() and "torch" in m.versions and m.device


def test_drifting_callable_stops_at_the_time_cap_unstable(clock):
    calls = [0]

    def slower(x):
        calls[0] += 1
        clock.work(1.0 + 0.05 * calls[0])  # every call slower: the window medians never agree
    m = time_callable(slower, torch.zeros(1), warmup_s=0.01, window_s=0.01, min_windows=3, tolerance=0.01,
                      max_seconds=0.5)
    assert not m.stable and m.spread > 0.01
    assert 0.5 <= clock.now < 0.6  # stopped at the cap (fake seconds)


def test_relative_spread():
    assert relative_spread([1.0, 1.1, 0.9]) == pytest.approx(0.2)


def test_bench_json_on_a_genotype(tmp_path, capsys):
    path = tmp_path / "g.json"
    path.write_text(to_json(tiny_genotype()))
    assert main(["bench", str(path), "--json", "--max-seconds", "1", "--tolerance", "0.5"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert 0 < report["median_ms"] <= report["p90_ms"] <= report["p99_ms"]
    assert report["batch"] == 1 and report["extra"]["target"] == "torch" and report["versions"]["torch"]
    assert list(tmp_path.iterdir()) == [path]  # the temporary bundle is gone


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (CUDA events, CUDA-graph replay)")
def test_cuda_events_and_graph_replay():
    conv = torch.nn.Conv2d(8, 8, 3, padding=1).cuda().eval()
    x = torch.randn(1, 8, 32, 32, device="cuda")
    plain = time_callable(conv, x, "cuda", max_seconds=2)
    graphed = time_callable(conv, x, "cuda", max_seconds=2, cuda_graph=True)
    assert plain.median_ms > 0 and graphed.median_ms > 0 and graphed.extra["cuda_graph"]


def test_interleaved_timing_takes_the_median_over_rounds(clock):
    from genocompile.cost.measure import interleaved_ms

    slow_rounds = iter([3.0, 3.0, 30.0, 30.0, 3.0, 3.0])  # one noisy round (two calls) of six calls
    fast, slow = interleaved_ms([lambda: clock.work(1.0), lambda: clock.work(next(slow_rounds, 3.0))], rounds=3,
                                per_round=2, warmup=0)
    assert (fast, slow) == (pytest.approx(1.0), pytest.approx(3.0))


def test_bench_a_bundle_directory(tmp_path, capsys):
    path = tmp_path / "g.json"
    path.write_text(to_json(tiny_genotype(2)))
    assert main(["build", str(path), "--target", "onnx", "--out", str(tmp_path / "bundle")]) == 0
    capsys.readouterr()
    assert main(["bench", str(tmp_path / "bundle"), "--json", "--max-seconds", "1", "--tolerance", "0.5"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["extra"]["target"] == "onnx" and report["extra"]["bundle"] == str(tmp_path / "bundle")
    assert 0 < report["median_ms"] <= report["p99_ms"]
