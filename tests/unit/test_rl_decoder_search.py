"""`genocompile search --searcher rl --space nas-segm` end to end: a tiny search killed with -9 and rerun
resumes (the teacher is not retrained), prints its --json summary and writes genotype.json; the best layout
builds to torch and ONNX with parity, and the auxiliary cells it was trained with reach no artifact."""
import json
import os
import signal
import subprocess
import sys
import time

import onnx
import pytest
import torch

from genocompile.cli.main import main
from genocompile.genotype import load_genotype
from genocompile.ir import lower
from genocompile.models import build_reference
from genocompile.passes import optimize
from search_helpers import ok_rows

TINY = {"stage1_steps": "2", "stage2_steps": "2", "teacher_steps": "2", "train": "16", "valid": "8",
        "batch_size": "4", "agg": "8", "teacher_agg": "8", "rl_batch": "2", "early_p0": "0.3", "deploy_input": "64"}
AUX = "aux_clfs"


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    """A budget-3 search killed with -9 after its first evaluation, then rerun to the end."""
    out = tmp_path_factory.mktemp("decoder") / "s"
    args = [sys.executable, "-m", "genocompile", "search", "--searcher", "rl", "--space", "nas-segm", "--budget", "3",
            "--json", "--out", str(out), *[a for k, v in TINY.items() for a in ("--" + k.replace("_", "-"), v)]]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)  # its own group: the kill takes its workers too
    deadline = time.time() + 240
    while time.time() < deadline and first.poll() is None and len(ok_rows(out)) < 1:
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    done = len(ok_rows(out))
    teacher = (out / "teacher.pt").stat().st_mtime_ns
    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    return out, done, teacher, json.loads(rerun.stdout.strip().splitlines()[-1])


def test_kill_9_then_rerun_resumes_and_prints_the_json_summary(killed_and_resumed):
    out, done, teacher, summary = killed_and_resumed
    assert 1 <= done < 3, "the first run should be stopped part-way"
    assert (summary["evaluated"], summary["resumed"]) == (3, done)
    rows = ok_rows(out)
    assert len(rows) == 3 and len({h for h, _ in rows}) == 3
    assert summary["best"]["fitness"] == max(f for _, f in rows)
    assert (out / "teacher.pt").stat().st_mtime_ns == teacher  # trained once per DIR
    rl = summary["rl"]
    assert rl["algo"] == "ppo" and rl["early_stopping"]["steps_full"] == 3 * 4
    assert 0 <= rl["teacher"]["miou"] <= 1 and rl["policy_updates"] == 1
    best = load_genotype(out / "genotype.json")
    assert best.to_dict()["cell"] == summary["best"]["genotype"]["cell"]
    assert best.network.skeleton == "nas-segm" and not best.network.auxiliary  # the deploy network
    assert list(best.network.input_size) == [64, 64] and summary["best"]["costs"]["multiadds"] > 0


def test_the_best_layout_builds_with_parity_and_without_auxiliary_cells(killed_and_resumed, tmp_path):
    from genocompile.runtime import load, read_manifest

    out = killed_and_resumed[0]
    build = tmp_path / "build"
    assert main(["build", str(out / "genotype.json"), "-t", "torch", "-t", "aoti", "-t", "onnx", "--out", str(build)]) == 0
    manifest = read_manifest(build)
    genotype = load_genotype(out / "genotype.json")
    model = build_reference(genotype, seed=0)
    x = torch.randn(1, 3, 64, 64)
    for target in ("torch", "aoti", "onnx"):
        assert manifest["targets"][target]["parity"]["rel_err"] < 1e-4
        assert (load(build, target)(x) - model(x)).abs().max() / model(x).abs().max() < 1e-4
    onnx_model = onnx.load(str(build / "model.onnx"))
    assert not any(AUX in n for n in [i.name for i in onnx_model.graph.initializer] +
                   [n.name for n in onnx_model.graph.node])
    # The network it was trained in had auxiliary cells; compiling that one drops them too.
    trained = genotype.with_network(auxiliary=True, aux_cell=True)
    state = build_reference(trained, seed=0).state_dict()
    assert any(AUX in k for k in state)
    graph = optimize(lower(trained, state))
    assert not any(AUX in key for key in graph.weights)
    assert not any(AUX in n.name or AUX in n.source for n in graph.nodes)


def test_options_of_the_cell_search_are_refused_for_the_decoder_space(tmp_path, capsys):
    assert main(["search", "--searcher", "rl", "--space", "nas-segm", "--budget", "1", "--out", str(tmp_path),
                 "--rl-ops", "darts"]) != 0
    assert "has no option --rl-ops" in capsys.readouterr().err
