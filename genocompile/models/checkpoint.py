"""Load trained weights (a DARTS-repo checkpoint or a plain state_dict) into a reference model.

Two optional model hooks let a family load its originals' checkpoints without a second loader:
`model.translate_state_dict(state)` renames keys written by the original code (e.g. DetNAS' position-named
layers), and `model.auxiliary_prefixes` names training-only modules a checkpoint may carry or lack.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from genocompile.errors import CheckpointError

# Keys a checkpoint may carry or lack without changing the inference function.
_OPTIONAL_PREFIXES = ("auxiliary_head.",)
_OPTIONAL_SUFFIXES = (".num_batches_tracked",)  # absent in checkpoints from PyTorch < 0.4.1


def _optional(key: str, prefixes: tuple[str, ...] = _OPTIONAL_PREFIXES) -> bool:
    return key.startswith(prefixes) or key.endswith(_OPTIONAL_SUFFIXES)


def read_state_dict(source: str | Path | Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """A state_dict from a file or mapping; unwraps {'state_dict': ...} and DataParallel's 'module.'."""
    if isinstance(source, Mapping):
        data: Any = source
    else:
        path = Path(source)
        if not path.is_file():
            raise CheckpointError(f"no checkpoint file at {path}; give the path of a saved state_dict (.pt)")
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # torch raises many types for a corrupt or foreign file
            raise CheckpointError(f"cannot read checkpoint {path}: {str(e).splitlines()[0]} "
                                  f"(expected a file written by torch.save(model.state_dict(), ...))") from None
    for wrapper in ("state_dict", "model"):
        if isinstance(data, Mapping) and wrapper in data and isinstance(data[wrapper], Mapping):
            data = data[wrapper]
    if not isinstance(data, Mapping) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError("checkpoint holds no state_dict (a mapping of parameter names to tensors)")
    if data and all(k.startswith("module.") for k in data):
        data = {k[len("module."):]: v for k, v in data.items()}
    return dict(data)


def load_weights(model: nn.Module, source: str | Path | Mapping[str, Any]) -> nn.Module:
    """Copy a checkpoint's tensors into `model`, refusing on the first key or shape that does not fit."""
    state = read_state_dict(source)
    if hasattr(model, "translate_state_dict"):
        state = model.translate_state_dict(state)
    optional = _OPTIONAL_PREFIXES + tuple(getattr(model, "auxiliary_prefixes", ()))
    expected = model.state_dict()
    for key, value in expected.items():
        if key not in state:
            if _optional(key, optional):
                continue
            raise CheckpointError(f"checkpoint does not fit this network: it lacks {key!r} {list(value.shape)}; "
                                  f"build with the genotype and network settings it was trained with")
        if tuple(state[key].shape) != tuple(value.shape):
            raise CheckpointError(f"checkpoint does not fit this network: {key!r} is {list(state[key].shape)} in the "
                                  f"checkpoint but {list(value.shape)} in the model; build with the genotype and "
                                  f"network settings it was trained with")
    for key in state:
        if key not in expected and not _optional(key, optional):
            raise CheckpointError(f"checkpoint does not fit this network: unexpected key {key!r}; build with the "
                                  f"genotype and network settings it was trained with")
    model.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=False)
    return model
