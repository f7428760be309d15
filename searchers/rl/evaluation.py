"""The RL searcher's evaluation: the framework's proxy training, in two stages with progressive early
stopping between them, and the MnasNet-shaped reward as the fitness.

Stage 1 trains the proxy network for `early_epochs`; its validation accuracy, shaped by the deploy
network's cost, is the early reward. The early-stopping gate (a snapshot of the searcher's, carried to
whichever process runs this) may stop a below-average candidate there, and its early reward is its reward.
Otherwise stage 2 trains the remaining epochs with a fresh cosine schedule (a warm restart: the framework's
`train_epochs` owns its schedule) and the final accuracy is shaped. Without the gate, training is the
framework's `ProxyEvaluator` unchanged.

Metrics record `valid_acc`, `early_reward`, `stopped_early`, `epochs_run` and `epochs_full`, from which the
summary reports the compute the gate saved.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

from genocompile.genotype import Genotype, genotype_hash
from genocompile.searchers.evaluation import (ProxyEvaluator, accuracy, candidate_seed, proxy_data, proxy_network,
                                              train_epochs)
from genocompile.searchers.protocol import EvalResult
from genocompile.searchers.rl.early_stop import EarlyStopGate, coin
from genocompile.searchers.rl.reward import RewardShaping


@dataclass
class RLEvaluator:
    proxy: ProxyEvaluator
    shaping: RewardShaping
    constraints: object  # genocompile.cost.constraints.Constraints: the deploy network's costs for shaping
    gate: EarlyStopGate  # the searcher's gate object: each submission pickles its current state
    early_epochs: int = 1

    def identity(self) -> dict:
        return {"evaluation": "proxy", "proxy": asdict(self.proxy.settings), "reward": {"cost": self.shaping.cost, "target": self.shaping.target,
                                                    "regime": self.shaping.regime},
                "early_stop": {"enabled": self.gate.enabled, "early_epochs": self.early_epochs,
                               "p0": self.gate.p0, "decay": self.gate.decay}}

    def _costs(self, genotype: Genotype) -> dict[str, float]:
        return self.constraints.costs(genotype) if self.shaping.target is not None else {}

    def __call__(self, genotype: Genotype) -> EvalResult:
        s = self.proxy.settings
        if not self.gate.enabled or s.epochs <= self.early_epochs:
            result = self.proxy(genotype)
            costs = self._costs(genotype)
            reward = self.shaping(result.fitness, costs)
            return EvalResult(fitness=reward, costs=costs, metrics={
                **result.metrics, "early_reward": None, "stopped_early": False, "epochs_run": s.epochs,
                "epochs_full": s.epochs})
        return self._staged(genotype)

    def _staged(self, genotype: Genotype) -> EvalResult:
        started = time.perf_counter()
        s = self.proxy.settings
        data = proxy_data(self.proxy.data, s.input_size, s.train_subset, s.valid_subset)
        seed = candidate_seed(self.proxy.seed, genotype)
        costs = self._costs(genotype)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = proxy_network(genotype, s, data.num_classes, self.proxy.space_name)
            generator = torch.Generator().manual_seed(seed)
            loss = train_epochs(model, data, self.early_epochs, s.batch_size, s.lr, s.weight_decay, generator)
            acc = accuracy(model, data.valid_x, data.valid_y)
            early_reward = self.shaping(acc, costs)
            stopped = self.gate.should_stop(early_reward, coin(genotype_hash(genotype), self.proxy.seed))
            if not stopped:
                loss = train_epochs(model, data, s.epochs - self.early_epochs, s.batch_size, s.lr, s.weight_decay,
                                    generator)
                acc = accuracy(model, data.valid_x, data.valid_y)
        return EvalResult(fitness=self.shaping(acc, costs), costs=costs, metrics={
            "valid_acc": acc, "train_loss": loss, "seed": seed, "early_reward": early_reward,
            "stopped_early": stopped, "epochs_run": self.early_epochs if stopped else s.epochs,
            "epochs_full": s.epochs, "gate_average": self.gate.average, "gate_p": self.gate.p,
            "train_seconds": time.perf_counter() - started})
