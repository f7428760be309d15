"""`genocompile search --searcher gradient --space autodeeplab`: Auto-DeepLab's hierarchical search, resumable.

Per epoch (Auto-DeepLab section 4.1, DARTS' loop): for each batch one α/β step on the α half of the
training data (`bilevel.Architect`, first or second order, α and β both architecture parameters, plus
`cost_weight` x expected deploy MultiAdds relative to uniform α/β), then one SGD step of the weights on the
weight half; per-pixel cross-entropy ignoring the ignore label; the weights' learning rate follows the
cosine schedule over the budget. The epoch's fitness is the validation mIoU. After each epoch the state
goes to DIR atomically (`checkpoint.py`); `--budget` counts epochs and a rerun resumes. At the end the cell
is decoded greedily and the path by Viterbi (or the bounded walk under constraints) into the autodeeplab
deploy network and written to DIR/genotype.json.

Depth: the decoded path has one rate per searched layer, so the deploy network takes the searched L
(`--layers`, default 4 on CPU; the paper searches and deploys L = 12). Its other settings are the
skeleton's defaults (F=20, 1024x2048, 19 classes) unless `--deploy-filter-multiplier`,
`--deploy-input-size`, `--deploy-num-classes` say otherwise.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from genocompile.data.metrics import IGNORE_INDEX, MeanIoU
from genocompile.errors import GenotypeError, SearchError
from genocompile.genotype import to_json
from genocompile.genotype.hierarchical import RATES
from genocompile.genotype.network import network_from_dict
from genocompile.searchers.gradient import checkpoint, history
from genocompile.searchers.gradient.bilevel import Architect, Hyper, cosine_lr
from genocompile.searchers.gradient.hierarchical_cost import HierarchicalCost
from genocompile.searchers.gradient.hierarchical_decode import decode_argmax, decode_bounded
from genocompile.searchers.gradient.hierarchical_supernet import HierarchicalSpec, HierarchicalSuperNet
from genocompile.searchers.gradient.trellis import LEVELS, log_probs, move_mask, viterbi
from genocompile.searchers.output import write_genotype
from genocompile.searchers.progress import NullProgress
from genocompile.searchers.registry import SearchOptions, SearchSummary, check_ranges, extra_options

NAME = "gradient"
SKELETON = "autodeeplab"

DEFAULTS: dict[str, Any] = {
    "order": 1,  # 1: first-order, 2: second order (bilevel.py)
    "cost_weight": 0.0,  # weight of expected deploy MultiAdds (relative to uniform α, β) in the α/β loss
    "latency_weight": 0.0,  # not available for this space (refused when > 0)
    "filter_multiplier": 4,  # F of the supernet (the paper: 8)
    "layers": 4,  # L: the searched (and deployed) path length (the paper: 12)
    "blocks": 5,  # B
    "input_size": 32,  # proxy input side (shapes are generated at it; Cityscapes is resized to it)
    "batch_size": 8,
    "steps_per_epoch": 0,  # 0: one pass over the weight half
    "train_samples": 64,  # split in halves for weights and α/β
    "eval_samples": 32,  # validation images for the epoch's mIoU
    "schedule_epochs": 0,  # cosine schedule length; 0: the budget
    "lr": 0.025,
    "arch_lr": 3e-3,  # Auto-DeepLab's α/β learning rate
    "fast": True,  # batched per-state edge evaluation (same function as the loop)
    "deploy_filter_multiplier": 0,  # 0: the skeleton's default (20)
    "deploy_input_size": 0,  # N: an NxN deploy input; 0: the skeleton's default (1024x2048)
    "deploy_num_classes": 0,  # 0: the skeleton's default (19)
}
IDENTITY = ("space", "data", "seed", "filter_multiplier", "layers", "blocks", "input_size", "order",
            "train_samples", "eval_samples", "deploy_filter_multiplier", "deploy_input_size", "deploy_num_classes")


@dataclass(frozen=True)
class Config:
    space: str
    data: str
    seed: int
    order: int
    cost_weight: float
    latency_weight: float
    filter_multiplier: int
    layers: int
    blocks: int
    input_size: int
    batch_size: int
    steps_per_epoch: int
    train_samples: int
    eval_samples: int
    schedule_epochs: int
    lr: float
    arch_lr: float
    fast: bool
    deploy_filter_multiplier: int
    deploy_input_size: int
    deploy_num_classes: int


def make_config(options: SearchOptions) -> Config:
    opts = extra_options(options, DEFAULTS, NAME)
    if opts["order"] not in (1, 2):
        raise SearchError(f"--order must be 1 or 2, got {opts['order']}")
    check_ranges(opts, positive=("filter_multiplier", "layers", "blocks", "input_size", "batch_size"),
                 non_negative=("cost_weight", "steps_per_epoch", "schedule_epochs", "deploy_filter_multiplier",
                               "deploy_input_size", "deploy_num_classes"))
    if opts["latency_weight"]:
        raise SearchError("--latency-weight: the hierarchical searcher has no per-op latency tables yet; use "
                          "--cost-weight (expected MultiAdds) or bound latency with --max-latency-ms")
    if opts["train_samples"] < 4 or opts["eval_samples"] < 2:
        raise SearchError(f"--train-samples must be >= 4 and --eval-samples >= 2 (BatchNorm needs two images), got "
                          f"{opts['train_samples']} and {opts['eval_samples']}")
    deepest = RATES[min(LEVELS - 1, opts["layers"])]
    if opts["input_size"] % deepest:
        raise SearchError(f"--input-size must be a multiple of {deepest}, the deepest rate {opts['layers']} layers "
                          f"reach, got {opts['input_size']}")
    return Config(space=options.space, data=options.data or "shapes", seed=options.seed, **opts)


def deploy_network(cfg: Config) -> Any:
    """The network the genotype is meant for: the autodeeplab skeleton, its defaults unless overridden."""
    settings: dict[str, Any] = {"skeleton": SKELETON}
    if cfg.deploy_filter_multiplier:
        settings["filter_multiplier"] = cfg.deploy_filter_multiplier
    if cfg.deploy_input_size:
        settings["input_size"] = [cfg.deploy_input_size, cfg.deploy_input_size]
    if cfg.deploy_num_classes:
        settings["num_classes"] = cfg.deploy_num_classes
    try:
        network = network_from_dict(settings, "hierarchical", SKELETON)
    except GenotypeError as exc:
        raise SearchError(f"deploy network: {exc}") from None
    deepest = RATES[min(LEVELS - 1, cfg.layers)]
    if any(side % deepest for side in network.input_size):
        raise SearchError(f"deploy network: input_size {list(network.input_size)} must be divisible by {deepest}, "
                          f"the deepest rate a {cfg.layers}-layer path reaches; pick --deploy-input-size accordingly")
    return network


class SegmentationData:
    """Training images split in halves (weights / α, β) and the validation images, on the device."""

    def __init__(self, cfg: Config, device: str):
        size = (cfg.input_size, cfg.input_size)
        if cfg.data == "shapes":
            from genocompile.data.segmentation import SyntheticShapes

            train = SyntheticShapes(count=cfg.train_samples, size=size, seed=cfg.seed).tensors()
            valid = SyntheticShapes(count=cfg.eval_samples, size=size, seed=cfg.seed + 7919).tensors()
            self.num_classes = SyntheticShapes(1).num_classes
        else:  # a local Cityscapes copy, images resized to the proxy input (labels by nearest neighbour)
            from genocompile.data.segmentation import Cityscapes

            train = _resized(Cityscapes(cfg.data, "train"), cfg.train_samples, size)
            valid = _resized(Cityscapes(cfg.data, "val"), cfg.eval_samples, size)
            self.num_classes = Cityscapes(cfg.data, "val").num_classes
        half = len(train[0]) // 2
        self.w_x, self.w_y = train[0][:half].to(device), train[1][:half].to(device)
        self.a_x, self.a_y = train[0][half:].to(device), train[1][half:].to(device)
        self.v_x, self.v_y = valid[0].to(device), valid[1].to(device)


def _resized(dataset, count: int, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    items = [dataset[i] for i in range(min(count, len(dataset)))]
    x = F.interpolate(torch.stack([i[0] for i in items]), size=size, mode="bilinear", align_corners=False)
    y = F.interpolate(torch.stack([i[1] for i in items])[:, None].float(), size=size, mode="nearest")[:, 0].long()
    return x, y


def validate(model: HierarchicalSuperNet, x: torch.Tensor, y: torch.Tensor, batch: int, num_classes: int,
             fast: bool) -> float:
    """Validation mIoU; batches of at least two images (batch-statistics BatchNorm on 1x1 maps needs two)."""
    metric = MeanIoU(num_classes)
    model.eval()
    starts = list(range(0, len(x), batch))
    if len(starts) > 1 and len(x) - starts[-1] < 2:
        starts.pop()
    with torch.no_grad():
        for k, i in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else len(x)
            metric.update(model(x[i:end], fast=fast).argmax(1), y[i:end])
    model.train()
    return metric.compute()["miou"]


def arch_entropy(model: HierarchicalSuperNet) -> dict[str, float]:
    """Mean entropy of α's rows and of β's move distributions (over the trellis' nodes)."""
    a = model.alpha.detach().double()
    alpha = float(-(torch.softmax(a, -1) * torch.log_softmax(a, -1)).sum(-1).mean())
    lp = log_probs(model.beta.detach().double())
    mask = move_mask(model.beta.shape[0])
    nodes = mask.any(-1)
    terms = torch.where(mask, -lp.exp() * lp.masked_fill(~mask, 0.0), torch.zeros_like(lp)).sum(-1)
    return {"alpha_entropy": alpha, "beta_entropy": float(terms[nodes].mean())}


def run_hierarchical(options: SearchOptions, progress=None) -> SearchSummary:
    progress = progress or NullProgress()
    cfg = make_config(options)
    out_dir = Path(options.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    network = deploy_network(cfg)
    constraints = options.constraints
    device = "cuda" if torch.cuda.is_available() else "cpu"
    data = SegmentationData(cfg, device)
    spec = HierarchicalSpec(filter_multiplier=cfg.filter_multiplier, layers=cfg.layers, blocks=cfg.blocks,
                            num_classes=data.num_classes)
    torch.manual_seed(cfg.seed)
    model = HierarchicalSuperNet(spec).to(device)
    h = Hyper(lr=cfg.lr, arch_lr=cfg.arch_lr)
    cost = HierarchicalCost(network, spec.ops, spec.blocks, spec.layers)
    term = None
    if cfg.cost_weight > 0:
        from genocompile.searchers.gradient.search import relative_cost_term

        term = relative_cost_term({"multiadds": cfg.cost_weight}, cost.expected,
                                  {k: v.to(device) for k, v in cost.uniform().items()})
    architect = Architect(model, h, cfg.order, term, None, cfg.fast)
    w_opt = torch.optim.SGD(model.weights(), lr=h.lr, momentum=h.momentum, weight_decay=h.weight_decay)

    identity = {k: v for k, v in asdict(cfg).items() if k in IDENTITY}
    identity["family"] = "hierarchical"
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
    n, n_a = len(data.w_x), len(data.a_x)
    batch = min(cfg.batch_size, n, n_a)
    steps = cfg.steps_per_epoch or math.ceil(n / batch)

    def loss_of(x, y):
        return F.cross_entropy(model(x, fast=cfg.fast), y, ignore_index=IGNORE_INDEX)

    miou = records[-1]["valid_miou"] if records else None
    last_loss = f" (last epoch's loss {records[-1]['train_loss']:.3f})" if records else ""
    progress.update(done=min(done, options.budget), total=options.budget, best=miou,
                    message=f"resumed at epoch {done}" if done else "starting")
    for epoch in range(done, options.budget):
        lr = cosine_lr(h, epoch, schedule)
        for group in w_opt.param_groups:
            group["lr"] = lr
        # Batches from a generator seeded by (seed, epoch): a resumed epoch sees the batches it would have.
        gen = torch.Generator().manual_seed(cfg.seed * 100003 + epoch)
        w_order, a_order = torch.randperm(n, generator=gen), torch.randperm(n_a, generator=gen)
        total_loss = torch.zeros((), device=device)  # summed on the device: one host sync per epoch
        for step in range(steps):
            wi = w_order[(step * batch) % n:][:batch]
            ai = a_order[(step * batch) % n_a:][:batch]
            if len(wi) < 2 or len(ai) < 2:  # a ragged tail of one image: batch-statistics BN needs two
                wi, ai = w_order[:batch], a_order[:batch]
            xt, yt, xv, yv = data.w_x[wi], data.w_y[wi], data.a_x[ai], data.a_y[ai]
            architect.step(xt, yt, xv, yv, lr, w_opt)
            for a in model.arch_parameters():
                a.requires_grad_(False)  # the weight step needs no α/β gradient
            w_opt.zero_grad(set_to_none=True)
            loss = loss_of(xt, yt)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.weights(), h.grad_clip)
            w_opt.step()
            for a in model.arch_parameters():
                a.requires_grad_(True)
            total_loss += loss.detach()
            progress.update(done=epoch, total=options.budget, best=miou,
                            message=f"epoch {epoch + 1} step {step + 1}/{steps}" + last_loss)
        miou = validate(model, data.v_x, data.v_y, batch, data.num_classes, cfg.fast)
        train_loss = float(total_loss) / steps
        last_loss = f" (last epoch's loss {train_loss:.3f})"
        path, _ = viterbi(model.beta)
        records.append(history.epoch_record(epoch, {"hierarchical": model.alpha}, {
            "train_loss": train_loss, "valid_miou": miou, "lr": lr, "path": path,
            "beta_probs": log_probs(model.beta.detach().double()).exp().tolist(), **arch_entropy(model)}))
        checkpoint.save_state(out_dir, {
            "identity": identity, "epochs": epoch + 1, "model": model.state_dict(), "w_opt": w_opt.state_dict(),
            "a_opt": architect.optimizer.state_dict(), "rng": checkpoint.rng_state(), "history": records})
        history.write_history(out_dir, spec.ops, records)
        done = epoch + 1
        progress.update(done=done, total=options.budget, best=miou, message=f"epoch {done} valid mIoU {miou:.3f}")

    arch = {k: v.detach().cpu() for k, v in model.alphas().items()}
    if constraints.active:
        decoded = decode_bounded(arch, spec.ops, spec.blocks, network, constraints, cost)
        genotype, costs, changes = decoded.genotype, decoded.costs, decoded.changes
    else:
        genotype = decode_argmax(arch, spec.ops, spec.blocks, network)
        costs, changes = cost.of_genotype(genotype), []
    history.write_plot(out_dir, spec.ops, records)
    write_genotype(out_dir, genotype.to_dict(), name=genotype.name)
    if changes:
        progress.update(done=done, total=options.budget, best=miou,
                        message=f"argmax genotype breaks {constraints.describe()}: decoded the best feasible "
                                f"alternative ({len(changes)} changes)")
    extra = {"searcher": NAME, "family": "hierarchical", "order": cfg.order,
             "decoded": "bounded" if changes else "argmax", "decode_changes": changes,
             "path": list(genotype.path), "cell": [list(e) for e in genotype.cell], **arch_entropy(model),
             "miou_per_epoch": [r["valid_miou"] for r in records],
             "expected_costs": {d: float(v) for d, v in cost.expected(arch).items()},
             "history": str(out_dir / history.HISTORY_NAME), "plot": str(out_dir / history.PLOT_NAME)}
    best = {"genotype": json.loads(to_json(genotype)), "fitness": miou if miou is not None else float("nan"),
            "costs": {k: float(v) for k, v in costs.items()}}
    return SearchSummary(best=best, evaluated=done, resumed=resumed, extra=extra)
