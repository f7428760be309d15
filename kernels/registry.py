"""Which fast kernel runs a fused pattern on a device and dtype; None means: use the plain torch path.

A kernel module registers `(pattern, device) -> KernelEntry` at import. `find_kernel` only answers where
the kernel can actually run: Triton importable and, for "cuda", a CUDA device present, or Triton's CPU
interpreter switched on (`TRITON_INTERPRET=1`, how CI checks the kernels without a GPU).
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch


def _any_attrs(attrs: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class KernelEntry:
    pattern: str  # an IR kind such as "dwpw_conv", or a named pattern such as "add_into"
    device: str  # "cuda" (the interpreter runs the same kernel on CPU tensors)
    dtypes: tuple[torch.dtype, ...]
    run: Callable
    reference: Callable  # the torch function it must equal
    doc: str
    # Whether the kernel computes a node with these IR attributes (e.g. its fused activation): a pass may put
    # attributes on a pattern that the kernel does not implement, and then the torch path must run it.
    supports: Callable[[Mapping[str, Any]], bool] = _any_attrs


KERNELS: dict[tuple[str, str], KernelEntry] = {}


def register_kernel(entry: KernelEntry) -> KernelEntry:
    key = (entry.pattern, entry.device)
    if key in KERNELS:
        raise RuntimeError(f"kernel for {key} registered twice")
    KERNELS[key] = entry
    return entry


def triton_available() -> bool:
    return importlib.util.find_spec("triton") is not None


def interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET") == "1"


def find_kernel(pattern: str, device: str | torch.device, dtype: torch.dtype,
                attrs: Mapping[str, Any] | None = None) -> KernelEntry | None:
    """The registered kernel for `pattern` on `device` in `dtype` (and for a node with `attrs`), if it can run
    here; else None."""
    device = torch.device(device).type
    if not triton_available() or (device == "cuda" and not torch.cuda.is_available()):
        return None
    if device == "cpu" and not interpreting():
        return None
    _load_kernels()
    entry = KERNELS.get((pattern, "cuda"))
    if entry is None or dtype not in entry.dtypes or not entry.supports(attrs or {}):
        return None
    return entry


def _load_kernels() -> None:
    # Imported lazily: triton is an optional dependency, and importing it costs a second.
    from genocompile.kernels import add_into, dwpw  # noqa: F401
