"""Data parallelism under torchrun (one process per GPU, or gloo processes on the CPU; WORLD_SIZE > 1).

The supernet's weight and α gradients are averaged across ranks with all-reduce after each backward, which
is what DistributedDataParallel does for the weights; it is done by hand because the second-order α step
runs the network through `torch.func.functional_call` at shifted weights, outside any DDP wrapper. Each rank
takes its own slice of every batch; rank 0 alone writes DIR. Without torchrun everything is a no-op."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    device: str = "cpu"

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce(self, grads: list[torch.Tensor]) -> None:
        """Average `grads` in place across ranks."""
        if not self.enabled:
            return
        import torch.distributed as dist

        for g in grads:
            dist.all_reduce(g, op=dist.ReduceOp.SUM)
            g.div_(self.world)

    def shard(self, x: torch.Tensor) -> torch.Tensor:
        """This rank's slice of a batch."""
        return x[self.rank::self.world] if self.enabled else x

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()


def setup(device: str | None = None) -> Dist:
    """Join the torchrun process group when there is one (WORLD_SIZE > 1): NCCL with one GPU per process
    where there are enough GPUs, else gloo on the CPU. Without torchrun, a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Dist(device=device or ("cuda" if torch.cuda.is_available() else "cpu"))
    import torch.distributed as dist

    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    gpus = torch.cuda.is_available() and torch.cuda.device_count() > local
    if gpus:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if gpus else "gloo")
    return Dist(rank, world, f"cuda:{local}" if gpus else "cpu")
