"""The decoder search's evaluation (Nekrasov et al. 2019, section 3): a candidate layout in a small segmenter
on the generated shapes, trained in two stages with progressive early stopping between them.

- Proxy: the candidate's layout in the `nas-segm` skeleton at `input`x`input`, `classes` classes and
  `agg` decoder channels, with the auxiliary heads (auxiliary cells) built for training; the MobileNetV2
  encoder starts from pretrained weights: `--encoder-weights PATH` when given, else the encoder of the
  search's teacher (trained on the same data once per DIR), the stand-in for ImageNet pretraining.
- Stage 1: `stage1_steps` steps training the decoder only (encoder frozen, BN statistics too); the
  Polyak-averaged decoder's validation reward is the early reward. The gate (a snapshot of the
  searcher's EarlyStopGate) may stop a below-average candidate here: its early reward is its reward.
- Stage 2: `stage2_steps` steps training encoder and decoder; the averaged decoder's reward is final.
- Every step: CE + auxiliary CE + knowledge distillation from the teacher's logits (segmentation_training).
- Reward: nas-segm's geometric mean of foreground mIoU, mean accuracy and frequency-weighted IoU
  (segmentation_training.nas_segm_reward), MnasNet-shaped by the deploy network's cost when a reward target
  is set (reward.py).

The teacher (`teacher.pt` in DIR: its weights, its logits on the training images and its validation
figures) is trained once per search and written atomically, so a resumed search reuses it. An evaluator is
plain picklable settings; the data set is generated once per worker process.
"""
from __future__ import annotations

import io
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from genocompile.searchers.evaluation import candidate_seed
from genocompile.searchers.protocol import EvalResult
from genocompile.searchers.rl.early_stop import EarlyStopGate, coin
from genocompile.searchers.rl.reward import RewardShaping
from genocompile.searchers.rl.segmentation_training import evaluate, polyak, train_steps

from genocompile.atomic import write_bytes
from genocompile.data.segmentation import SyntheticShapes
from genocompile.genotype import Genotype, genotype_hash, zoo_genotype

TEACHER_NAME = "teacher.pt"
TEACHER_LAYOUT = "nekrasov_arch0"  # the paper's first published decoder, in a wider network


@dataclass(frozen=True)
class DecoderProxySettings:
    input: int = 32  # image side of the generated shapes
    classes: int = 2  # background + circles (up to 4: + rectangles, triangles; 32x32 is too small to learn those fast)
    agg: int = 16  # decoder channels (the deploy network: 64)
    train: int = 256  # generated training images
    valid: int = 64  # generated validation images (another seed)
    batch_size: int = 16
    stage1_steps: int = 20
    stage2_steps: int = 20
    lr: float = 1e-2  # Adam, decoder
    encoder_lr: float = 3e-4  # Adam, encoder in stage 2
    aux_weight: float = 0.4
    kd_weight: float = 0.5
    kd_temperature: float = 1.0
    polyak_decay: float = 0.9
    teacher_steps: int = 150
    teacher_agg: int = 32

    def proxy(self, genotype: Genotype, agg: int | None = None) -> Genotype:
        """The candidate in the small segmenter that is trained, auxiliary cells included."""
        return genotype.with_network(num_classes=self.classes, agg_size=agg or self.agg,
                                     input_size=[self.input, self.input], auxiliary=True, aux_cell=True)


@lru_cache(maxsize=2)
def shapes(settings: DecoderProxySettings, seed: int) -> tuple[torch.Tensor, ...]:
    """(train_x, train_y, valid_x, valid_y) of the generated shapes, validation from an unrelated seed."""
    size = (settings.input, settings.input)
    train = SyntheticShapes(settings.train, size, settings.classes, seed=seed).tensors()
    valid = SyntheticShapes(settings.valid, size, settings.classes, seed=seed + 7919).tensors()
    return (*train, *valid)


def _segmenter(genotype: Genotype, seed: int) -> torch.nn.Module:
    from genocompile.models import build_reference

    return build_reference(genotype, seed=seed)


def _load_encoder(model: torch.nn.Module, source: Any) -> None:
    from genocompile.models.decoder import load_encoder_weights

    load_encoder_weights(model, source)


def train_teacher(out_dir: str | Path, settings: DecoderProxySettings, seed: int,
                  encoder_weights: str | None = None) -> Path:
    """DIR/teacher.pt: a wider segmenter trained for `teacher_steps` (once per DIR; reused when present)."""
    path = Path(out_dir) / TEACHER_NAME
    if path.exists():
        return path
    started = time.perf_counter()
    train_x, train_y, valid_x, valid_y = shapes(settings, seed)
    genotype = settings.proxy(zoo_genotype(TEACHER_LAYOUT), agg=settings.teacher_agg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _segmenter(genotype, seed)
        if encoder_weights:
            _load_encoder(model, encoder_weights)
        generator = torch.Generator().manual_seed(seed)
        averaged = polyak(model.decoder, settings.polyak_decay)
        train_steps(model, averaged, list(model.parameters()), train_x, train_y, None, settings.teacher_steps,
                    settings.batch_size, settings.lr, generator, settings.aux_weight, 0.0)
        model.decoder = averaged.module
        figures = evaluate(model, valid_x, valid_y, settings.classes)
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(train_x[i:i + 64]) for i in range(0, len(train_x), 64)])
    buffer = io.BytesIO()
    torch.save({"encoder": model.encoder.state_dict(), "logits": logits, "figures": figures,
                "seconds": time.perf_counter() - started, "settings": asdict(settings)}, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, buffer.getvalue())
    return path


@lru_cache(maxsize=2)
def load_teacher(path: str) -> dict[str, Any]:
    return torch.load(path, weights_only=True)


@dataclass
class DecoderEvaluator:
    settings: DecoderProxySettings
    teacher: str  # DIR/teacher.pt
    shaping: RewardShaping
    constraints: Any  # genocompile.cost.constraints.Constraints: the deploy network's costs for shaping
    gate: EarlyStopGate  # the searcher's gate object: each submission pickles its current state
    seed: int = 0
    encoder_weights: str | None = None  # pretrained encoder weights (else the teacher's encoder)

    def identity(self) -> dict:
        return {"evaluation": "decoder-proxy", "proxy": asdict(self.settings), "encoder_weights": self.encoder_weights,
                "reward": {"cost": self.shaping.cost, "target": self.shaping.target, "regime": self.shaping.regime},
                "early_stop": {"enabled": self.gate.enabled, "p0": self.gate.p0, "decay": self.gate.decay}}

    def _costs(self, genotype: Genotype) -> dict[str, float]:
        return self.constraints.costs(genotype) if self.shaping.target is not None else {}

    def __call__(self, genotype: Genotype) -> EvalResult:
        started = time.perf_counter()
        s = self.settings
        train_x, train_y, valid_x, valid_y = shapes(s, self.seed)
        teacher = load_teacher(self.teacher)
        seed = candidate_seed(self.seed, genotype)
        costs = self._costs(genotype)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = _segmenter(s.proxy(genotype), seed)
            _load_encoder(model, self.encoder_weights or {f"encoder.{k}": v for k, v in teacher["encoder"].items()})
            generator = torch.Generator().manual_seed(seed)
            averaged = polyak(model.decoder, s.polyak_decay)
            train = dict(x=train_x, y=train_y, teacher=teacher["logits"], batch_size=s.batch_size,
                         generator=generator, aux_weight=s.aux_weight, kd_weight=s.kd_weight,
                         kd_temperature=s.kd_temperature)
            for p in model.encoder.parameters():  # stage 1: the decoder only
                p.requires_grad_(False)
            loss = train_steps(model, averaged, list(model.decoder.parameters()), steps=s.stage1_steps, lr=s.lr,
                               frozen=model.encoder, **train)
            figures = evaluate(model, valid_x, valid_y, s.classes, decoder=averaged.module)
            early_reward = self.shaping(figures["reward"], costs)
            stopped = self.gate.should_stop(early_reward, coin(genotype_hash(genotype), self.seed))
            if not stopped:  # stage 2: everything (the encoder at its own, lower rate)
                for p in model.encoder.parameters():
                    p.requires_grad_(True)
                loss = self._stage2(model, averaged, train)
                figures = evaluate(model, valid_x, valid_y, s.classes, decoder=averaged.module)
        total = s.stage1_steps + s.stage2_steps
        return EvalResult(fitness=self.shaping(figures["reward"], costs), costs=costs, metrics={
            **figures, "train_loss": loss, "seed": seed, "early_reward": early_reward, "stopped_early": stopped,
            "steps_run": s.stage1_steps if stopped else total, "steps_full": total,
            "gate_average": self.gate.average, "gate_p": self.gate.p, "train_seconds": time.perf_counter() - started})

    def _stage2(self, model: torch.nn.Module, averaged: Any, train: dict) -> float:
        s = self.settings
        groups = [{"params": list(model.decoder.parameters())},
                  {"params": list(model.encoder.parameters()), "lr": s.encoder_lr}]
        return train_steps(model, averaged, groups, steps=s.stage2_steps, lr=s.lr, **train)
