"""Image-classification data for the searchers: scikit-learn's bundled digits (the default: no download) and
CIFAR-10 from a local path (the standard python batches, `cifar-10-batches-py/data_batch_1..5`, `test_batch`).

Both give `ClassificationData`: float32 NCHW tensors normalised per channel, int64 labels, and a
deterministic train / validation split. Searchers resize the images to their proxy network's input size
themselves (`resized`), so one loader serves every skeleton.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genocompile.errors import DataError

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)  # quark0/darts utils._data_transforms_cifar10
CIFAR_STD = (0.2470, 0.2435, 0.2616)


@dataclass(frozen=True)
class ClassificationData:
    name: str
    train_x: torch.Tensor  # (N, 3, H, W) float32, normalised
    train_y: torch.Tensor  # (N,) int64
    valid_x: torch.Tensor
    valid_y: torch.Tensor
    num_classes: int

    @property
    def input_size(self) -> tuple[int, int]:
        return tuple(self.train_x.shape[-2:])  # type: ignore[return-value]

    def resized(self, size: tuple[int, int]) -> "ClassificationData":
        """The same images bilinearly resized to `size` (align_corners=False)."""
        if tuple(size) == self.input_size:
            return self

        def resize(x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)

        return ClassificationData(self.name, resize(self.train_x), self.train_y, resize(self.valid_x),
                                  self.valid_y, self.num_classes)

    def subset(self, train: int | None = None, valid: int | None = None) -> "ClassificationData":
        """The first `train` / `valid` examples (the split is already shuffled)."""
        return ClassificationData(self.name, self.train_x[:train], self.train_y[:train], self.valid_x[:valid],
                                  self.valid_y[:valid], self.num_classes)


def _split(name: str, x: np.ndarray, y: np.ndarray, valid_fraction: float, seed: int,
           num_classes: int) -> ClassificationData:
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = torch.from_numpy(np.ascontiguousarray(x[order])), torch.from_numpy(y[order].astype(np.int64))
    n_valid = int(round(len(x) * valid_fraction))
    return ClassificationData(name, x[n_valid:], y[n_valid:], x[:n_valid], y[:n_valid], num_classes)


def load_digits(valid_fraction: float = 0.25, seed: int = 0) -> ClassificationData:
    """scikit-learn's 1,797 8x8 handwritten digits as 3-channel images (grey replicated), zero mean, unit
    variance; a seeded shuffle then `valid_fraction` held out for validation."""
    from sklearn.datasets import load_digits as sk_digits

    digits = sk_digits()
    x = digits.images.astype(np.float32) / 16.0
    x = (x - x.mean()) / x.std()
    x = np.repeat(x[:, None], 3, axis=1)
    return _split("digits", x, digits.target, valid_fraction, seed, 10)


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")
    except FileNotFoundError:
        raise DataError(f"CIFAR-10: {path} is missing; point --data at the folder holding "
                        f"cifar-10-batches-py (data_batch_1..5, test_batch)") from None
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise DataError(f"CIFAR-10: {path} is not a CIFAR-10 python batch ({exc}); re-extract "
                        f"cifar-10-python.tar.gz") from None


def load_cifar10(root: str | Path, valid_fraction: float = 0.5, seed: int = 0,
                 use_test_batch: bool = False) -> ClassificationData:
    """CIFAR-10 from the standard python batches under `root` (or `root/cifar-10-batches-py`).

    As in DARTS' search, the 50,000 training images are split into halves (`valid_fraction`) for weights
    and validation; `use_test_batch` validates on `test_batch` instead (final evaluation)."""
    root = Path(root)
    if (root / "cifar-10-batches-py").is_dir():
        root = root / "cifar-10-batches-py"
    if not root.is_dir():
        raise DataError(f"CIFAR-10: no folder {root}; pass the folder holding cifar-10-batches-py")
    batches = [_unpickle(root / f"data_batch_{i}") for i in range(1, 6)]

    def arrays(parts: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        try:
            x = np.concatenate([np.asarray(p["data"], dtype=np.uint8).reshape(-1, 3, 32, 32) for p in parts])
            y = np.concatenate([np.asarray(p["labels"], dtype=np.int64) for p in parts])
        except (KeyError, ValueError) as exc:
            raise DataError(f"CIFAR-10 batch under {root} lacks 'data'/'labels' of 3x32x32 images ({exc})") from None
        mean = np.asarray(CIFAR_MEAN, np.float32)[:, None, None]
        std = np.asarray(CIFAR_STD, np.float32)[:, None, None]
        return ((x.astype(np.float32) / 255.0 - mean) / std).astype(np.float32), y

    x, y = arrays(batches)
    if not use_test_batch:
        return _split("cifar10", x, y, valid_fraction, seed, 10)
    vx, vy = arrays([_unpickle(root / "test_batch")])
    train = _split("cifar10", x, y, 0.0, seed, 10)
    return ClassificationData("cifar10", train.train_x, train.train_y, torch.from_numpy(vx), torch.from_numpy(vy), 10)


def load_classification(data: str | None, seed: int = 0) -> ClassificationData:
    """`None` or "digits" -> digits; anything else is a local CIFAR-10 path (the CLI's `--data`)."""
    if data in (None, "", "digits"):
        return load_digits(seed=seed)
    return load_cifar10(data, seed=seed)
