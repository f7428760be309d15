"""Segmentation metrics from a confusion matrix: per-class IoU, mean IoU, frequency-weighted IoU, pixel accuracy.

Conventions (those of the Cityscapes and DeepLab evaluations): pixels whose label is the ignore index
count nowhere; IoU_c = TP / (TP + FP + FN); a class that appears in neither labels nor predictions has
no IoU (NaN) and is left out of the mean, so mIoU averages over the classes that occur.
"""
from __future__ import annotations

import torch

from genocompile.errors import DataError, ShapeError

IGNORE_INDEX = 255


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int,
                     ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """(num_classes, num_classes) int64 counts, rows = label, columns = prediction.

    `pred` holds class indices of `target`'s shape, or scores with one more (class) dimension at 1."""
    if pred.dim() == target.dim() + 1 and pred.shape[:1] + pred.shape[2:] == target.shape:
        pred = pred.argmax(dim=1)  # scores (N, C, ...)
    if pred.shape != target.shape:
        raise ShapeError(f"prediction {list(pred.shape)} and labels {list(target.shape)} differ in shape; give class "
                         f"indices of the labels' shape, or scores (N, C, ...)")
    keep = target != ignore_index
    pred, target = pred[keep].long(), target[keep].long()
    for name, values in (("label", target), ("prediction", pred)):
        bad = (values < 0) | (values >= num_classes)
        if bad.any():
            raise DataError(f"{name} value {int(values[bad][0])} is not a class index 0..{num_classes - 1}"
                            + (f" or the ignore index {ignore_index}" if name == "label" else ""))
    return torch.bincount(target * num_classes + pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def iou_per_class(confusion: torch.Tensor) -> torch.Tensor:
    """IoU of every class (float64), NaN for a class absent from both labels and predictions."""
    confusion = confusion.double()
    tp = confusion.diagonal()
    union = confusion.sum(0) + confusion.sum(1) - tp
    return torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))


def mean_iou(confusion: torch.Tensor) -> float:
    """Mean IoU over the classes that occur (in labels or predictions); NaN if no pixel was counted."""
    ious = iou_per_class(confusion)
    present = ~ious.isnan()
    return float(ious[present].mean()) if present.any() else float("nan")


def pixel_accuracy(confusion: torch.Tensor) -> float:
    total = confusion.sum()
    return float(confusion.diagonal().sum() / total) if total > 0 else float("nan")


def frequency_weighted_iou(confusion: torch.Tensor) -> float:
    """Sum over classes of (the class's share of labelled pixels) x IoU; NaN if no pixel was counted."""
    confusion = confusion.double()
    total = confusion.sum()
    if total <= 0:
        return float("nan")
    ious = iou_per_class(confusion).nan_to_num(0.0)  # a class absent from the labels has weight 0
    return float((confusion.sum(1) / total * ious).sum())


class MeanIoU:
    """Accumulates a confusion matrix over batches: `update(pred, target)` then `compute()`."""

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX):
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        self.confusion += confusion_matrix(pred.detach().cpu(), target.detach().cpu(), self.num_classes,
                                           self.ignore_index)

    def compute(self) -> dict:
        return {"miou": mean_iou(self.confusion), "pixel_accuracy": pixel_accuracy(self.confusion),
                "fw_iou": frequency_weighted_iou(self.confusion), "iou": iou_per_class(self.confusion).tolist()}
