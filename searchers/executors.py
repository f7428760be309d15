"""Where candidate evaluations run: local worker processes (default) or Ray tasks (`--executor ray`).

An executor takes `submit(key, fn, arg)` and hands back finished work from `wait()` as it arrives (at least
one item; any order), so the driver commits each result the moment it exists. `fn(arg)` must be picklable
(a module-level callable object): it runs in another process, possibly on another machine.

Local: a pool of `spawn`ed processes (fork would copy the parent's OpenMP state into the children, which can
hang torch). Ray: each evaluation is one task; `ray.init()` joins the cluster named by RAY_ADDRESS when set,
otherwise starts a local instance with `workers` CPUs.
"""
from __future__ import annotations

import multiprocessing
import os
import socket
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from genocompile.errors import SearchError
from genocompile.registry import Registry


@dataclass(frozen=True)
class Finished:
    key: Any
    value: Any  # fn(arg)
    started: float  # wall-clock time the evaluation began (time.time())
    seconds: float
    worker: str  # host:pid that ran it


def run_timed(fn: Callable[[Any], Any], arg: Any) -> tuple[Any, float, float, str]:
    started = time.time()
    value = fn(arg)
    return value, started, time.time() - started, f"{socket.gethostname()}:{os.getpid()}"


class Executor(Protocol):
    def submit(self, key: Any, fn: Callable[[Any], Any], arg: Any) -> None: ...

    def wait(self) -> list[Finished]: ...

    def pending(self) -> int: ...

    def close(self) -> None: ...


EXECUTORS: Registry[Callable[[int], Executor]] = Registry("executor", SearchError)


@EXECUTORS.decorator("local")
class LocalExecutor:
    def __init__(self, workers: int = 1):
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        self._futures: dict[Future, Any] = {}

    def submit(self, key: Any, fn: Callable[[Any], Any], arg: Any) -> None:
        self._futures[self._pool.submit(run_timed, fn, arg)] = key

    def pending(self) -> int:
        return len(self._futures)

    def wait(self) -> list[Finished]:
        done, _ = futures_wait(list(self._futures), return_when=FIRST_COMPLETED)
        return [Finished(self._futures.pop(f), *f.result()) for f in done]  # result() re-raises a worker's error

    def close(self) -> None:
        for future in self._futures:
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)


@EXECUTORS.decorator("ray")
class RayExecutor:
    def __init__(self, workers: int = 1):
        try:
            import ray
        except ImportError:
            raise SearchError("--executor ray needs Ray: pip install 'genocompile[ray]'") from None
        self._ray = ray
        self._started = not ray.is_initialized()  # shut down on close only what this executor started
        if self._started:
            if os.environ.get("RAY_ADDRESS"):
                ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        self._task = ray.remote(num_cpus=1)(run_timed)
        self._refs: dict[Any, Any] = {}

    def submit(self, key: Any, fn: Callable[[Any], Any], arg: Any) -> None:
        self._refs[self._task.remote(fn, arg)] = key

    def pending(self) -> int:
        return len(self._refs)

    def wait(self) -> list[Finished]:
        ready, _ = self._ray.wait(list(self._refs), num_returns=1)
        return [Finished(self._refs.pop(ref), *self._ray.get(ref)) for ref in ready]

    def close(self) -> None:
        for ref in self._refs:
            self._ray.cancel(ref, force=True)
        self._refs.clear()
        if self._started:
            self._ray.shutdown()


def make_executor(name: str, workers: int) -> Executor:
    return EXECUTORS.get_or_raise(name)(workers)
