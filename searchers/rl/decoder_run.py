"""`genocompile search --searcher rl --space nas-segm`: the auxiliary-cell decoder search (Nekrasov et al. 2019).

The controller writes decoder layouts (`decoder_space.py`), PPO updates it (the paper's choice; REINFORCE
with `--rl-algo reinforce`), and each layout is trained on the generated shapes in two stages with early
stopping, auxiliary cells, knowledge distillation and Polyak averaging (`decoder_evaluation.py`), through
the framework's driver (journal, resume, constraint rejection, executors, --json). The teacher is trained
once per DIR before the first candidate (DIR/teacher.pt). DIR/genotype.json holds the best layout in the
deploy network (the `nas-segm` skeleton's defaults: 21 classes, 512x512, 64 decoder channels, no
auxiliary heads), so `genocompile build DIR/genotype.json` compiles it without them.

Each `--name value` option below sets the field of the same name (see DecoderProxySettings for meanings).
"""
from __future__ import annotations

import random
from dataclasses import fields, replace

from genocompile.searchers.driver import check_directory, drive
from genocompile.searchers.progress import Progress
from genocompile.searchers.registry import SearchOptions, SearchSummary, extra_options
from genocompile.searchers.rl import run as rl_run
from genocompile.searchers.rl.decoder_evaluation import (DecoderEvaluator, DecoderProxySettings, load_teacher,
                                                         train_teacher)
from genocompile.searchers.rl.decoder_space import DecoderLayoutSpace
from genocompile.searchers.rl.early_stop import EarlyStopGate, saved_compute
from genocompile.searchers.rl.plot import write_reward_curve
from genocompile.searchers.rl.reward import RewardShaping
from genocompile.searchers.rl.searcher import RLSearcher, RLSettings
from genocompile.searchers.spaces import get_space

PROXY_FIELDS = {f.name: f.default for f in fields(DecoderProxySettings)}
DEFAULTS = {
    **{k: v for k, v in rl_run.DEFAULTS.items() if k.startswith(("rl_", "rejection", "reward_", "early_"))
       and k not in ("rl_ops", "early_epochs")},
    "rl_algo": "ppo",
    **PROXY_FIELDS,
    "encoder_weights": "",  # a local MobileNetV2 state_dict (encoder or whole segmenter); "" = the teacher's
    "deploy_input": 0,  # side of the deploy network's (square) input; 0 = the skeleton's default (512)
}


def make_searcher(options: SearchOptions, o: dict, gate: EarlyStopGate, space: DecoderLayoutSpace) -> RLSearcher:
    settings = RLSettings(algo=o["rl_algo"], batch=o["rl_batch"], temperature=o["rl_temperature"] or None,
                          tanh_constant=o["rl_tanh"] or None, rejection_reward=o["rejection_reward"],
                          policy=rl_run.policy_settings(o))
    constraints = options.constraints if options.constraints.active else None
    return RLSearcher(settings, random.Random(options.seed), constraints=constraints, gate=gate, seed=options.seed,
                      space=space, state_dir=options.out_dir / rl_run.STATE_DIR)


def run_decoder(options: SearchOptions, progress: Progress | None = None) -> SearchSummary:
    o = extra_options(options, DEFAULTS, "rl")
    space = get_space(options.space)
    if o["deploy_input"]:  # the network the result is for: costs, constraints and genotype.json
        space = replace(space, network={**space.network, "input_size": [o["deploy_input"]] * 2})
    gate = EarlyStopGate(p0=o["early_p0"], decay=o["early_decay"], enabled=bool(o["early_stop"]))
    searcher = make_searcher(options, o, gate, space)
    proxy = DecoderProxySettings(**{k: o[k] for k in PROXY_FIELDS})
    shaping = RewardShaping(cost=o["reward_cost"], target=rl_run.reward_target(options, o), regime=o["reward_regime"])
    teacher = options.out_dir / "teacher.pt"
    evaluator = DecoderEvaluator(proxy, str(teacher), shaping, options.constraints, gate, seed=options.seed,
                                 encoder_weights=o["encoder_weights"] or None)
    identity = {"rl": {k: v for k, v in o.items() if k.startswith(("rl_", "rejection"))}, "deploy": space.network,
                **evaluator.identity()}
    check_directory(searcher, options, identity)  # refuse another search's DIR before training the teacher
    if not teacher.exists() and progress is not None:
        progress.update(done=0, total=options.budget, best=None, rejected=0, message="training the teacher")
    train_teacher(options.out_dir, proxy, options.seed, evaluator.encoder_weights)
    summary = drive(searcher, evaluator, options, progress, settings=identity)
    curve = write_reward_curve(options.out_dir, searcher.history, searcher.curve, o["rl_algo"])
    taught = load_teacher(str(teacher))
    extra = {**summary.extra, "rl": {
        **rl_run.controller_figures(searcher, o["rl_algo"]), "early_stopping": saved_compute(searcher.metrics, "steps"),
        "teacher": {**taught["figures"], "seconds": taught["seconds"]},
        "reward_curve": str(curve) if curve else None}}
    return SearchSummary(best=summary.best, evaluated=summary.evaluated, resumed=summary.resumed, extra=extra)


rl_run.FAMILY_RUNS["decoder"] = run_decoder
