"""Segmentation data: a generated shapes set (no download, deterministic from a seed) and Cityscapes.

Both yield `(image, label)`: the image as float32 (3, H, W) scaled to [-1, 1] (the TF NAS models'
preprocessing, 2 x / 255 - 1), the label as int64 (H, W) class indices, `IGNORE_INDEX` where unlabeled.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from genocompile.data.metrics import IGNORE_INDEX
from genocompile.errors import DataError

# --- generated shapes ------------------------------------------------------------------------------
SHAPE_CLASSES = ("background", "circle", "rectangle", "triangle")


def _grating(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, side: int) -> np.ndarray:
    """A random oriented sinusoid in [0, 1]: the texture under a region, so colour alone gives nothing away."""
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(0.08, 0.35) * side
    phase = rng.uniform(0, 2 * np.pi)
    return 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period + phase)


def _textured(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, side: int) -> np.ndarray:
    """(3, H, W) texture: a random colour modulated by a grating, in [0, 1]."""
    base = rng.uniform(0.1, 0.9, size=(3, 1, 1))
    contrast = rng.uniform(0.1, 0.35)
    return np.clip(base + contrast * (_grating(rng, yy, xx, side) - 0.5), 0, 1)


def _shape_mask(rng: np.random.Generator, kind: str, yy: np.ndarray, xx: np.ndarray, height: int,
                width: int) -> np.ndarray:
    side = min(height, width)
    radius = rng.uniform(0.12, 0.3) * side
    cy, cx = rng.uniform(radius, height - radius), rng.uniform(radius, width - radius)
    dy, dx = yy - cy, xx - cx
    if kind == "circle":
        return dy * dy + dx * dx <= radius * radius
    if kind == "rectangle":  # rotated, aspect ratio up to 2.5
        angle = rng.uniform(0, np.pi)
        half_w, half_h = radius, radius * rng.uniform(0.4, 1.0)
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = -dx * np.sin(angle) + dy * np.cos(angle)
        return (np.abs(u) <= half_w) & (np.abs(v) <= half_h)
    # triangle: three corners on the circle at well-separated angles, so it is never a sliver
    angles = rng.uniform(0, 2 * np.pi) + np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3]) + rng.uniform(-0.4, 0.4, 3)
    corners = np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], axis=1)
    sides = []
    for k in range(3):  # which side of each edge a pixel lies on; inside = the same side of all three
        (x0, y0), (x1, y1) = corners[k], corners[(k + 1) % 3]
        sides.append((x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0))
    sides = np.stack(sides)
    return (sides >= 0).all(axis=0) | (sides <= 0).all(axis=0)


class SyntheticShapes(Dataset):
    """Textured circles, rectangles and triangles on a textured background, with per-pixel labels.

    Item `i` depends only on (`seed`, `i`), so any subset, order or worker split gives the same data.
    Classes are `SHAPE_CLASSES[:num_classes]` (background plus up to three shape kinds); colours and
    textures are random per region, so a model has to learn shapes. Later shapes occlude earlier ones.
    """

    def __init__(self, count: int = 256, size: tuple[int, int] = (64, 64), num_classes: int = len(SHAPE_CLASSES),
                 max_shapes: int = 3, seed: int = 0):
        if not 2 <= num_classes <= len(SHAPE_CLASSES):
            raise DataError(f"synthetic shapes: num_classes must be 2..{len(SHAPE_CLASSES)} "
                            f"({', '.join(SHAPE_CLASSES)}), got {num_classes}")
        if count < 1 or max_shapes < 1 or len(size) != 2 or min(size) < 8:
            raise DataError(f"synthetic shapes: need count >= 1, max_shapes >= 1 and both sides of size >= 8, got "
                            f"count={count}, max_shapes={max_shapes}, size={list(size)}")
        self.count, self.size, self.num_classes = count, (int(size[0]), int(size[1])), num_classes
        self.max_shapes, self.seed = max_shapes, seed

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= index < self.count:
            raise IndexError(f"synthetic shapes: index {index} out of range 0..{self.count - 1}")
        rng = np.random.default_rng([self.seed, index])
        height, width = self.size
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5  # pixel centres
        side = min(height, width)
        image = _textured(rng, yy, xx, side)
        image += rng.normal(0, 0.03, size=image.shape)
        label = np.zeros((height, width), dtype=np.int64)
        for _ in range(rng.integers(1, self.max_shapes + 1)):
            cls = int(rng.integers(1, self.num_classes))
            mask = _shape_mask(rng, SHAPE_CLASSES[cls], yy, xx, height, width)
            image[:, mask] = _textured(rng, yy, xx, side)[:, mask]
            label[mask] = cls
        image = np.clip(image, 0, 1) * 2 - 1
        return torch.from_numpy(image.astype(np.float32)), torch.from_numpy(label)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All items stacked: images (N, 3, H, W) float32 and labels (N, H, W) int64."""
        images, labels = zip(*(self[i] for i in range(self.count)))
        return torch.stack(images), torch.stack(labels)


# --- Cityscapes ----------------------------------------------------------------------------------
# labelIds -> trainIds (cityscapesScripts `helpers/labels.py`): 19 evaluated classes, everything else ignored.
CITYSCAPES_CLASSES = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
                      "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle",
                      "bicycle")
_TRAIN_ID_OF = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13,
                27: 14, 28: 15, 31: 16, 32: 17, 33: 18}
LABEL_TO_TRAIN_ID = np.full(256, IGNORE_INDEX, dtype=np.uint8)
for _label_id, _train_id in _TRAIN_ID_OF.items():
    LABEL_TO_TRAIN_ID[_label_id] = _train_id
CITYSCAPES_SPLITS = ("train", "val", "test")
_IMAGE_SUFFIX, _LABEL_SUFFIX = "_leftImg8bit.png", "_gtFine_labelIds.png"
_LAYOUT = ("ROOT/leftImg8bit/SPLIT/CITY/*_leftImg8bit.png with ROOT/gtFine/SPLIT/CITY/*_gtFine_labelIds.png "
           "(unzip leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip from cityscapes-dataset.com into ROOT)")


def _read_png(path: Path) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise DataError("reading Cityscapes PNGs needs Pillow: pip install 'genocompile[search]'") from None
    try:
        with Image.open(path) as img:
            return np.asarray(img)
    except OSError as e:
        raise DataError(f"cannot read {path}: {e}") from None


class Cityscapes(Dataset):
    """Cityscapes fine annotations from a local copy in the standard layout, labels mapped to trainIds.

    `transform(image, label)` (optional) is applied to the tensors, e.g. a crop."""

    def __init__(self, root: str | Path, split: str = "train",
                 transform: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None):
        if split not in CITYSCAPES_SPLITS:
            raise DataError(f"Cityscapes: unknown split {split!r}; use one of {', '.join(CITYSCAPES_SPLITS)}")
        root = Path(root)
        images_dir, labels_dir = root / "leftImg8bit" / split, root / "gtFine" / split
        for folder in (images_dir, labels_dir):
            if not folder.is_dir():
                raise DataError(f"Cityscapes: no folder {folder}; expected the layout {_LAYOUT}")
        images = sorted(images_dir.glob(f"*/*{_IMAGE_SUFFIX}"))
        if not images:
            raise DataError(f"Cityscapes: no *{_IMAGE_SUFFIX} files in the city folders of {images_dir}; expected "
                            f"the layout {_LAYOUT}")
        self.samples = []
        for image in images:
            stem = image.name[:-len(_IMAGE_SUFFIX)]
            label = labels_dir / image.parent.name / f"{stem}{_LABEL_SUFFIX}"
            if not label.is_file():
                raise DataError(f"Cityscapes: {image} has no label {label}; expected the layout {_LAYOUT}")
            self.samples.append((image, label))
        self.split, self.transform = split, transform
        self.num_classes = len(CITYSCAPES_CLASSES)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, label_path = self.samples[index]
        image, label_ids = _read_png(image_path), _read_png(label_path)
        if image.ndim != 3 or image.shape[2] < 3:
            raise DataError(f"Cityscapes: {image_path} is not an RGB image (shape {list(image.shape)})")
        if label_ids.ndim != 2 or label_ids.dtype != np.uint8:
            raise DataError(f"Cityscapes: {label_path} is not a single-channel 8-bit labelIds image (shape "
                            f"{list(label_ids.shape)}, {label_ids.dtype}); give the *{_LABEL_SUFFIX} files")
        if label_ids.shape != image.shape[:2]:
            raise DataError(f"Cityscapes: {label_path} is {list(label_ids.shape)} but its image is "
                            f"{list(image.shape[:2])}")
        x = torch.from_numpy(np.ascontiguousarray(image[:, :, :3].transpose(2, 0, 1))).float() * (2 / 255) - 1
        y = torch.from_numpy(LABEL_TO_TRAIN_ID[label_ids].astype(np.int64))
        return self.transform(x, y) if self.transform else (x, y)
