"""Bundles: manifest content, runtime.load for every CPU target, refusal of tampered or incomplete
bundles, input checks, the Triton repository, and atomic writes (failed, interrupted or killed builds)."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from genocompile import build as build_module
from genocompile.build import BuildOptions, VerificationError, build
from genocompile.errors import GenocompileError, ShapeError
from genocompile.genotype import genotype_hash, load_genotype, zoo_genotype
from genocompile.models import build_reference
from genocompile.runtime import BundleError, load, read_manifest
from model_helpers import inputs, rel_err, small


@pytest.fixture(scope="module")
def genotype():
    return small(zoo_genotype("darts_v2"), "darts-cifar")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, genotype):
    out = tmp_path_factory.mktemp("bundles") / "b"
    build(genotype, out, BuildOptions(targets=("torch", "onnx"), dynamic_batch=True, batch=4))
    return out


def test_manifest_records_what_design_asks(bundle, genotype):
    m = read_manifest(bundle)
    assert m["genotype_hash"] == genotype_hash(genotype) and m["genotype"]["name"] == "darts_v2"
    assert m["input"] == {"name": "input", "shape": [None, 3, 16, 16], "dtype": "float32", "max_batch": 4}
    assert m["precision"] == "fp32" and m["default_target"] == "torch"
    assert set(m["files"]) == {"genotype.json", "model.pt2", "model.onnx"}
    assert 0 < m["multiadds"]["fused"] < m["multiadds"]["reference"]
    assert m["params"] == sum(p.numel() for p in build_reference(genotype).parameters())
    assert "torch" in m["libraries"] and "onnxruntime" in m["libraries"]
    for target in ("torch", "onnx"):
        assert m["targets"][target]["parity"]["rel_err"] < 1e-4 and m["targets"][target]["latency_ms"]["median_of_5"] > 0
    assert load_genotype(str(bundle)) == genotype  # the bundle directory is a genotype source too


@pytest.mark.parametrize("target", ["torch", "onnx"])
def test_load_gives_one_callable_for_every_target(bundle, genotype, target):
    model = load(bundle, target)
    ref = build_reference(genotype, seed=0)  # what the build used: seed 0, no --weights
    for n in (1, 4):
        x = inputs(genotype, n)
        assert rel_err(model(x), ref(x)) < 1e-4
    y = model(inputs(genotype, 2).numpy())
    assert isinstance(y, np.ndarray) and y.shape == (2, 10)


@pytest.mark.parametrize("bad,message", [
    (torch.zeros(2, 3, 32, 32), "input shape 2x3x32x32: this bundle takes Nx3x16x16"),
    (torch.zeros(3, 16, 16), "input shape 3x16x16"),
    (torch.zeros(2, 3, 16, 16, dtype=torch.float64), "input dtype float64: this bundle takes float32"),
    (torch.zeros(5, 3, 16, 16), "input batch 5: this bundle takes batches 1..4"),
    ([[1.0]], "must be a torch.Tensor or numpy array"),
])
def test_input_is_checked_with_a_clear_shape_error(bundle, bad, message):
    with pytest.raises(ShapeError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load(bundle)(bad)


def _copy(bundle, tmp_path):
    import shutil

    dst = tmp_path / "copy"
    shutil.copytree(bundle, dst)
    return dst


@pytest.mark.parametrize("name", ["manifest.json", "genotype.json", "model.pt2", "model.onnx"])
def test_a_flipped_byte_in_any_file_is_refused(bundle, tmp_path, name):
    for where in (0.1, 0.5, 0.9):  # early, middle and late in the file
        copy = _copy(bundle, tmp_path / str(where))
        data = bytearray((copy / name).read_bytes())
        data[int(len(data) * where)] ^= 0x01
        (copy / name).write_bytes(bytes(data))
        with pytest.raises(BundleError, match="rebuild"):
            load(copy)


@pytest.mark.parametrize("name", ["manifest.json", "genotype.json", "model.pt2", "model.onnx"])
def test_an_incomplete_bundle_is_refused(bundle, tmp_path, name):
    copy = _copy(bundle, tmp_path)
    (copy / name).unlink()
    with pytest.raises(BundleError):
        load(copy)


def test_unknown_target_in_bundle(bundle):
    with pytest.raises(BundleError, match="has no 'trt' artifact; it has: onnx, torch"):
        load(bundle, "trt")


def test_triton_repository_config(tmp_path, genotype):
    repo = tmp_path / "repo"
    build(genotype, tmp_path / "dyn", BuildOptions(targets=("onnx", "torch"), dynamic_batch=True, batch=16,
                                                    triton_repo=repo, measure_latency=False))
    assert sorted(p.name for p in repo.iterdir()) == ["darts_v2_onnx"]  # torch .pt2 is not a Triton platform
    config = (repo / "darts_v2_onnx" / "config.pbtxt").read_text()
    assert 'platform: "onnxruntime_onnx"' in config and "max_batch_size: 16" in config
    assert 'name: "input" data_type: TYPE_FP32 dims: [ 3, 16, 16 ]' in config
    assert 'name: "logits" data_type: TYPE_FP32 dims: [ 10 ]' in config and "dynamic_batching" in config
    assert (repo / "darts_v2_onnx" / "1" / "model.onnx").read_bytes() == (tmp_path / "dyn" / "model.onnx").read_bytes()
    build(genotype, tmp_path / "static", BuildOptions(targets=("onnx",), batch=2, triton_repo=repo,
                                                       measure_latency=False))
    config = (repo / "darts_v2_onnx" / "config.pbtxt").read_text()  # replaced by the static build
    assert "max_batch_size: 0" in config and "dims: [ 2, 3, 16, 16 ]" in config and "dynamic_batching" not in config
    from genocompile.runtime.triton import config_pbtxt

    manifest = read_manifest(tmp_path / "static")
    assert 'platform: "tensorrt_plan"' in config_pbtxt("m", "tensorrt_plan", {**manifest, "device": "cuda"})


def test_failed_verification_writes_nothing(tmp_path, genotype, monkeypatch):
    monkeypatch.setitem(build_module.TOLERANCES, "fp32", 0.0)
    out = tmp_path / "never"
    with pytest.raises(VerificationError, match=r"--target torch \(fp32\) disagrees with the reference model: "
                                                r"relative error .* > tolerance 0; no bundle written"):
        build(genotype, out, BuildOptions(targets=("torch",), measure_latency=False))
    assert list(tmp_path.iterdir()) == []


def test_rebuild_replaces_a_bundle_and_refuses_a_foreign_directory(tmp_path, genotype):
    out = tmp_path / "b"
    build(genotype, out, BuildOptions(targets=("onnx",), measure_latency=False))
    build(genotype, out, BuildOptions(targets=("torch",), measure_latency=False))
    assert set(read_manifest(out)["targets"]) == {"torch"} and not (out / "model.onnx").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["b"]
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(GenocompileError, match="exists and is not a genocompile bundle"):
        build(genotype, foreign, BuildOptions(targets=("onnx",)))


BUILD_SCRIPT = """
import sys
from genocompile.build import BuildOptions, build
from genocompile.genotype import zoo_genotype
g = zoo_genotype("pnasnet").with_network("darts-imagenet", init_channels=16, layers=5)
build(g, sys.argv[1], BuildOptions(targets=("torch", "onnx"), batch=2))
"""


def _start_build(out):
    return subprocess.Popen([sys.executable, "-c", BUILD_SCRIPT, str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _wait_for_temp(out, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        temps = list(out.parent.glob(f".{out.name}.building-*"))
        if temps and any(temps[0].iterdir()):  # the build has started writing artifacts
            return temps
        assert proc.poll() is None, "build ended before it wrote anything"
        time.sleep(0.05)
    raise AssertionError("build never started writing")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_build_leaves_no_bundle(tmp_path, genotype, sig):
    out = tmp_path / "b"
    proc = _start_build(out)
    try:
        _wait_for_temp(out, proc)
        os.kill(proc.pid, sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not out.exists()
    leftovers = list(tmp_path.iterdir())
    if sig == signal.SIGTERM:
        assert leftovers == []  # cleaned up on the way out
    else:  # SIGKILL cannot be caught: the hidden temp stays until the next build of `out` removes it
        assert [p.name for p in leftovers] == [f".b.building-{proc.pid}"]
        build(genotype, out, BuildOptions(targets=("onnx",), measure_latency=False))
        assert [p.name for p in tmp_path.iterdir()] == ["b"]
