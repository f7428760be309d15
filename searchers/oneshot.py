"""One-shot evaluation (Single Path One-Shot, Guo et al. 2020; DetNAS, Chen et al. 2019).

A weight-sharing supernet holds every candidate op on every possible edge of the proxy network's cells. It
is trained once with uniform single-path sampling: each batch trains one architecture drawn uniformly from
the space (`space.sample`). A candidate is then evaluated with the weights it inherits from the supernet,
after its BatchNorm statistics are recalibrated on a training subset (the seed papers' key point: the
running statistics accumulated over many paths are wrong for any single one), by validation accuracy.

The supernet is checkpointed in DIR after every epoch (model, optimiser, schedule and RNG states), so a
rerun neither retrains it nor, after kill -9 during training, restarts it from scratch. Evaluators read
the finished checkpoint from DIR (workers on other machines need DIR on a shared file system).
"""
from __future__ import annotations

import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
from genocompile.searchers.evaluation import (
    accuracy,
    make_optimizer,
    proxy_data,
    steps_per_epoch,
    train_epoch,
)
from genocompile.searchers.protocol import EvalResult, rng_state, set_rng_state
from torch import nn

from genocompile.atomic import save_torch
from genocompile.data.classification import ClassificationData
from genocompile.genotype import CellGenotype, Genotype
from genocompile.genotype.network import darts_reduction_cells
from genocompile.ops.darts_modules import FactorizedReduce, ReLUConvBN
from genocompile.ops.table import get_op

SUPERNET_NAME = "supernet.pt"


@dataclass(frozen=True)
class OneShotSettings:
    """Smaller than the stand-alone proxy (C=4, 3 cells, 8x8 digits), trained long: single-path training over
    this space needs many steps before the shared weights work for every path. Measured on digits while choosing
    these, 12 candidates spanning the space (`searchers/ranking.py`) against stand-alone training (C=4, 3 cells,
    16x16, 3 epochs, mean of 2 seeds), Kendall tau of the one-shot ranking: 15 epochs of batch 16 (training loss
    1.16) 0.12 (p 0.64); 30 epochs of batch 32, 0.55 (p 0.01); 60 epochs of batch 64 (the same 1,260 steps as
    the first, four times the images; loss 0.72) 0.62 (p 0.006) and, from another initialisation, 0.41 (p 0.06):
    one supernet's ranking varies much with its seed; 120 epochs of batch 64 (loss 0.48) 0.44 (p 0.046), 0.47
    (p 0.03) with BN recalibrated on the whole training split instead of 512 images. Weights per (node, input)
    instead of per (node, slot) at 30 epochs of batch 32: 0.38. `benchmarks/search_cpu.py` measures these
    defaults (RESULTS.md). About 2-4 minutes on one shared core."""

    init_channels: int = 4
    layers: int = 3
    input_size: int = 8
    epochs: int = 120
    batch_size: int = 64
    lr: float = 0.05
    weight_decay: float = 3e-4
    # training batches (of batch_size) whose statistics replace the supernet's BN statistics: 21 x 64 = 1,344,
    # the whole digits training split but four images (SPOS recalibrates on 200 batches of ImageNet)
    recalibration_batches: int = 21
    train_subset: int | None = None
    valid_subset: int | None = None

    def describe(self) -> str:
        return (f"one-shot supernet C={self.init_channels}, {self.layers} cells (DARTS spaces), {self.input_size}x"
                f"{self.input_size} input, {self.epochs} epochs of uniform single-path sampling; BN recalibrated "
                f"on {self.recalibration_batches} batches of {self.batch_size} per candidate")


def _edge_op(op: str, c: int, stride: int) -> nn.Module:
    """The op's reference module; pooling followed by a non-affine BatchNorm, as in DARTS' supernet
    (quark0/darts `model_search.MixedOp`): parameter-free paths otherwise feed unnormalised sums into the
    shared weights downstream, and sampled paths disagree wildly in scale."""
    module = get_op(op).reference(c, stride, True)
    return nn.Sequential(module, nn.BatchNorm2d(c, affine=False)) if "pool" in op else module


class SuperCell(nn.Module):
    """A DARTS cell holding every op of `ops` for each of its nodes' two input slots; `forward` runs one path.

    The choice blocks are (node, slot), as in SPOS' chain of choice blocks, not (node, input) as in DARTS'
    mixed edges: the state a slot reads is a separate choice that reuses the slot's weights (in a reduction
    cell, slots reading the cell inputs stride 2 and so keep their own weights). With a few hundred training
    steps on two CPU cores, per-edge weights are trained too rarely to rank anything (measured: loss at
    chance after 3 epochs); per-slot weights are trained 2-5 times as often. Measured again at 30 epochs of batch 32
    on digits: per-edge weights reach a lower training loss (0.51 against 0.76) but rank candidates worse (Kendall
    tau 0.38 against 0.55, see OneShotSettings)."""

    def __init__(self, ops: tuple[str, ...], steps: int, c_prev_prev: int, c_prev: int, c: int, reduction: bool,
                 reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(c_prev_prev, c) if reduction_prev else ReLUConvBN(c_prev_prev, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        self.edges = nn.ModuleDict({
            f"{node}_{slot}_{stride}": nn.ModuleDict({op: _edge_op(op, c, stride) for op in ops})
            for node in range(2, 2 + steps) for slot in (0, 1) for stride in self._strides(node)})

    def _strides(self, node: int) -> tuple[int, ...]:
        """The strides a slot of `node` can run at: in a reduction cell 2 when it reads a cell input and 1 when
        it reads an earlier node; the first node reads only cell inputs (no stride-1 weights it never trains)."""
        if not self.reduction:
            return (1,)
        return (2,) if node == 2 else (1, 2)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, edges, concat) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for n in range(len(edges) // 2):
            states.append(sum(self.edges[f"{2 + n}_{slot}_{2 if self.reduction and index < 2 else 1}"][op](states[index])
                              for slot, (op, index) in enumerate(edges[2 * n:2 * n + 2])))
        return torch.cat([states[i] for i in concat], dim=1)


class DartsSupernet(nn.Module):
    """The proxy network (NetworkCIFAR layout: reductions at L//3 and 2L//3) with SuperCells; `path` is the
    cell genotype the next forward runs."""

    def __init__(self, ops: tuple[str, ...], steps: int, c: int, layers: int, num_classes: int):
        super().__init__()
        c_stem = 3 * c
        self.stem = nn.Sequential(nn.Conv2d(3, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
        c_prev_prev, c_prev, c_curr, reduction_prev = c_stem, c_stem, c, False
        self.cells = nn.ModuleList()
        for i in range(layers):
            reduction = i in darts_reduction_cells(layers)
            c_curr = c_curr * 2 if reduction else c_curr
            self.cells.append(SuperCell(ops, steps, c_prev_prev, c_prev, c_curr, reduction, reduction_prev))
            c_prev_prev, c_prev, reduction_prev = c_prev, steps * c_curr, reduction
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)
        self.path: CellGenotype | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.path is None:
            raise RuntimeError("set DartsSupernet.path to a genotype of the space before running it")
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            edges, concat = self.path.cell("reduce" if cell.reduction else "normal")
            s0, s1 = s1, cell(s0, s1, edges, concat)
        return self.classifier(self.global_pooling(s1).flatten(1))


def build_supernet(space, settings: OneShotSettings, num_classes: int) -> nn.Module:
    return space.supernet(settings, num_classes)


def train_supernet(space, data_name: str | None, seed: int, settings: OneShotSettings, out_dir: Path,
                   report: Callable[[str], None] = lambda message: None) -> Path:
    """Train (or finish training) the supernet in DIR/supernet.pt; returns its path. Resumes at the last
    finished epoch; a checkpoint made with other settings is an error (a new DIR is needed)."""
    from genocompile.errors import SearchError

    path = Path(out_dir) / SUPERNET_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    data = proxy_data(data_name, settings.input_size, settings.train_subset, settings.valid_subset)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_supernet(space, settings, data.num_classes)
    optimizer, scheduler = make_optimizer(model, settings.lr, settings.weight_decay,
                                          settings.epochs * steps_per_epoch(data, settings.batch_size))
    generator, rng, epoch = torch.Generator().manual_seed(seed), random.Random(seed), 0
    if path.exists():
        state = torch.load(path, weights_only=False)
        if state["settings"] != asdict(settings) or state["space"] != space.name:
            raise SearchError(f"{path} is a supernet of other settings ({state['space']}, {state['settings']}); "
                              f"use a new --out directory")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        set_rng_state(rng, state["rng"])
        epoch = state["epoch"]

    def sample_path(net: DartsSupernet) -> None:
        net.path = space.sample(rng)  # uniform single-path sampling, one architecture per batch

    while epoch < settings.epochs:
        started = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + epoch)
            loss = train_epoch(model, data, settings.batch_size, optimizer, scheduler, generator, step=sample_path)
        epoch += 1
        save_torch({"space": space.name, "settings": asdict(settings), "epoch": epoch, "model": model.state_dict(),
                      "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                      "generator": generator.get_state(), "rng": rng_state(rng)}, path)
        report(f"supernet epoch {epoch}/{settings.epochs}: loss {loss:.3f} ({time.perf_counter() - started:.1f}s)")
    return path


def recalibrate_bn(model: nn.Module, data: ClassificationData, batches: int, batch_size: int) -> None:
    """Replace every BatchNorm's running statistics by their exact average over the first `batches` training
    batches, on the model's current path (momentum None: a cumulative average, not an exponential one)."""
    saved = {}
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            saved[m] = m.momentum
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        for i in range(batches):
            x = data.train_x[i * batch_size:(i + 1) * batch_size]
            if len(x) > 1:
                model(x)
    for m, momentum in saved.items():
        m.momentum = momentum
    model.eval()


_LOADED: dict[tuple[str, float], nn.Module] = {}  # per worker process: path, mtime -> supernet


@dataclass(frozen=True)
class OneShotEvaluator:
    """`evaluator(genotype) -> EvalResult`: inherited supernet weights, BN recalibrated, validation accuracy."""

    space_name: str
    checkpoint: str
    data: str | None = None
    settings: OneShotSettings = OneShotSettings()

    def supernet(self, num_classes: int) -> nn.Module:
        from genocompile.searchers.spaces import get_space

        key = (self.checkpoint, os.path.getmtime(self.checkpoint))
        if key not in _LOADED:
            model = build_supernet(get_space(self.space_name), self.settings, num_classes)
            model.load_state_dict(torch.load(self.checkpoint, weights_only=False)["model"])
            _LOADED.clear()
            _LOADED[key] = model
        return _LOADED[key]

    def __call__(self, genotype: Genotype) -> EvalResult:
        started = time.perf_counter()
        s = self.settings
        data = proxy_data(self.data, s.input_size, s.train_subset, s.valid_subset)
        model = self.supernet(data.num_classes)
        model.path = genotype
        recalibrate_bn(model, data, s.recalibration_batches, s.batch_size)
        acc = accuracy(model, data.valid_x, data.valid_y)
        return EvalResult(fitness=acc, metrics={"valid_acc": acc, "seconds": time.perf_counter() - started})
