"""mIoU from a confusion matrix, against hand-computed cases and a set-based definition."""
import math

import pytest
import torch

from genocompile.data.metrics import MeanIoU, confusion_matrix, iou_per_class, mean_iou, pixel_accuracy
from genocompile.errors import DataError, ShapeError

PRED = torch.tensor([[0, 1], [1, 1]])
TARGET = torch.tensor([[0, 1], [0, 255]])  # the bottom-right pixel is unlabeled


def test_hand_computed_case():
    conf = confusion_matrix(PRED, TARGET, 2)
    # counted pixels: (label 0, pred 0), (1, 1), (0, 1); the ignored one nowhere
    assert conf.tolist() == [[1, 1], [0, 1]]
    # class 0: TP 1, FN 1, FP 0 -> 1/2; class 1: TP 1, FP 1, FN 0 -> 1/2
    assert iou_per_class(conf).tolist() == [0.5, 0.5]
    assert mean_iou(conf) == 0.5
    assert pixel_accuracy(conf) == pytest.approx(2 / 3)


def test_absent_class_is_left_out_but_a_missed_class_counts_zero():
    conf = confusion_matrix(PRED, TARGET, 3)
    ious = iou_per_class(conf)
    assert ious[:2].tolist() == [0.5, 0.5] and math.isnan(ious[2])
    assert mean_iou(conf) == 0.5
    # class 2 in the labels but never predicted: IoU 0, and it pulls the mean down
    conf = confusion_matrix(torch.tensor([0, 1, 0]), torch.tensor([0, 1, 2]), 3)
    assert iou_per_class(conf).tolist() == [0.5, 1.0, 0.0]
    assert mean_iou(conf) == pytest.approx(0.5)


def test_nothing_counted_is_nan():
    conf = confusion_matrix(torch.tensor([1]), torch.tensor([255]), 2)
    assert conf.sum() == 0 and math.isnan(mean_iou(conf)) and math.isnan(pixel_accuracy(conf))


def test_scores_are_argmaxed_and_batches_accumulate():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 4, 5, 6, generator=gen)
    target = torch.randint(0, 4, (3, 5, 6), generator=gen)
    target[0, 0, :3] = 255
    whole = confusion_matrix(logits, target, 4)
    assert torch.equal(whole, confusion_matrix(logits.argmax(1), target, 4))
    metric = MeanIoU(4)
    for i in range(3):
        metric.update(logits[i:i + 1], target[i:i + 1])
    assert torch.equal(metric.confusion, whole)
    assert metric.compute()["miou"] == mean_iou(whole)


def test_equals_the_set_definition_on_random_maps():
    gen = torch.Generator().manual_seed(1)
    pred = torch.randint(0, 5, (2, 17, 13), generator=gen)
    target = torch.randint(0, 5, (2, 17, 13), generator=gen)
    target[torch.rand(target.shape, generator=gen) < 0.2] = 255
    keep = target != 255
    expected = []
    for c in range(5):
        p, t = (pred == c) & keep, (target == c) & keep
        expected.append((p & t).sum().item() / (p | t).sum().item())
    assert iou_per_class(confusion_matrix(pred, target, 5)).tolist() == pytest.approx(expected)


def test_bad_inputs():
    with pytest.raises(ShapeError, match=r"prediction \[2, 2\] and labels \[4\] differ in shape"):
        confusion_matrix(PRED, TARGET.flatten(), 2)
    with pytest.raises(DataError, match="label value 7 is not a class index 0..1 or the ignore index 255"):
        confusion_matrix(PRED, torch.tensor([[0, 7], [0, 1]]), 2)
    with pytest.raises(DataError, match="prediction value 2 is not a class index 0..1"):
        confusion_matrix(torch.tensor([2]), torch.tensor([0]), 2)
