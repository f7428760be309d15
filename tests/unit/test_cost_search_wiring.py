"""`genocompile search --max-latency-ms X --device cpu --latency-model LUT.json` screens with the predictor."""
import json

import pytest

from genocompile.cli.main import main
from genocompile.cost.latency import load_latency_model
from genocompile.genotype import load_genotype
from cost_factory import synthetic_lut
from search_helpers import TINY_EXTRA

TINY = [arg for key, value in TINY_EXTRA.items() for arg in ("--" + key.replace("_", "-"), value)]


def test_search_records_the_predicted_latency(tmp_path, capsys):
    synthetic_lut(tmp_path / "lut.json", network=None)  # the space's deploy network: darts-cifar defaults
    out = str(tmp_path / "s")
    code = main(["search", "--space", "darts-cifar", "--budget", "2", "--out", out, "--json", "--max-latency-ms",
                 "1e6", "--device", "cpu", "--latency-model", str(tmp_path / "lut.json"), *TINY])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    predictor = load_latency_model(tmp_path / "lut.json", "cpu")
    assert summary["best"]["costs"]["latency_ms"] == pytest.approx(predictor.predict_ms(load_genotype(out)))


def test_search_refuses_a_table_for_another_device(tmp_path, capsys):
    lut = synthetic_lut(tmp_path / "lut.json", network=None)
    lut.key["device"] = "NVIDIA H100 80GB HBM3"
    lut.save()
    code = main(["search", "--space", "darts-cifar", "--budget", "1", "--out", str(tmp_path / "s"),
                 "--max-latency-ms", "5", "--latency-model", str(tmp_path / "lut.json"), *TINY])
    assert code == 2 and "measured with device 'NVIDIA H100 80GB HBM3'" in capsys.readouterr().err
