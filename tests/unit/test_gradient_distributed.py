"""Data parallelism for the gradient search: a no-op in one process; torchrun with gloo on the CPU, and on
2+ GPUs with NCCL (skipped without them)."""
import os
import subprocess
import sys

import pytest
import torch

from genocompile.searchers.gradient.distributed import Dist, setup


def test_single_process_is_a_no_op(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    dist = setup("cpu")
    assert not dist.enabled and dist.is_main and dist.device == "cpu"
    g = [torch.ones(3)]
    dist.all_reduce(g)
    assert torch.equal(g[0], torch.ones(3))
    x = torch.arange(10)
    assert torch.equal(dist.shard(x), x)


def test_ranks_take_disjoint_slices_covering_the_batch():
    x = torch.arange(10)
    parts = [Dist(rank=r, world=3).shard(x) for r in range(3)]
    assert sorted(torch.cat(parts).tolist()) == list(range(10))


SCRIPT = """
import sys, torch
import torch.distributed as dist
from genocompile.searchers.gradient import run
from genocompile.searchers.registry import SearchOptions
s = run(SearchOptions(space="darts-cifar", out_dir=sys.argv[1], budget=1, extra=dict(
    channels=4, layers=3, nodes=2, input_size=8, batch_size=16, steps_per_epoch=2, train_samples=64,
    eval_samples=32, deploy_channels=8, deploy_layers=5)))
# Every rank ends with the same α (its entropy and expected cost, computed from the rank's own α, agree):
# gradients were averaged, so the replicas never drifted apart although each saw its own slice of the batch.
mine = torch.tensor([s.extra["alpha_entropy"], s.extra["expected_costs"]["multiadds"]], dtype=torch.float64)
gathered = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
dist.all_gather(gathered, mine)
print("rank", dist.get_rank(), "evaluated", s.evaluated, "same", all(torch.equal(g, gathered[0]) for g in gathered))
"""


def _torchrun(tmp_path, procs):
    script = tmp_path / "ddp.py"
    script.write_text(SCRIPT)
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(procs),
                          "--standalone", str(script), str(tmp_path / "s")], capture_output=True, text=True,
                         env={**os.environ}, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tmp_path):
    stdout = _torchrun(tmp_path, 2)
    assert stdout.count("evaluated 1 same True") == 2
    assert (tmp_path / "s" / "genotype.json").exists()


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="DDP through torchrun needs 2 or more CUDA GPUs; none here")
def test_torchrun_two_gpus(tmp_path):
    assert _torchrun(tmp_path, 2).count("evaluated 1 same True") == 2
