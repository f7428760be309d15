"""DARTS' bi-level optimisation (quark0/darts `cnn/architect.py`, `cnn/train_search.py`).

Weights w minimise the training loss on one half of the training data; α minimises the validation loss
on the other half (plus, when asked, a weighted expected deploy cost). The α gradient is
- first order: ∇α L_val(w, α);
- second order: the gradient of the unrolled objective L_val(w'(α), α), w' = w - η (m + ∇w L_train(w, α) + λ w)
  (one SGD-with-momentum step as the weight optimiser would take it), i.e.
  ∇α L_val(w', α) - η ∇²_{α,w} L_train(w, α) · ∇w' L_val(w', α), the mixed second derivative by central
  finite differences at w ± R v, R = r / |v| (DARTS eq. 7).
Two deliberate differences from architect.py, both so the result is the derivative it claims to be (the
test checks it against finite differences of the unrolled objective): the Hessian-vector product is taken
at w (the paper), not at w' (the code), and v is ∇w' L_val alone (the code adds λ w' to it).
The unrolled model is a `torch.func.functional_call` on the same module, not a copy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch.func import functional_call

from genocompile.data.metrics import IGNORE_INDEX


@dataclass(frozen=True)
class Hyper:
    """DARTS' search hyper-parameters (train_search.py defaults)."""

    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    arch_lr: float = 3e-4
    arch_weight_decay: float = 1e-3
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_grad_clip: float = 10.0


def cosine_lr(h: Hyper, epoch: int, epochs: int) -> float:
    """CosineAnnealingLR(T_max=epochs, eta_min=lr_min) at `epoch`, computed directly so a resumed search with
    a larger budget stretches the schedule instead of restarting it."""
    import math

    return h.lr_min + (h.lr - h.lr_min) * (1 + math.cos(math.pi * epoch / max(epochs, 1))) / 2


def _loss(model, params: dict | None, x: torch.Tensor, y: torch.Tensor, fast: bool) -> torch.Tensor:
    logits = model(x, fast=fast) if params is None else functional_call(model, params, (x,), {"fast": fast})
    # Per-pixel labels (segmentation) may hold the ignore label; class indices never reach it.
    return F.cross_entropy(logits, y, ignore_index=IGNORE_INDEX)


def first_order_grads(model, x_valid, y_valid, fast: bool = True) -> list[torch.Tensor]:
    loss = _loss(model, None, x_valid, y_valid, fast)
    return list(torch.autograd.grad(loss, model.arch_parameters()))


def unrolled_weights(model, x_train, y_train, eta: float, momentum_buffers: Sequence[torch.Tensor | None],
                     h: Hyper, fast: bool = True) -> list[torch.Tensor]:
    """w' = w - η (μ m + ∇w L_train + λ w), detached (w' depends on α only through ∇w L_train, which the
    Hessian-vector product accounts for)."""
    weights = model.weights()
    grads = torch.autograd.grad(_loss(model, None, x_train, y_train, fast), weights)
    out = []
    for w, g, m in zip(weights, grads, momentum_buffers):
        step = g + h.weight_decay * w
        if m is not None:
            step = step + h.momentum * m
        out.append((w - eta * step).detach())
    return out


def second_order_grads(model, x_train, y_train, x_valid, y_valid, eta: float,
                       momentum_buffers: Sequence[torch.Tensor | None], h: Hyper, r: float = 1e-2,
                       fast: bool = True) -> list[torch.Tensor]:
    names = [n for n, _ in model.named_weights()]
    arch_names = list(model.ARCH_NAMES)
    alphas = model.arch_parameters()
    w_prime = [w.requires_grad_() for w in unrolled_weights(model, x_train, y_train, eta, momentum_buffers, h, fast)]
    params = {**dict(zip(names, w_prime)), **dict(zip(arch_names, alphas))}
    loss = _loss(model, params, x_valid, y_valid, fast)
    grads = torch.autograd.grad(loss, list(alphas) + w_prime)
    direct, v = grads[:len(alphas)], grads[len(alphas):]
    implicit = hessian_vector_product(model, v, x_train, y_train, r, fast)
    return [g - eta * ig for g, ig in zip(direct, implicit)]


def hessian_vector_product(model, v: Sequence[torch.Tensor], x, y, r: float = 1e-2,
                           fast: bool = True) -> list[torch.Tensor]:
    """∇²_{α,w} L_train(w, α) · v by central differences of ∇α L_train at w ± R v."""
    names = [n for n, _ in model.named_weights()]
    arch = dict(zip(model.ARCH_NAMES, model.arch_parameters()))
    norm = torch.sqrt(sum((t.detach() ** 2).sum() for t in v))
    R = r / norm.clamp_min(1e-12)
    sides = []
    for sign in (1.0, -1.0):
        shifted = {n: (w.detach() + sign * R * t) for n, w, t in zip(names, model.weights(), v)}
        loss = _loss(model, {**shifted, **arch}, x, y, fast)
        sides.append(torch.autograd.grad(loss, list(arch.values())))
    return [(gp - gn) / (2 * R) for gp, gn in zip(*sides)]


class Architect:
    """The α optimiser (Adam, DARTS' settings) and its step, optionally with a cost term on α.

    `cost_term(alphas: dict) -> scalar tensor` is added to the α loss (its gradient is exact: it does not
    depend on the weights). `all_reduce(grads)` averages gradients across data-parallel ranks."""

    def __init__(self, model, h: Hyper, order: int, cost_term: Callable | None = None,
                 all_reduce: Callable[[list[torch.Tensor]], None] | None = None, fast: bool = True):
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order}")
        self.model, self.h, self.order, self.cost_term, self.fast = model, h, order, cost_term, fast
        self.all_reduce = all_reduce
        self.optimizer = torch.optim.Adam(model.arch_parameters(), lr=h.arch_lr, betas=h.arch_betas,
                                          weight_decay=h.arch_weight_decay)

    def step(self, x_train, y_train, x_valid, y_valid, eta: float, w_optimizer: torch.optim.Optimizer) -> None:
        model = self.model
        if self.order == 1:
            grads = first_order_grads(model, x_valid, y_valid, self.fast)
        else:
            buffers = [w_optimizer.state.get(p, {}).get("momentum_buffer") for p in model.weights()]
            grads = second_order_grads(model, x_train, y_train, x_valid, y_valid, eta, buffers, self.h,
                                       fast=self.fast)
        if self.all_reduce is not None:
            self.all_reduce(grads)
        if self.cost_term is not None:
            extra = torch.autograd.grad(self.cost_term(model.alphas()), model.arch_parameters())
            grads = [g + e.to(g.dtype) for g, e in zip(grads, extra)]
        for p, g in zip(model.arch_parameters(), grads):
            p.grad = g.detach()
        torch.nn.utils.clip_grad_norm_(model.arch_parameters(), self.h.arch_grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
