"""The latency table file: atomic round trip, and one clear refusal for a malformed or foreign table."""
import json

import pytest

from genocompile.cost.lut import read_lut
from genocompile.cost.predictor import LatencyPredictor
from genocompile.errors import CostModelError
from cost_factory import synthetic_lut


def test_round_trip(tmp_path):
    lut = synthetic_lut(tmp_path / "lut.json")
    back = read_lut(tmp_path / "lut.json")
    assert back.entries == lut.entries and back.key == lut.key and back.network == lut.network
    assert back.complete and [p.name for p in tmp_path.iterdir()] == ["lut.json"]  # no temp file left


def _refused(path, *fragments):
    with pytest.raises(CostModelError) as info:
        LatencyPredictor.from_file(path, "cpu", target="torch", batch=1)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("edit,fragments", [
    (lambda d: d["key"].update(device="NVIDIA H100 80GB HBM3"),
     ("measured with device", "H100", "genocompile profile")),
    (lambda d: d["key"]["versions"].update(torch="1.0.0"), ("torch 1.0.0", "profile again")),
    (lambda d: d["key"].update(batch=64), ("measured with batch 64",)),
    (lambda d: d.update(complete=False), ("incomplete", "rerun")),
    (lambda d: d.pop("entries"), ("malformed",)),
    (lambda d: next(iter(d["entries"].values())).update(ms=-1), ("malformed",)),
    (lambda d: d.update(genocompile_lut=7), ("not a genocompile latency table",)),
])
def test_foreign_or_malformed_tables_are_refused(tmp_path, edit, fragments):
    synthetic_lut(tmp_path / "lut.json")
    data = json.loads((tmp_path / "lut.json").read_text())
    edit(data)
    (tmp_path / "lut.json").write_text(json.dumps(data))
    _refused(tmp_path / "lut.json", *fragments)


def test_not_json_and_missing(tmp_path):
    (tmp_path / "bad.json").write_text("{entries: ")
    _refused(tmp_path / "bad.json", "not valid JSON")
    _refused(tmp_path / "none.json", "does not exist")
