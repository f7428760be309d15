"""`genocompile build` and `inspect --json`'s multiadds_fused: the CLI contract (one error line, exit 2)."""
import json
import os
import subprocess
import sys

import pytest
import torch

from genocompile.cli.main import main
from genocompile.runtime import load, read_manifest
from model_helpers import inputs, rel_err

SMALL = ["--input-size", "16x16"]


def run(*args):
    env = {**os.environ, "GENOCOMPILE_DEBUG": ""}
    return subprocess.run([sys.executable, "-m", "genocompile", *args], capture_output=True, text=True, env=env)


def test_build_several_targets_from_one_checkpoint(tmp_path):
    from genocompile.genotype import to_json, zoo_genotype
    from genocompile.models import build_reference, load_weights
    from model_helpers import randomize_bn

    g = zoo_genotype("darts_v2").with_network(init_channels=8, layers=3, input_size=(16, 16))
    trained = randomize_bn(build_reference(g, seed=5), seed=5)
    ckpt = tmp_path / "ckpt.pth.tar"  # the DARTS repo's train_imagenet.py form
    torch.save({"epoch": 1, "state_dict": {f"module.{k}": v for k, v in trained.state_dict().items()}}, ckpt)
    # Build the network the checkpoint was trained with (a genotype file with its network settings).
    (tmp_path / "g.json").write_text(to_json(g))
    assert main(["build", str(tmp_path / "g.json"), "-t", "torch", "-t", "onnx", "--out", str(tmp_path / "b"),
                 "--weights", str(ckpt), "--dynamic-batch", "--batch", "4"]) == 0
    manifest = read_manifest(tmp_path / "b")
    assert manifest["weights"]["init"] == "checkpoint" and manifest["weights"]["file"] == "ckpt.pth.tar"
    reference = load_weights(build_reference(g, seed=0), ckpt)
    x = inputs(g, 3)
    for target in ("torch", "onnx"):
        assert rel_err(load(tmp_path / "b", target)(x), reference(x)) < 1e-4


@pytest.mark.parametrize("args,fragment", [
    (["-t", "tvm"], "unknown target 'tvm'; known: torch, aoti, onnx, trt"),
    (["-t", "trt", "--device", "cuda"], "install TensorRT (pip install genocompile[trt]) on a machine with an NVIDIA GPU"),
    (["-t", "torch", "--device", "cuda"], "--device cuda: torch sees no CUDA GPU here"),
    (["-t", "onnx", "--precision", "bf16"], "--target onnx does not support --precision bf16"),
    (["-t", "torch", "--precision", "fp8"], "unknown precision 'fp8'"),
    (["-t", "torch", "--batch", "0"], "--batch must be at least 1"),
    (["-t", "torch", "--weights", "missing.pt"], "no checkpoint file at missing.pt"),
])
def test_errors_are_one_line_with_exit_2(tmp_path, args, fragment, capsys, monkeypatch):
    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    monkeypatch.setenv("GENOCOMPILE_DEBUG", "")
    assert main(["build", "zoo:darts_v2", *SMALL, "--out", str(tmp_path / "b"), *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genocompile: error:") and fragment in lines[0], lines
    assert not (tmp_path / "b").exists()


def test_checkpoint_of_another_network_is_refused(tmp_path):
    from genocompile.genotype import zoo_genotype
    from genocompile.models import build_reference

    other = build_reference(zoo_genotype("nasnet").with_network(init_channels=8, layers=3)).state_dict()
    torch.save(other, tmp_path / "other.pt")
    result = run("build", "zoo:darts_v2", *SMALL, "-t", "onnx", "--out", str(tmp_path / "b"),
                 "--weights", str(tmp_path / "other.pt"))
    assert result.returncode == 2 and "checkpoint does not fit this network" in result.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "other.pt"]


def test_inspect_json_reports_fused_multiadds(capsys):
    assert main(["inspect", "zoo:darts_v2", "--skeleton", "darts-imagenet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # BN folded away: what is left is exactly the conv + linear count of the reference.
    assert report["multiadds_fused"] == 529_143_552 + 768_000 == report["multiadds"] - 8_279_040
