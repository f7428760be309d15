"""The profiler times every block of the space into the table, and a SIGKILLed profile resumes where it stopped."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import genocompile.cost.profile as profile_module
from genocompile.cost.lut import read_lut
from genocompile.cost.predictor import LatencyPredictor
from genocompile.cost.profile import get_space, space_blocks
from cost_factory import FAST, TINY, tiny_genotype

TESTS = Path(__file__).parents[1]
CHILD = f"""
import sys; sys.path.insert(0, {str(TESTS)!r})
from cost_factory import FAST, TINY
from genocompile.cost.profile import profile
profile("darts-cifar", sys.argv[1], network=TINY, calibrate=2, block_timing=dict(FAST, rounds=40),
        network_timing=FAST)
"""


def test_profile_survives_sigkill_and_resumes(tmp_path, monkeypatch):
    out = tmp_path / "lut.json"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out)], env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 60
    while time.time() < deadline:
        if out.exists() and len(json.loads(out.read_text())["entries"]) >= 3:
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    killed = read_lut(out)  # the file is whole: every write was atomic
    assert 3 <= len(killed.entries) and not killed.complete
    total = len(space_blocks(get_space("darts-cifar"), TINY))
    assert len(killed.entries) < total, "the profile finished before it was killed; nothing to resume"
    timed = []
    real = profile_module.time_blocks
    monkeypatch.setattr(profile_module, "time_blocks",
                        lambda blocks, *a, **k: timed.extend(b.key for b in blocks) or real(blocks, *a, **k))
    lut = profile_module.profile("darts-cifar", out, network=TINY, calibrate=2, block_timing=FAST,
                                 network_timing=FAST)
    assert len(timed) == total - len(killed.entries) and not set(timed) & set(killed.entries)
    assert all(lut.entries[k] == e for k, e in killed.entries.items())  # kept, not re-timed
    assert lut.complete and len(lut.entries) == total and lut.calibration["n"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["lut.json"]
    # the finished table predicts a tiny network (no timing is asserted: the machine is shared)
    assert LatencyPredictor.from_file(out).predict_ms(tiny_genotype(7)) > 0


def test_profile_cli_writes_a_complete_calibrated_table(tmp_path, capsys):
    from genocompile.cli.main import main

    out = tmp_path / "lut.json"
    args = ["profile", "--space", "darts-cifar", "--layers", "3", "--init-channels", "4", "--input-size", "8",
            "--calibrate", "2", "--out", str(out)]
    assert main(args) == 0
    lut = read_lut(out)
    assert lut.complete and lut.calibration["n"] == 2 and lut.key["target"] == "torch" and lut.key["batch"] == 1
    assert len(lut.entries) == len(space_blocks(get_space("darts-cifar"), TINY | {"input_size": [8, 8]}))
    capsys.readouterr()
    args[args.index("--layers") + 1] = "4"
    assert main(args) == 2  # the table at --out is for another network
    assert "holds a table for darts-cifar" in capsys.readouterr().err.splitlines()[-1]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (blocks timed with CUDA events)")
def test_profile_on_the_gpu(tmp_path):
    lut = profile_module.profile("darts-cifar", tmp_path / "gpu.json", device="cuda", network=TINY, calibrate=2,
                                 block_timing=FAST, network_timing=FAST)
    assert lut.key["device"] == torch.cuda.get_device_name()
    assert LatencyPredictor.from_file(tmp_path / "gpu.json", "cuda").predict_ms(tiny_genotype(3)) > 0
