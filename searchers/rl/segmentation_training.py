"""How the decoder search trains a candidate segmenter (DrSleep/nas-segm-pytorch `src/engine/trainer.py`):

- the loss: cross-entropy on the final logits, plus `aux_weight` x the mean cross-entropy of the auxiliary
  heads on the decoder blocks' outputs (training only: `Segmenter.forward_with_aux`), plus `kd_weight` x the
  distillation loss against a teacher's logits;
- Polyak averaging: an exponential moving average of the decoder's weights (and BN statistics), updated
  after every step; the averaged decoder is what is evaluated (the original's `--dec-polyak`);
- the reward: the geometric mean of mean IoU, mean accuracy and frequency-weighted IoU over the foreground
  classes present in the validation labels (the original's `engine/inference.py` `validate`: background,
  class 0, is left out, which keeps an all-background prediction from scoring well).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from genocompile.data.metrics import IGNORE_INDEX, MeanIoU, iou_per_class


def kd_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Per-pixel KL(teacher || student) of the softened class distributions, x T^2 (Hinton et al. 2015):
    zero exactly when the two agree, positive otherwise."""
    log_student = F.log_softmax(student / temperature, dim=1)
    log_teacher = F.log_softmax(teacher / temperature, dim=1)
    kl = (log_teacher.exp() * (log_teacher - log_student)).sum(1)
    return kl.mean() * temperature ** 2


def polyak(module: nn.Module, decay: float) -> AveragedModel:
    """An EMA copy of `module`: w_avg <- decay * w_avg + (1 - decay) * w after each `update_parameters`."""
    return AveragedModel(module, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def segmentation_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, teacher: torch.Tensor | None,
                      aux_weight: float, kd_weight: float, kd_temperature: float = 1.0) -> dict[str, torch.Tensor]:
    """The training loss of one batch and its parts (`ce`, `aux`, `kd`, `loss`)."""
    logits, aux = model.forward_with_aux(x)
    parts = {"ce": F.cross_entropy(logits, y, ignore_index=IGNORE_INDEX)}
    if aux:
        parts["aux"] = torch.stack([F.cross_entropy(a, y, ignore_index=IGNORE_INDEX) for a in aux]).mean()
    if teacher is not None and kd_weight:
        parts["kd"] = kd_loss(logits, teacher, kd_temperature)
    parts["loss"] = parts["ce"] + aux_weight * parts.get("aux", 0.0) + kd_weight * parts.get("kd", 0.0)
    return parts


def train_steps(model: nn.Module, averaged: AveragedModel | None, params: list, x: torch.Tensor,
                y: torch.Tensor, teacher: torch.Tensor | None, steps: int, batch_size: int, lr: float,
                generator: torch.Generator, aux_weight: float, kd_weight: float, kd_temperature: float = 1.0,
                frozen: nn.Module | None = None) -> float:
    """`steps` Adam steps on random batches over `params` (parameters, or Adam parameter groups with their
    own rates); `frozen` (the encoder in stage 1) stays in eval mode and is not trained. Returns the last loss."""
    optimizer = torch.optim.Adam(params, lr=lr)
    model.train()
    if frozen is not None:
        frozen.eval()
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        idx = torch.randint(len(x), (batch_size,), generator=generator)
        parts = segmentation_loss(model, x[idx], y[idx], None if teacher is None else teacher[idx], aux_weight,
                                  kd_weight, kd_temperature)
        loss = parts["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if averaged is not None:
            averaged.update_parameters(model.decoder)
    return float(loss.detach())


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, num_classes: int,
             decoder: nn.Module | None = None, batch_size: int = 64) -> dict[str, float]:
    """Validation metrics of `model`, with `decoder` (the Polyak average) in place of its own when given."""
    own = model.decoder
    if decoder is not None:
        model.decoder = decoder
    try:
        model.eval()
        metric = MeanIoU(num_classes)
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                metric.update(model(x[i:i + batch_size]), y[i:i + batch_size])
        m = metric.compute()
    finally:
        model.decoder = own
    return {"miou": m["miou"], "pixel_accuracy": m["pixel_accuracy"], **nas_segm_reward(metric.confusion)}


def nas_segm_reward(confusion: torch.Tensor) -> dict[str, float]:
    """Foreground mIoU, mean accuracy and frequency-weighted IoU (classes 1.. with labelled pixels), and their
    geometric mean, the reward (0 when no foreground pixel is labelled)."""
    confusion = confusion.double()
    pixels = confusion.sum(1)[1:]
    present = pixels > 0
    if not present.any():
        return {"fg_miou": 0.0, "fg_macc": 0.0, "fg_fwiou": 0.0, "reward": 0.0}
    ious = iou_per_class(confusion)[1:][present]
    accs = (confusion.diagonal()[1:] / pixels.clamp(min=1))[present]
    figures = {"fg_miou": float(ious.mean()), "fg_macc": float(accs.mean()),
               "fg_fwiou": float((ious * pixels[present]).sum() / pixels[present].sum())}
    return {**figures, "reward": (figures["fg_miou"] * figures["fg_macc"] * figures["fg_fwiou"]) ** (1 / 3)}
