"""A Triton Inference Server model repository from a bundle: one model per servable target.

    REPO/<name>_onnx/config.pbtxt + 1/model.onnx   (platform "onnxruntime_onnx")
    REPO/<name>_trt/config.pbtxt  + 1/model.plan   (platform "tensorrt_plan")

A dynamic-batch bundle gets `max_batch_size` = its largest batch, per-sample `dims` and `dynamic_batching`;
a static one gets `max_batch_size: 0` and full dims (batch included), as Triton requires for models whose
batch dimension is fixed. Each model directory is written beside its final place and renamed in.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from genocompile.emit.targets import get_target
from genocompile.errors import GenocompileError


def _dims(values) -> str:
    return "[ " + ", ".join(str(v) for v in values) + " ]"


def config_pbtxt(model_name: str, platform: str, manifest: dict) -> str:
    spec, out = manifest["input"], manifest["output"]
    dynamic = spec["shape"][0] is None
    in_dims = spec["shape"][1:] if dynamic else spec["shape"]
    out_dims = out["shape"][1:] if dynamic else out["shape"]
    gpu = manifest["device"].startswith("cuda")
    lines = [
        f'name: "{model_name}"',
        f'platform: "{platform}"',
        f"max_batch_size: {spec['max_batch'] if dynamic else 0}",
        "input [",
        f'  {{ name: "{spec["name"]}" data_type: TYPE_FP32 dims: {_dims(in_dims)} }}',
        "]",
        "output [",
        f'  {{ name: "{out["name"]}" data_type: TYPE_FP32 dims: {_dims(out_dims)} }}',
        "]",
        f"instance_group [ {{ kind: {'KIND_GPU' if gpu else 'KIND_CPU'} count: 1 }} ]",
    ]
    if dynamic:
        lines.append("dynamic_batching { max_queue_delay_microseconds: 100 }")
    return "\n".join(lines) + "\n"


def write_triton_repo(repo: Path, bundle: Path, manifest: dict) -> list[Path]:
    repo = Path(repo)
    name = manifest["genotype"].get("name", "model")
    written = []
    for target_name in manifest["targets"]:
        target = get_target(target_name)
        if target.triton_platform is None:
            continue
        model = f"{name}_{target_name}"
        final = repo / model
        tmp = repo / f".{model}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "1").mkdir(parents=True)
        for f in target.files:
            shutil.copy2(bundle / f, tmp / "1" / f)
        (tmp / "config.pbtxt").write_text(config_pbtxt(model, target.triton_platform, manifest))
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        written.append(final)
    if not written:
        raise GenocompileError("--triton-repo needs an onnx or trt target in the build (Triton serves those); "
                               "add --target onnx")
    return written
