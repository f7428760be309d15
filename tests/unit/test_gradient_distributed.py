"""Data parallelism for the gradient search: a no-op in one process; torchrun on 2+ GPUs (skipped here)."""
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
import sys
from genocompile.searchers.gradient import run
from genocompile.searchers.registry import SearchOptions
s = run(SearchOptions(space="darts-cifar", out_dir=sys.argv[1], budget=1,
                      extra={"channels": 8, "layers": 5, "batch_size": 64, "steps_per_epoch": 4}))
print("evaluated", s.evaluated)
"""


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="DDP through torchrun needs 2 or more CUDA GPUs; none here")
def test_torchrun_two_gpus(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(SCRIPT)
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", str(script),
                          str(tmp_path / "s")], capture_output=True, text=True, env={**os.environ}, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "evaluated 1" in out.stdout and (tmp_path / "s" / "genotype.json").exists()
