"""Proxy evaluation: train a small network built from the candidate's cells for a few epochs; the
validation accuracy is the fitness.

The proxy is the DARTS CIFAR skeleton with fewer cells and channels than the deploy network (as DARTS and
AmoebaNet search on a small proxy and deploy a larger one); its settings go in the search log and the
journal identity. Training is seeded per candidate (search seed x genotype hash), so the same candidate
always gets the same fitness, whichever worker or machine evaluates it.

A `ProxyEvaluator` is plain picklable settings: the data is loaded once per worker process and cached.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F

from genocompile.data.classification import ClassificationData, load_classification
from genocompile.genotype import Genotype, genotype_hash
from genocompile.searchers.protocol import EvalResult


@dataclass(frozen=True)
class ProxySettings:
    init_channels: int = 8
    layers: int = 5
    input_size: int = 16  # digits (8x8) are upsampled, CIFAR (32x32) downsampled, to this side
    epochs: int = 3
    batch_size: int = 64
    lr: float = 0.05
    weight_decay: float = 3e-4
    train_subset: int | None = None  # first N training images (None: all)
    valid_subset: int | None = None

    def describe(self) -> str:
        return (f"proxy darts-cifar network C={self.init_channels}, {self.layers} cells, "
                f"{self.input_size}x{self.input_size} input, {self.epochs} epochs, batch {self.batch_size}, "
                f"SGD lr {self.lr} cosine")


@lru_cache(maxsize=4)
def proxy_data(data: str | None, input_size: int, train_subset: int | None,
               valid_subset: int | None) -> ClassificationData:
    return load_classification(data).resized((input_size, input_size)).subset(train_subset, valid_subset)


def candidate_seed(seed: int, genotype: Genotype) -> int:
    return (seed * 1_000_003 + int(genotype_hash(genotype)[:8], 16)) % (2 ** 31)


def proxy_network(genotype: Genotype, settings: ProxySettings, num_classes: int) -> torch.nn.Module:
    from genocompile.models import build_reference

    proxy = genotype.with_network(skeleton="darts-cifar", init_channels=settings.init_channels,
                                  layers=settings.layers, num_classes=num_classes,
                                  input_size=(settings.input_size, settings.input_size), auxiliary=False)
    return build_reference(proxy, seed=None)


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            correct += int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
    return correct / max(1, len(x))


def train_epochs(model: torch.nn.Module, data: ClassificationData, epochs: int, batch_size: int, lr: float,
                 weight_decay: float, generator: torch.Generator, step=None) -> float:
    """SGD (momentum 0.9, cosine schedule, gradient clip 5 as in DARTS); returns the last epoch's mean loss.
    `step(model)` runs before each batch (the one-shot supernet samples its path there)."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(data.train_x) / batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, epochs * steps_per_epoch))
    loss_sum, batches = 0.0, 0
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(data.train_x), generator=generator)
        loss_sum, batches = 0.0, 0
        for i in range(0, len(order), batch_size):
            index = order[i:i + batch_size]
            if len(index) < 2:
                continue  # BatchNorm needs more than one example
            if step is not None:
                step(model)
            loss = F.cross_entropy(model(data.train_x[index]), data.train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            optimizer.step()
            scheduler.step()
            loss_sum, batches = loss_sum + loss.item(), batches + 1
    return loss_sum / max(1, batches)


@dataclass(frozen=True)
class ProxyEvaluator:
    """`evaluator(genotype) -> EvalResult`: stand-alone proxy training from scratch."""

    data: str | None = None
    seed: int = 0
    settings: ProxySettings = ProxySettings()

    def identity(self) -> dict:
        return {"evaluation": "proxy", "proxy": asdict(self.settings)}

    def __call__(self, genotype: Genotype) -> EvalResult:
        started = time.perf_counter()
        s = self.settings
        data = proxy_data(self.data, s.input_size, s.train_subset, s.valid_subset)
        seed = candidate_seed(self.seed, genotype)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = proxy_network(genotype, s, data.num_classes)
            generator = torch.Generator().manual_seed(seed)
            loss = train_epochs(model, data, s.epochs, s.batch_size, s.lr, s.weight_decay, generator)
        acc = accuracy(model, data.valid_x, data.valid_y)
        return EvalResult(fitness=acc, metrics={"valid_acc": acc, "train_loss": loss, "seed": seed,
                                                "train_seconds": time.perf_counter() - started})
