"""`genocompile search --max-latency-ms X --device cpu --latency-model LUT.json` screens with the predictor."""
import json

import pytest

from genocompile.cli.main import main
from genocompile.cost.predictor import LatencyPredictor
from genocompile.genotype import load_genotype
from genocompile.searchers.journal import Journal
from cost_factory import synthetic_lut
from search_helpers import TINY_EXTRA

TINY = [arg for key, value in TINY_EXTRA.items() for arg in ("--" + key.replace("_", "-"), value)]


def test_search_screens_by_predicted_latency_and_measures_the_winner(tmp_path, capsys):
    synthetic_lut(tmp_path / "lut.json", network=None)  # the space's deploy network: darts-cifar defaults
    out = str(tmp_path / "s")
    code = main(["search", "--space", "darts-cifar", "--budget", "2", "--out", out, "--json", "--max-latency-ms",
                 "1e6", "--device", "cpu", "--latency-model", str(tmp_path / "lut.json"), *TINY])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    predictor = LatencyPredictor.from_file(tmp_path / "lut.json", "cpu")
    with Journal(out, None) as journal:  # every candidate was screened by the prediction
        for row in journal.evaluated():
            assert row.costs["latency_ms"] == pytest.approx(predictor.predict_ms(row.load_genotype()))
    # ...and the winner was measured on this device, which has the final say.
    assert summary["best"]["costs"]["latency_measured"] == 1.0
    assert summary["measured"] == {"latency_ms": summary["best"]["costs"]["latency_ms"], "passed_over": []}
    assert summary["best"]["costs"]["latency_ms"] > 0


def test_search_refuses_a_table_for_another_device(tmp_path, capsys):
    lut = synthetic_lut(tmp_path / "lut.json", network=None)
    lut.key["device"] = "NVIDIA H100 80GB HBM3"
    lut.save()
    code = main(["search", "--space", "darts-cifar", "--budget", "1", "--out", str(tmp_path / "s"),
                 "--max-latency-ms", "5", "--latency-model", str(tmp_path / "lut.json"), *TINY])
    assert code == 2 and "measured with device 'NVIDIA H100 80GB HBM3'" in capsys.readouterr().err


def test_search_bounds_activation_memory(tmp_path, capsys):
    from genocompile.cost.memory import deploy_activation_bytes

    bound = 1_800_000  # darts-cifar cells need 1.77-1.97 MB at batch 1: the bound rejects some of them
    out = str(tmp_path / "s")
    code = main(["search", "--space", "darts-cifar", "--budget", "2", "--out", out, "--json",
                 "--max-activation-bytes", str(bound), *TINY])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["best"]["costs"]["activation_bytes"] <= bound
    assert deploy_activation_bytes(load_genotype(out)) <= bound  # an independent count of what was written


def test_latency_bound_without_a_table_is_one_clear_error(tmp_path, capsys):
    code = main(["search", "--space", "darts-cifar", "--budget", "1", "--out", str(tmp_path / "s"),
                 "--max-latency-ms", "5", *TINY])
    err = capsys.readouterr().err
    assert code == 2 and "--max-latency-ms needs --latency-model" in err and "genocompile profile" in err
    assert not (tmp_path / "s").exists()  # nothing half-written
