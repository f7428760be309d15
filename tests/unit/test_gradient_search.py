"""The gradient searcher end to end on digits, CPU-sized: α learns, the genotype builds, bounds hold, resume works."""
import math
from pathlib import Path

import pytest
import torch

from genocompile.cost.constraints import Constraints
from genocompile.cost.counting import count_multiadds
from genocompile.errors import DataError
from genocompile.genotype import load_genotype
from genocompile.models import build_reference
from genocompile.searchers.gradient import checkpoint, run
from genocompile.errors import SearchError
from genocompile.searchers.registry import SearchOptions
from search_helpers import kill_once_checkpointed
from genocompile.searchers.gradient.history import HISTORY_NAME, PLOT_NAME
from genocompile.searchers.gradient.supernet import SuperNet, SupernetSpec

TINY = {"channels": 4, "layers": 3, "nodes": 3, "input_size": 8, "batch_size": 32, "steps_per_epoch": 4,
        "train_samples": 256, "eval_samples": 64}
SMALL_DEPLOY = {"deploy_channels": 8, "deploy_layers": 5}  # where the full darts-cifar network is not the point


def _opts(out, budget, **kw):
    extra = {**TINY, **kw.pop("extra", {})}
    return SearchOptions(space=kw.pop("space", "darts-cifar"), out_dir=out, budget=budget, extra=extra, **kw)


def _final_alphas(out):
    state = checkpoint.load_state(out)
    return {k: state["model"][k] for k in SuperNet.ARCH_NAMES}


@pytest.mark.slow
def test_alpha_moves_away_from_uniform_and_the_genotype_builds(tmp_path):
    from genocompile.build import BuildOptions, build

    summary = run(_opts(tmp_path / "s", 3, extra={"arch_lr": 0.03}))
    assert summary.evaluated == 3 and summary.resumed == 0
    torch.manual_seed(0)
    initial = SuperNet(SupernetSpec(channels=4, layers=3, steps=3))
    final = _final_alphas(tmp_path / "s")
    moved = max(float((final[k] - getattr(initial, k).detach()).abs().max()) for k in SuperNet.ARCH_NAMES)
    assert moved > 0.05  # DARTS initialises α at 1e-3 N(0, 1): this is far from where it started
    assert summary.extra["alpha_entropy"] < math.log(8) - 1e-3
    genotype = load_genotype(tmp_path / "s" / "genotype.json")
    assert genotype.to_dict() == summary.best["genotype"]
    assert genotype.network.skeleton == "darts-cifar" and genotype.network.init_channels == 36
    assert "none" not in {op for kind in ("normal", "reduce") for op, _ in genotype.cell(kind)[0]}
    assert (tmp_path / "s" / PLOT_NAME).stat().st_size > 0
    manifest = build(genotype, tmp_path / "bundle", BuildOptions(targets=("torch",), measure_latency=False,
                                                                 verify_samples=1))
    assert manifest["multiadds"]["reference"] == summary.best["costs"]["multiadds"]


def test_search_under_a_multiadds_bound_returns_a_genotype_under_it(tmp_path):
    limit = 250_000_000
    summary = run(_opts(tmp_path / "s", 1, constraints=Constraints(max_multiadds=limit), extra={"nodes": 4}))
    genotype = load_genotype(tmp_path / "s" / "genotype.json")
    independent = count_multiadds(build_reference(genotype, seed=0), (1, 3, 32, 32)).total
    assert independent <= limit
    assert summary.best["costs"]["multiadds"] == independent
    assert summary.extra["decoded"] in ("argmax", "bounded")
    # Near-uniform α after one short epoch decodes to conv-heavy cells, over the limit: the walk ran.
    assert summary.extra["decoded"] == "bounded" and summary.extra["decode_changes"]


def test_rerun_with_a_larger_budget_resumes_and_equals_an_uninterrupted_run(tmp_path):
    first = run(_opts(tmp_path / "a", 1, extra=SMALL_DEPLOY))
    assert (first.evaluated, first.resumed) == (1, 0)
    resumed = run(_opts(tmp_path / "a", 2, extra=SMALL_DEPLOY))
    assert (resumed.evaluated, resumed.resumed) == (2, 1)
    straight = run(_opts(tmp_path / "b", 2, extra=SMALL_DEPLOY))
    for k, v in _final_alphas(tmp_path / "a").items():
        assert torch.equal(v, _final_alphas(tmp_path / "b")[k])
    import json

    assert [r["epoch"] for r in json.loads((tmp_path / "a" / HISTORY_NAME).read_text())["epochs"]] == [0, 1]
    assert straight.best["genotype"] == resumed.best["genotype"]
    # A met budget trains nothing more.
    again = run(_opts(tmp_path / "a", 2, extra=SMALL_DEPLOY))
    assert (again.evaluated, again.resumed) == (2, 2)


def test_a_dir_of_another_search_is_refused(tmp_path):
    run(_opts(tmp_path / "a", 1, extra=SMALL_DEPLOY))
    with pytest.raises(SearchError, match="other settings .*channels"):
        run(_opts(tmp_path / "a", 2, extra={**SMALL_DEPLOY, "channels": 6}))
    with pytest.raises(SearchError, match="not one of"):
        run(_opts(tmp_path / "c", 1, space="shufflenetv2-oneshot"))


def test_second_order_search_runs(tmp_path):
    summary = run(_opts(tmp_path / "s", 1, extra={**SMALL_DEPLOY, "order": 2, "steps_per_epoch": 2,
                                                           "cost_weight": 0.5}))
    assert summary.extra["order"] == 2 and summary.evaluated == 1
    assert summary.extra["expected_costs"]["multiadds"] > 0


KILL_SCRIPT = """
import sys
from genocompile.searchers.gradient import run
from genocompile.searchers.registry import SearchOptions
extra = {extra!r}
run(SearchOptions(space="darts-cifar", out_dir=sys.argv[1], budget=int(sys.argv[2]), extra=extra))
"""


@pytest.mark.slow
def test_kill_9_loses_at_most_the_epoch_in_flight(tmp_path):
    out = tmp_path / "k"
    budget = 5
    extra = {**TINY, **SMALL_DEPLOY, "steps_per_epoch": 8}
    kill_once_checkpointed(KILL_SCRIPT.format(extra=extra), [out, budget], out / checkpoint.STATE_NAME, tmp_path)
    saved = checkpoint.load_state(out)["epochs"]  # the file is whole: never half-written
    assert 1 <= saved < budget, "the kill must land mid-search"
    assert not (out / "genotype.json").exists()
    summary = run(_opts(out, budget, extra={**SMALL_DEPLOY, "steps_per_epoch": 8}))
    assert summary.evaluated == budget and summary.resumed == saved
    assert checkpoint.load_state(out)["epochs"] == budget
    load_genotype(Path(out) / "genotype.json")


def test_cifar10_from_a_local_path(tmp_path):
    from test_classification_data import _write_cifar

    _write_cifar(tmp_path)
    summary = run(_opts(tmp_path / "s", 1, data=str(tmp_path), extra={**SMALL_DEPLOY, "steps_per_epoch": 1}))
    assert summary.evaluated == 1
    with pytest.raises(DataError, match="CIFAR-10"):
        run(_opts(tmp_path / "t", 1, data=str(tmp_path / "nowhere"), extra=SMALL_DEPLOY))


def test_cost_weights_pull_alpha_towards_cheaper_deploy_networks(tmp_path):
    from test_gradient_cost import PerOpLatency

    fast = {**SMALL_DEPLOY, "arch_lr": 0.05}
    plain = run(_opts(tmp_path / "p", 1, constraints=Constraints(latency=PerOpLatency()), extra=fast))
    costly = run(_opts(tmp_path / "c", 1, constraints=Constraints(latency=PerOpLatency()),
                       extra={**fast, "cost_weight": 20.0, "latency_weight": 20.0}))
    for d in ("multiadds", "latency_ms"):
        assert costly.extra["expected_costs"][d] < 0.95 * plain.extra["expected_costs"][d]
    with pytest.raises(SearchError, match="--latency-weight needs a latency model"):
        run(_opts(tmp_path / "n", 1, extra={**SMALL_DEPLOY, "latency_weight": 1.0}))
