"""The device and library versions a measurement or artifact was made with (recorded beside every number)."""
from __future__ import annotations

import platform
from importlib import metadata

_LIBRARIES = ("torch", "numpy", "fvcore", "onnx", "onnxruntime", "onnxruntime-gpu", "onnxslim", "tensorrt", "triton")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that decide numerics or speed (absent ones omitted)."""
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    from genocompile import __version__

    out["genocompile"] = __version__
    return out


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: str = "cpu") -> str:
    """A human-readable device name: the GPU's name for cuda, the CPU model and thread count for cpu."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"{cpu_name()} ({torch.get_num_threads()} threads)"
