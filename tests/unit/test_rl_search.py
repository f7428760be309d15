"""`--searcher rl` through the framework: a feasible genotype under a MultiAdds bound (checked by an independent
fvcore count), resume, kill -9 then rerun, the --json line, the reward curve, saved compute."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from genocompile.cost.constraints import Constraints
from genocompile.genotype import load_genotype
from genocompile.searchers.registry import SearchOptions, get_searcher
from search_helpers import ok_rows

LIMIT = 250_000_000
TINY = {"proxy_channels": "4", "proxy_layers": "3", "proxy_input": "8", "epochs": "2", "early_p0": "0.5",
        "proxy_train": "256", "proxy_valid": "128"}


def independent_multiadds(genotype) -> int:
    """fvcore's FlopCountAnalysis on a freshly built reference model (not genocompile's counting helpers)."""
    from fvcore.nn import FlopCountAnalysis

    from genocompile.models import build_reference

    model = build_reference(genotype, seed=0).eval()
    analysis = FlopCountAnalysis(model, torch.zeros(1, 3, *genotype.network.input_size))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(analysis.total())


@pytest.mark.parametrize("algo", ["reinforce"])  # PPO runs in the kill -9 test below
def test_search_under_a_multiadds_bound_is_feasible_and_resumes(tmp_path, algo):
    options = SearchOptions(space="darts-cifar", out_dir=tmp_path / algo, budget=3, seed=1,
                            constraints=Constraints(max_multiadds=LIMIT), extra={**TINY, "rl_algo": algo})
    summary = get_searcher("rl")(options)
    assert (summary.evaluated, summary.resumed) == (3, 0)
    best = load_genotype(tmp_path / algo)
    assert best.to_dict()["normal"] == summary.best["genotype"]["normal"]
    assert independent_multiadds(best) <= LIMIT
    rl = summary.extra["rl"]
    assert rl["rejected_by_controller"] > 0  # most random cells are over 250M: told as penalties, not evaluated
    assert rl["early_stopping"]["epochs_full"] == 3 * 2
    assert (tmp_path / algo / "reward_curve.png").stat().st_size > 0
    rows = ok_rows(tmp_path / algo)

    again = get_searcher("rl")(options)  # rerun: everything comes from DIR, nothing is evaluated
    assert (again.evaluated, again.resumed) == (3, 3) and ok_rows(tmp_path / algo) == rows
    assert again.extra["rl"]["policy_updates"] == rl["policy_updates"]


def test_kill_9_then_rerun_meets_the_budget(tmp_path):
    out = tmp_path / "s"
    args = [sys.executable, "-m", "genocompile", "search", "--searcher", "rl", "--space", "darts-cifar",
            "--budget", "3", "--json", "--out", str(out), "--rl-algo", "ppo",
            *[a for k, v in TINY.items() for a in ("--" + k.replace("_", "-"), v)]]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # Its own process group, so the kill takes its evaluation workers too (as a crash of the machine would).
    first = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and first.poll() is None:
        if (out / "journal.sqlite").exists() and len(ok_rows(out)) >= 1:
            break
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    done = len(ok_rows(out))
    assert 1 <= done < 3, "the first run should be stopped part-way"

    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert (summary["evaluated"], summary["resumed"]) == (3, done)
    rows = ok_rows(out)
    assert len(rows) == 3 and len({h for h, _ in rows}) == 3
    assert summary["rl"]["algo"] == "ppo" and summary["best"]["fitness"] == max(f for _, f in rows)


@pytest.mark.parametrize("args, fragment", [
    (["--rl-algo", "a2c"], "unknown RL algorithm (--rl-algo) 'a2c'; known: reinforce, ppo"),
    (["--reward-regime", "medium"], "--reward-regime 'medium': choose one of soft, hard"),
    (["--rl-ops", "amoeba"], "--rl-ops 'amoeba': choose one of darts, nasnet"),
    (["--space", "shufflenetv2-oneshot"], "space 'shufflenetv2-oneshot' is not a cell space"),
    (["--space", "darts-mars"], "unknown search space"),
])
def test_bad_rl_options_are_one_line_errors(tmp_path, capsys, args, fragment):
    from genocompile.cli.main import main

    code = main(["search", "--searcher", "rl", "--space", "darts-cifar", "--budget", "1", "--out",
                 str(tmp_path / "s"), *args])
    stderr = capsys.readouterr().err
    assert code == 2 and fragment in stderr.strip().splitlines()[-1] and "Traceback" not in stderr


def test_evaluator_stops_below_average_candidates_after_the_first_stage_and_shapes_the_reward():
    from genocompile.genotype import zoo_genotype
    from genocompile.searchers.evaluation import ProxyEvaluator, ProxySettings
    from genocompile.searchers.rl.early_stop import EarlyStopGate
    from genocompile.searchers.rl.evaluation import RLEvaluator
    from genocompile.searchers.rl.reward import RewardShaping

    proxy = ProxyEvaluator(settings=ProxySettings(init_channels=4, layers=3, input_size=8, epochs=3,
                                                  train_subset=128, valid_subset=64))
    genotype = zoo_genotype("darts_v2")
    gate = EarlyStopGate(p0=0.0)  # p = 0: a below-average candidate always stops
    gate.observe(2.0)  # an average no accuracy reaches
    stopped = RLEvaluator(proxy, RewardShaping(), Constraints(), gate, early_epochs=1)(genotype)
    assert stopped.metrics["stopped_early"] and stopped.metrics["epochs_run"] == 1
    assert stopped.fitness == stopped.metrics["early_reward"] == stopped.metrics["valid_acc"]

    shaping = RewardShaping(cost="multiadds", target=250e6, regime="hard")
    full = RLEvaluator(proxy, shaping, Constraints(), EarlyStopGate(p0=0.0), early_epochs=1)(genotype)
    assert not full.metrics["stopped_early"] and full.metrics["epochs_run"] == 3  # no average yet: no stop
    multiadds = full.costs["multiadds"]
    assert multiadds > 250e6 and full.fitness == pytest.approx(full.metrics["valid_acc"] * 250e6 / multiadds)


def test_ray_evaluates_in_parallel_and_updates_the_policy_in_batches(tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'genocompile[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
    try:
        options = SearchOptions(space="darts-cifar", out_dir=tmp_path, budget=4, executor="ray", workers=2,
                                extra={**TINY, "rl_algo": "ppo", "rl_batch": "2"})
        summary = get_searcher("rl")(options)
    finally:
        ray.shutdown()
    assert (summary.evaluated, summary.resumed) == (4, 0) and len(ok_rows(tmp_path)) == 4
    assert summary.extra["rl"]["policy_updates"] == 2  # every 2 results, as they arrive from the workers
