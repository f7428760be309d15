"""`genocompile search --searcher gradient`: DARTS on the op table's supernet, resumable, hardware-aware.

Per epoch (quark0/darts train_search.py): for each batch, one α step on the α half of the training data
(`Architect`, first or second order, plus `cost_weight` x expected deploy MultiAdds / `latency_weight` x
expected latency, each relative to its value at uniform α), then one SGD step of the weights on the weight
half; the learning rate follows DARTS' cosine schedule over the budget. After each epoch the state goes to
DIR atomically (`checkpoint.py`) with α's history and plot; `--budget` counts epochs, a rerun resumes.
At the end α is decoded (DARTS' rule, or the bounded walk when constraints are given) into the deploy
network of the space's skeleton and written to DIR/genotype.json.
"""
from __future__ import annotations

import contextlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from genocompile.errors import GenotypeError, SearchError
from genocompile.genotype import to_json
from genocompile.genotype.network import SKELETONS, network_from_dict
from genocompile.searchers.gradient import checkpoint, history
from genocompile.searchers.gradient.bilevel import Architect, Hyper, cosine_lr
from genocompile.searchers.gradient.decode import decode_argmax, decode_bounded
from genocompile.searchers.gradient.deploy_cost import DeployCost
from genocompile.searchers.gradient.distributed import Dist, setup
from genocompile.searchers.gradient.supernet import SuperNet, SupernetSpec
from genocompile.searchers.output import write_genotype
from genocompile.searchers.progress import NullProgress
from genocompile.searchers.registry import SearchOptions, SearchSummary, check_ranges, extra_options

NAME = "gradient"

# Searcher options (`options.extra`, CLI `--order 2` ...). Defaults: DARTS' search setting.
DEFAULTS: dict[str, Any] = {
    "order": 1,  # 1: first-order DARTS, 2: second order (unrolled, finite-difference Hessian-vector product)
    "cost_weight": 0.0,  # weight of expected deploy MultiAdds (relative to uniform α) in the α loss
    "latency_weight": 0.0,  # weight of expected latency (needs a latency model with a per-op table)
    "channels": 16,
    "layers": 8,
    "nodes": 4,
    "input_size": 32,  # proxy input side (data is resized to it)
    "batch_size": 64,
    "steps_per_epoch": 0,  # 0: one pass over the weight half
    "train_samples": 0,  # 0: all training examples (split in halves for weights and α)
    "eval_samples": 0,  # 0: the whole validation split for the epoch's accuracy
    "schedule_epochs": 0,  # cosine schedule length; 0: the budget
    "lr": 0.025,
    "arch_lr": 3e-4,
    "fast": True,  # batched per-state edge evaluation (same function as DARTS' loop)
    "deploy_channels": 0,  # the deploy network's init_channels; 0: the skeleton's default (darts-cifar: 36)
    "deploy_layers": 0,  # the deploy network's cells; 0: the skeleton's default (darts-cifar: 20)
}
# What a DIR's search is: a rerun with other values is refused rather than mixed into it.
IDENTITY = ("space", "data", "seed", "channels", "layers", "nodes", "input_size", "order", "train_samples",
            "deploy_channels", "deploy_layers")


@dataclass(frozen=True)
class Config:
    space: str
    data: str
    seed: int
    order: int
    cost_weight: float
    latency_weight: float
    channels: int
    layers: int
    nodes: int
    input_size: int
    batch_size: int
    steps_per_epoch: int
    train_samples: int
    eval_samples: int
    schedule_epochs: int
    lr: float
    arch_lr: float
    fast: bool
    deploy_channels: int
    deploy_layers: int


def make_config(options: SearchOptions) -> Config:
    opts = extra_options(options, DEFAULTS, NAME)
    skeleton = SKELETONS.get(options.space)
    if skeleton is None or skeleton.family != "cell":
        cells = sorted(s.name for s in SKELETONS.values() if s.family == "cell")
        raise SearchError(f"searcher 'gradient' searches DARTS cells; space {options.space!r} is not one of "
                          f"{', '.join(cells)}")
    if opts["order"] not in (1, 2):
        raise SearchError(f"--order must be 1 or 2, got {opts['order']}")
    check_ranges(opts, positive=("channels", "layers", "nodes", "input_size", "batch_size"),
                 non_negative=("cost_weight", "latency_weight", "steps_per_epoch", "train_samples", "eval_samples",
                               "schedule_epochs", "deploy_channels", "deploy_layers"))
    if opts["input_size"] % 4:
        raise SearchError(f"--input-size must be a multiple of 4 (two FactorizedReduce halvings), "
                          f"got {opts['input_size']}")
    return Config(space=options.space, data=options.data or "digits", seed=options.seed, **opts)


def _deploy_network(cfg: Config) -> Any:
    """The network the genotype is meant for: the space's skeleton, its defaults unless overridden."""
    settings: dict[str, Any] = {"skeleton": cfg.space}
    if cfg.deploy_channels:
        settings["init_channels"] = cfg.deploy_channels
    if cfg.deploy_layers:
        settings["layers"] = cfg.deploy_layers
    try:
        return network_from_dict(settings, "cell", cfg.space)
    except GenotypeError as exc:
        raise SearchError(f"deploy network: {exc}") from None


class _Data:
    """Training examples split in halves (weights / α) and the validation split, on the device."""

    def __init__(self, cfg: Config, device: str):
        from genocompile.data.classification import load_classification

        data = load_classification(None if cfg.data == "digits" else cfg.data, seed=cfg.seed)
        data = data.subset(train=cfg.train_samples or None, valid=cfg.eval_samples or None)
        data = data.resized((cfg.input_size, cfg.input_size))
        half = len(data.train_x) // 2
        if half < 2:
            raise SearchError(f"{data.name}: {len(data.train_x)} training examples is too few to split")
        self.num_classes = data.num_classes
        self.w_x, self.w_y = data.train_x[:half].to(device), data.train_y[:half].to(device)
        self.a_x, self.a_y = data.train_x[half:].to(device), data.train_y[half:].to(device)
        self.v_x, self.v_y = data.valid_x.to(device), data.valid_y.to(device)


def _validate(model: SuperNet, x: torch.Tensor, y: torch.Tensor, batch: int, cfg: Config, amp) -> float:
    model.eval()
    correct = 0
    with torch.no_grad(), amp():
        for i in range(0, len(x), batch):
            correct += int((model(x[i:i + batch], fast=cfg.fast).argmax(1) == y[i:i + batch]).sum())
    model.train()
    return correct / max(len(x), 1)


def _expected_fn(cost: DeployCost, latency: Any, network: Any) -> tuple[tuple[str, ...], Callable]:
    """(dimensions, expected(alphas) -> {dimension: differentiable expected cost}): the deploy-cost tables (all
    dimensions in one pass), and for latency without a per-op table, the cost model's own
    `expected_latency_ms` over its lookup table (genocompile.cost.predictor)."""
    extra: Callable | None = None
    if "latency_ms" not in cost.dims and latency is not None:
        try:
            from genocompile.cost.predictor import LatencyPredictor, expected_latency_ms
        except ImportError:  # the latency cost model is not installed
            LatencyPredictor = None
        if LatencyPredictor is not None and isinstance(latency, LatencyPredictor):
            def extra(alphas):
                return expected_latency_ms(alphas["normal"].double(), alphas["reduce"].double(), latency, network,
                                           cost.ops)

    def expected(alphas) -> dict[str, torch.Tensor]:
        out = dict(cost.expected(alphas))
        if extra is not None:
            out["latency_ms"] = extra(alphas)
        return out

    return cost.dims + (("latency_ms",) if extra is not None else ()), expected


def _cost_term(cfg: Config, cost: DeployCost, latency: Any, network: Any):
    """cost_weight · E[MultiAdds]/E_uniform + latency_weight · E[latency]/E_uniform, or None."""
    weights = {d: w for d, w in (("multiadds", cfg.cost_weight), ("latency_ms", cfg.latency_weight)) if w > 0}
    if not weights:
        return None
    dims, expected = _expected_fn(cost, latency, network)
    if "latency_ms" in weights and "latency_ms" not in dims:
        raise SearchError("--latency-weight needs a latency model (--latency-model LUT.json) with a per-op "
                          "table or genocompile's latency predictor")
    return relative_cost_term(weights, expected, {k: torch.zeros_like(t) for k, t in cost.tables["multiadds"].items()})


def relative_cost_term(weights: dict[str, float], expected: Callable, uniform: Any) -> Callable:
    """Σ_d w_d · E_d(arch) / E_d(uniform arch), each dimension's expectation computed once per call."""
    scale = {d: float(v) for d, v in expected(uniform).items() if d in weights}

    def term(arch):
        costs = expected(arch)
        return sum(w * costs[d].to(torch.float64) / scale[d] for d, w in weights.items())

    return term


def _alpha_entropy(model: SuperNet) -> float:
    ent = [-(torch.softmax(a.detach().double(), -1) * torch.log_softmax(a.detach().double(), -1)).sum(-1).mean()
           for a in model.arch_parameters()]
    return float(sum(ent) / len(ent))


def run_search(options: SearchOptions, progress=None, dist: Dist | None = None) -> SearchSummary:
    progress = progress or NullProgress()
    cfg = make_config(options)
    dist = dist or setup()
    out_dir = Path(options.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    network = _deploy_network(cfg)
    constraints = options.constraints

    device = dist.device
    cuda = device.startswith("cuda")
    data = _Data(cfg, device)
    spec = SupernetSpec(channels=cfg.channels, layers=cfg.layers, steps=cfg.nodes, num_classes=data.num_classes)
    torch.manual_seed(cfg.seed)
    # channels_last on every device: measured faster here too (benchmarks/gradient_search_cpu.py).
    model = SuperNet(spec).to(device).to(memory_format=torch.channels_last)
    h = Hyper(lr=cfg.lr, arch_lr=cfg.arch_lr)
    # Deploy-cost tables: for the cost terms, bounded decoding, and the expected costs the summary reports.
    cost = DeployCost(network, spec.ops, spec.steps, constraints.latency)
    architect = Architect(model, h, cfg.order, _cost_term(cfg, cost, constraints.latency, network), dist.all_reduce,
                          cfg.fast)
    w_opt = torch.optim.SGD(model.weights(), lr=h.lr, momentum=h.momentum, weight_decay=h.weight_decay)

    identity = {k: v for k, v in asdict(cfg).items() if k in IDENTITY}
    records: list[dict] = []
    done = 0
    state = checkpoint.load_state(out_dir)
    if state is not None:
        checkpoint.check_identity(out_dir, state, identity)
        model.load_state_dict(state["model"])
        w_opt.load_state_dict(state["w_opt"])
        architect.optimizer.load_state_dict(state["a_opt"])
        checkpoint.set_rng_state(state["rng"])
        records, done = state["history"], state["epochs"]
    resumed = min(done, options.budget)
    schedule = cfg.schedule_epochs or options.budget
    amp = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda else contextlib.nullcontext
    n = len(data.w_x)
    steps = cfg.steps_per_epoch or math.ceil(n / cfg.batch_size)

    def prepare(x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last)

    acc = records[-1]["valid_acc"] if records else None
    last_loss = f" (last epoch's loss {records[-1]['train_loss']:.3f})" if records else ""
    progress.update(done=min(done, options.budget), total=options.budget, best=acc,
                    message=f"resumed at epoch {done}" if done else "starting")
    for epoch in range(done, options.budget):
        lr = cosine_lr(h, epoch, schedule)
        for group in w_opt.param_groups:
            group["lr"] = lr
        # Batches from a generator seeded by (seed, epoch): a resumed epoch sees the batches it would have.
        gen = torch.Generator().manual_seed(cfg.seed * 100003 + epoch)
        w_order, a_order = torch.randperm(n, generator=gen), torch.randperm(len(data.a_x), generator=gen)
        total_loss = torch.zeros((), device=device)  # summed on the device: one host sync per epoch
        for step in range(steps):
            wi = w_order[(step * cfg.batch_size) % n:][:cfg.batch_size]
            ai = a_order[(step * cfg.batch_size) % len(data.a_x):][:cfg.batch_size]
            xt, yt = prepare(dist.shard(data.w_x[wi])), dist.shard(data.w_y[wi])
            xv, yv = prepare(dist.shard(data.a_x[ai])), dist.shard(data.a_y[ai])
            # Second order takes finite differences of gradients: full precision there.
            with amp() if cfg.order == 1 else contextlib.nullcontext():
                architect.step(xt, yt, xv, yv, lr, w_opt)
            for a in model.arch_parameters():
                a.requires_grad_(False)  # the weight step needs no α gradient
            w_opt.zero_grad(set_to_none=True)
            with amp():
                loss = F.cross_entropy(model(xt, fast=cfg.fast), yt)
            loss.backward()
            dist.all_reduce([p.grad for p in model.weights() if p.grad is not None])
            torch.nn.utils.clip_grad_norm_(model.weights(), h.grad_clip)
            w_opt.step()
            for a in model.arch_parameters():
                a.requires_grad_(True)
            total_loss += loss.detach().float()
            progress.update(done=epoch, total=options.budget, best=acc,
                            message=f"epoch {epoch + 1} step {step + 1}/{steps}" + last_loss)
        acc = _validate(model, data.v_x, data.v_y, cfg.batch_size, cfg, amp)
        train_loss = float(total_loss) / steps
        last_loss = f" (last epoch's loss {train_loss:.3f})"
        records.append(history.epoch_record(epoch, model.alphas(), {
            "train_loss": train_loss, "valid_acc": acc, "lr": lr, "alpha_entropy": _alpha_entropy(model)}))
        if dist.is_main:
            checkpoint.save_state(out_dir, {
                "identity": identity, "epochs": epoch + 1, "model": model.state_dict(), "w_opt": w_opt.state_dict(),
                "a_opt": architect.optimizer.state_dict(), "rng": checkpoint.rng_state(), "history": records})
            history.write_history(out_dir, spec.ops, records)
        dist.barrier()
        done = epoch + 1
        progress.update(done=done, total=options.budget, best=acc, message=f"epoch {done} valid acc {acc:.3f}")

    alphas = {k: a.detach().cpu() for k, a in model.alphas().items()}
    if constraints.active:
        decoded = decode_bounded(alphas, spec.ops, spec.steps, network, constraints, cost)
        genotype, costs, changes = decoded.genotype, decoded.costs, decoded.changes
    else:
        genotype = decode_argmax(alphas, spec.ops, spec.steps, network)
        costs, changes = constraints.costs(genotype), []
    if dist.is_main:
        history.write_plot(out_dir, spec.ops, records)  # once per run: drawing costs about a second
        write_genotype(out_dir, genotype.to_dict(), name=genotype.name)
    if changes:
        progress.update(done=done, total=options.budget, best=acc,
                        message=f"argmax genotype breaks {constraints.describe()}: decoded the best feasible "
                                f"alternative ({len(changes)} edge changes)")
    extra = {"searcher": NAME, "order": cfg.order, "decoded": "bounded" if changes else "argmax",
             "decode_changes": changes, "alpha_entropy": _alpha_entropy(model),
             "history": str(out_dir / history.HISTORY_NAME), "plot": str(out_dir / history.PLOT_NAME)}
    expected = _expected_fn(cost, constraints.latency, network)[1]
    extra["expected_costs"] = {d: float(v) for d, v in expected(alphas).items()}
    best = {"genotype": json.loads(to_json(genotype)), "fitness": acc if acc is not None else float("nan"),
            "costs": {k: float(v) for k, v in costs.items()}}
    return SearchSummary(best=best, evaluated=done, resumed=resumed, extra=extra)
