"""benchmarks/decoder_search_cpu.py --quick runs end to end (tiny settings, nothing written, no timing asserted)."""
from benchmark_loader import load_benchmark


def test_decoder_search_benchmark_quick_run_reports_every_figure():
    body = load_benchmark("decoder_search_cpu").main(["--quick"])
    rows = [line for line in body.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 3  # one row per candidate
    for fragment in ("- Best layout", "nas-segm layout `[[", "parity rel err torch", "- Early stopping:",
                     "- KD teacher", "mIoU", "- Wall time:", "Versions:"):
        assert fragment in body
