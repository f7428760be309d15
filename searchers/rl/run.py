"""`genocompile search --searcher rl`: the controller, its policy update, the shaped reward and the staged
evaluation, wired into the framework's driver (journal, resume, constraint rejection, executors).

`--budget` counts sampled candidates that are evaluated; cells the controller proposes again (reward
reused) or over a `--max-*` bound (told as a penalty) are free samples for the policy and do not count.

Spaces of another family run their own wiring, registered in `FAMILY_RUNS` (the decoder layout:
`decoder_run.py`).
"""
from __future__ import annotations

import random

from genocompile.errors import SearchError
from genocompile.genotype.network import network_to_dict
from genocompile.searchers.driver import drive
from genocompile.searchers.evaluation import ProxyEvaluator, ProxySettings
from genocompile.searchers.progress import Progress
from genocompile.searchers.registry import SearchOptions, SearchSummary, extra_options, register_searcher
from genocompile.searchers.rl.early_stop import EarlyStopGate, saved_compute
from genocompile.searchers.rl.evaluation import RLEvaluator
from genocompile.searchers.rl.plot import write_reward_curve
from genocompile.searchers.rl.policy import PolicySettings
from genocompile.searchers.rl.reward import RewardShaping
from genocompile.searchers.rl.searcher import RLSearcher, RLSettings
from genocompile.searchers.spaces import get_space

FAMILY_RUNS: dict = {}  # space family -> run(options, progress) for spaces that are not DARTS cells
STATE_DIR = "rl_state"  # DIR/rl_state: the controller's weights and reward history, per policy update

DEFAULTS = {
    "rl_algo": "reinforce",  # reinforce | ppo
    "rl_batch": RLSettings.batch,  # samples per policy update
    "rl_ops": RLSettings.ops,  # darts (the table's DARTS search ops) | nasnet
    "rl_lr": PolicySettings.lr,
    "rl_entropy": PolicySettings.entropy_weight,
    "rl_temperature": RLSettings.temperature,  # logits / T before clipping (0: none)
    "rl_tanh": RLSettings.tanh_constant,  # C x tanh(logits) (0: no clipping)
    "rl_ppo_epochs": PolicySettings.ppo_epochs,
    "rl_ppo_clip": PolicySettings.ppo_clip,
    "rejection_reward": RLSettings.rejection_reward,
    "reward_cost": "multiadds",  # multiadds | params | latency_ms
    "reward_target": 0.0,  # 0: the --max-* bound of reward_cost when given, else no shaping (reward = accuracy)
    "reward_regime": "soft",  # soft (w = -0.07) | hard (w = 0 under the target, -1 over)
    "early_stop": True,
    "early_epochs": 1,
    "early_p0": 1.0,
    "early_decay": 0.95,
    "proxy_channels": ProxySettings.init_channels,
    "proxy_layers": ProxySettings.layers,
    "proxy_input": ProxySettings.input_size,
    "epochs": ProxySettings.epochs,
    "proxy_train": 0,  # first N training images (0: all)
    "proxy_valid": 0,  # first N validation images (0: all)
}

BOUNDS = {"multiadds": "max_multiadds", "params": "max_params", "latency_ms": "max_latency_ms"}


def reward_target(options: SearchOptions, o: dict) -> float | None:
    if o["reward_target"]:
        return float(o["reward_target"])
    return getattr(options.constraints, BOUNDS.get(o["reward_cost"], ""), None)


def make_searcher(options: SearchOptions, o: dict, gate: EarlyStopGate) -> RLSearcher:
    space = get_space(options.space)
    if not hasattr(space, "skeleton") or not hasattr(space, "steps"):
        raise SearchError(f"--searcher rl writes cell genotypes; space {options.space!r} is not a cell space "
                          f"(use darts-cifar, darts-imagenet, or nas-segm for decoder layouts)")
    settings = RLSettings(algo=o["rl_algo"], batch=o["rl_batch"], ops=o["rl_ops"], steps=space.steps,
                          temperature=o["rl_temperature"] or None, tanh_constant=o["rl_tanh"] or None,
                          rejection_reward=o["rejection_reward"], policy=policy_settings(o))
    constraints = options.constraints if options.constraints.active else None
    return RLSearcher(settings, random.Random(options.seed), network=network_to_dict(space.network),
                      constraints=constraints, gate=gate, seed=options.seed, state_dir=options.out_dir / STATE_DIR)


@register_searcher("rl")
def run(options: SearchOptions, progress: Progress | None = None) -> SearchSummary:
    family = getattr(get_space(options.space), "family", "cell")
    if family in FAMILY_RUNS:
        return FAMILY_RUNS[family](options, progress)
    o = extra_options(options, DEFAULTS, "rl")
    gate = EarlyStopGate(p0=o["early_p0"], decay=o["early_decay"], enabled=bool(o["early_stop"]))
    searcher = make_searcher(options, o, gate)
    proxy = ProxyEvaluator(data=options.data, seed=options.seed, settings=ProxySettings(
        init_channels=o["proxy_channels"], layers=o["proxy_layers"], input_size=o["proxy_input"],
        epochs=o["epochs"], train_subset=o["proxy_train"] or None, valid_subset=o["proxy_valid"] or None))
    shaping = RewardShaping(cost=o["reward_cost"], target=reward_target(options, o), regime=o["reward_regime"])
    evaluator = RLEvaluator(proxy, shaping, options.constraints, gate, early_epochs=o["early_epochs"])
    identity = {"rl": {k: v for k, v in o.items() if k.startswith(("rl_", "rejection"))}, **evaluator.identity()}
    summary = drive(searcher, evaluator, options, progress, settings=identity)
    curve = write_reward_curve(options.out_dir, searcher.history, searcher.curve, o["rl_algo"])
    extra = {**summary.extra, "rl": {**controller_figures(searcher, o["rl_algo"]),
                                     "early_stopping": saved_compute(searcher.metrics),
                                     "reward_curve": str(curve) if curve else None}}
    return SearchSummary(best=summary.best, evaluated=summary.evaluated, resumed=summary.resumed, extra=extra)


def policy_settings(o: dict) -> PolicySettings:
    return PolicySettings(lr=o["rl_lr"], entropy_weight=o["rl_entropy"], ppo_epochs=o["rl_ppo_epochs"],
                          ppo_clip=o["rl_ppo_clip"])


def controller_figures(searcher: RLSearcher, algo: str) -> dict:
    """What the summary reports of the controller: updates, baseline, samples and how the reward moved."""
    first, last = _window_means(searcher.history)
    return {"algo": algo, "policy_updates": searcher.policy.updates, "baseline": searcher.policy.baseline,
            "samples": len(searcher.history), "rejected_by_controller": searcher.rejected,
            "reused_rewards": sum(1 for _, s in searcher.history if s == "cached"),
            "mean_reward_first": first, "mean_reward_last": last}


def _window_means(history: list[tuple[float, str]]) -> tuple[float | None, float | None]:
    """Mean reward of the first and last quarter of the controller's samples (how much it learned)."""
    if not history:
        return None, None
    k = max(1, len(history) // 4)
    rewards = [r for r, _ in history]
    return sum(rewards[:k]) / k, sum(rewards[-k:]) / k
