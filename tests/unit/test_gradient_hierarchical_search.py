"""`genocompile search --searcher gradient --space autodeeplab` end to end, CPU-sized: the CLI writes a genotype
that builds to torch and ONNX with parity, kill -9 loses at most the epoch in flight, reruns with other
settings are refused."""
import json
import re
from pathlib import Path

import pytest

from genocompile.cli.main import main
from genocompile.genotype import load_genotype
from genocompile.searchers.gradient import checkpoint, run
from genocompile.searchers.registry import SearchOptions
from search_helpers import kill_once_checkpointed

TINY = {"filter_multiplier": 2, "layers": 3, "input_size": 32, "batch_size": 4, "steps_per_epoch": 2,
        "train_samples": 8, "eval_samples": 4, "deploy_filter_multiplier": 4, "deploy_input_size": 64,
        "deploy_num_classes": 4}


def _args(extra):
    return [a for k, v in extra.items() for a in (f"--{k.replace('_', '-')}", str(v))]


def _search(capsys, *args):
    code = main(["search", "--searcher", "gradient", "--space", "autodeeplab", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.slow
def test_cli_search_writes_a_genotype_that_builds_with_parity(tmp_path, capsys):
    out = tmp_path / "s"
    code, stdout, stderr = _search(capsys, "--budget", "2", "--json", "--out", str(out), *_args(TINY))
    assert code == 0, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert (summary["evaluated"], summary["resumed"]) == (2, 0) and len(summary["miou_per_epoch"]) == 2
    assert 0 <= summary["best"]["fitness"] <= 1 and summary["best"]["fitness"] == summary["miou_per_epoch"][-1]
    genotype = load_genotype(out / "genotype.json")
    assert genotype.to_dict() == summary["best"]["genotype"] and list(genotype.path) == summary["path"]
    assert genotype.layers == 3 and genotype.network.filter_multiplier == 4
    assert summary["expected_costs"]["multiadds"] > 0 and summary["beta_entropy"] > 0
    # Every target this machine can build (TensorRT needs a GPU: tests/unit/test_trt.py).
    code = main(["build", str(out / "genotype.json"), "--target", "torch", "--target", "aoti", "--target", "onnx",
                 "--out", str(tmp_path / "bundle")])
    assert code == 0, capsys.readouterr().err
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["multiadds"]["reference"] == summary["best"]["costs"]["multiadds"]
    for target in ("torch", "aoti", "onnx"):
        assert manifest["targets"][target]["parity"]["rel_err"] < 1e-4


def test_a_rerun_with_other_settings_is_refused_in_one_line(tmp_path, capsys):
    out = str(tmp_path / "s")
    code, _, stderr = _search(capsys, "--budget", "1", "--out", out, *_args({**TINY, "steps_per_epoch": 1}))
    assert code == 0, stderr
    code, _, stderr = _search(capsys, "--budget", "2", "--out", out, *_args({**TINY, "layers": 2}))
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2 and lines[-1].startswith("genocompile: error: ")
    assert "other settings (layers: 3)" in lines[-1] and "use a new --out" in lines[-1]
    code, _, stderr = _search(capsys, "--budget", "1", "--out", str(tmp_path / "t"), "--latency-weight", "1")
    assert code == 2 and "--latency-weight" in stderr


KILL_SCRIPT = """
import sys
from genocompile.searchers.gradient import run
from genocompile.searchers.registry import SearchOptions
run(SearchOptions(space="autodeeplab", out_dir=sys.argv[1], budget=int(sys.argv[2]), extra={extra!r}))
"""


@pytest.mark.slow
def test_kill_9_loses_at_most_the_epoch_in_flight(tmp_path):
    out = tmp_path / "k"
    budget = 3
    extra = {**TINY, "steps_per_epoch": 2}
    kill_once_checkpointed(KILL_SCRIPT.format(extra=extra), [out, budget], out / checkpoint.STATE_NAME, tmp_path)
    saved = checkpoint.load_state(out)["epochs"]  # the file is whole: never half-written
    assert 1 <= saved < budget, "the kill must land mid-search"
    assert not (out / "genotype.json").exists()
    summary = run(SearchOptions(space="autodeeplab", out_dir=out, budget=budget, extra=extra))
    assert summary.evaluated == budget and summary.resumed == saved
    assert checkpoint.load_state(out)["epochs"] == budget
    assert len(summary.extra["miou_per_epoch"]) == budget
    load_genotype(Path(out) / "genotype.json")
    # A met budget trains nothing more; a larger one continues.
    again = run(SearchOptions(space="autodeeplab", out_dir=out, budget=budget + 1, extra=extra))
    assert (again.evaluated, again.resumed) == (budget + 1, budget)


def test_cost_weight_pulls_towards_cheaper_networks_and_a_bound_decodes_under_it(tmp_path):
    from genocompile.cost.constraints import Constraints
    from genocompile.cost.counting import count_multiadds
    from genocompile.models import build_reference

    fast = {**TINY, "arch_lr": 0.2, "steps_per_epoch": 2}  # Adam: the step, not the weight, bounds the move
    plain = run(SearchOptions(space="autodeeplab", out_dir=tmp_path / "p", budget=1, extra=fast))
    costly = run(SearchOptions(space="autodeeplab", out_dir=tmp_path / "c", budget=1,
                               extra={**fast, "cost_weight": 20.0}))
    assert costly.extra["expected_costs"]["multiadds"] < 0.96 * plain.extra["expected_costs"]["multiadds"]
    # Halfway between the argmax genotype and the same path with the cheapest cell (identity edges only).
    argmax = load_genotype(tmp_path / "p" / "genotype.json")
    cheap = argmax.__class__(cell=[("identity", j) for _ in range(5) for j in (0, 1)], path=argmax.path,
                             network=argmax.network)
    cheapest = count_multiadds(build_reference(cheap, seed=0), (1, 3, 64, 64)).total
    limit = (plain.best["costs"]["multiadds"] + cheapest) // 2
    bounded = run(SearchOptions(space="autodeeplab", out_dir=tmp_path / "p", budget=1, extra=fast,
                                constraints=Constraints(max_multiadds=limit)))
    assert bounded.resumed == 1 and bounded.extra["decoded"] == "bounded" and bounded.extra["decode_changes"]
    genotype = load_genotype(tmp_path / "p" / "genotype.json")
    counted = count_multiadds(build_reference(genotype, seed=0), (1, 3, 64, 64)).total
    assert counted <= limit and bounded.best["costs"]["multiadds"] == counted


@pytest.mark.slow
def test_the_benchmark_script_runs_quick():
    from benchmark_loader import load_benchmark

    body = load_benchmark("adl_search_cpu").main(["--quick"])
    resumed = re.search(r"\| rerun: evaluated / resumed \| 3 / (\d) ", body)  # killed after a saved epoch
    assert resumed and 1 <= int(resumed.group(1)) < 3
    assert "(equal: True)" in body  # the searcher's tables against a fresh fvcore count of the deploy network
