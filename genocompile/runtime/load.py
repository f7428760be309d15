"""`load(DIR)`: a bundle, checked, as one callable whatever its target.

The checksums of the manifest and of every file it lists are verified before anything is deserialised
(a tampered or incomplete bundle is refused with `BundleError`), and every call checks the input against
the manifest's input spec (`ShapeError` names the expected shape and dtype).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from genocompile.errors import ShapeError
from genocompile.runtime.manifest import BundleError, read_manifest


class CompiledModel:
    """A loaded artifact: `model(x)` with x float32 (N, C, H, W), a torch tensor or numpy array; returns
    the logits in the same kind (numpy in -> numpy out)."""

    def __init__(self, directory: Path, manifest: dict[str, Any], target: str,
                 fn: Callable[[torch.Tensor], torch.Tensor]):
        self.directory, self.manifest, self.target, self._fn = directory, manifest, target, fn
        spec = manifest["input"]
        self.input_shape: tuple = tuple(spec["shape"])  # batch is None when dynamic
        self.max_batch: int = spec["max_batch"]

    def check_input(self, x: Any) -> None:
        expected = "x".join("N" if d is None else str(d) for d in self.input_shape)
        if not isinstance(x, (torch.Tensor, np.ndarray)):
            raise ShapeError(f"input must be a torch.Tensor or numpy array of shape {expected} float32, got "
                             f"{type(x).__name__}")
        dtype = str(x.dtype).replace("torch.", "")
        if dtype != "float32":
            raise ShapeError(f"input dtype {dtype}: this bundle takes float32 (precision "
                             f"{self.manifest['precision']} is applied inside the model)")
        shape = tuple(x.shape)
        fixed = self.input_shape[1:]
        if len(shape) != len(self.input_shape) or shape[1:] != fixed:
            raise ShapeError(f"input shape {'x'.join(map(str, shape))}: this bundle takes {expected}")
        batch = self.input_shape[0]
        if batch is not None and shape[0] != batch:
            raise ShapeError(f"input batch {shape[0]}: this bundle was built for batch {batch} exactly "
                             f"(rebuild with --batch {shape[0]} or --dynamic-batch)")
        if batch is None and not 1 <= shape[0] <= self.max_batch:
            raise ShapeError(f"input batch {shape[0]}: this bundle takes batches 1..{self.max_batch} "
                             f"(rebuild with a larger --batch)")

    def __call__(self, x):
        self.check_input(x)
        as_numpy = isinstance(x, np.ndarray)
        out = self._fn(torch.from_numpy(x) if as_numpy else x)
        return out.detach().cpu().numpy() if as_numpy else out

    def __repr__(self) -> str:
        return (f"CompiledModel({self.manifest['genotype'].get('name')!r}, target={self.target!r}, "
                f"precision={self.manifest['precision']!r}, input={self.input_shape})")


def load(directory: str | Path, target: str | None = None, device: str | None = None) -> CompiledModel:
    """Load one target of a bundle (default: the first `--target` of the build) after verifying every checksum."""
    from genocompile.emit.targets import get_target

    directory = Path(directory)
    manifest = read_manifest(directory)
    built = list(manifest["targets"])
    target = target or manifest.get("default_target", built[0])
    if target not in built:
        raise BundleError(f"bundle {directory} has no {target!r} artifact; it has: {', '.join(built)}")
    fn = get_target(target).load(directory, manifest, device or manifest["device"])
    return CompiledModel(directory, manifest, target, fn)
