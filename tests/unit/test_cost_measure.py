"""Measurement: the stability loop stops on a stable median (or at its time cap), and bench reports the fields."""
import json
import time

import pytest
import torch

from genocompile.cli.main import main
from genocompile.cost.measure import relative_spread, time_callable
from genocompile.genotype import to_json
from cost_factory import tiny_genotype


def _sleep(ms):
    end = time.perf_counter() + ms / 1e3
    while time.perf_counter() < end:  # busy wait: sleep() granularity would dominate
        pass


def test_stable_callable_stops_once_window_medians_agree():
    m = time_callable(lambda x: _sleep(2.0), torch.zeros(1), warmup_s=0.01, window_s=0.02, min_windows=3,
                      tolerance=0.2, max_seconds=5)
    assert m.stable and m.spread <= 0.2 and m.windows >= 3
    assert 1.9 <= m.median_ms <= m.p90_ms <= m.p99_ms
    assert m.runs >= 3 * 3 and m.throughput == pytest.approx(1e3 / m.median_ms)
    assert m.threads == torch.get_num_threads() and "torch" in m.versions and m.device


def test_drifting_callable_stops_at_the_time_cap_unstable():
    calls = [0]

    def slower(x):
        calls[0] += 1
        _sleep(0.2 + 0.02 * calls[0])  # every call slower: the median never settles
    start = time.perf_counter()
    m = time_callable(slower, torch.zeros(1), warmup_s=0.01, window_s=0.01, min_windows=3, tolerance=0.01,
                      max_seconds=0.5)
    assert not m.stable and m.spread > 0.01
    assert time.perf_counter() - start < 3


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
