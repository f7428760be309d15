"""Benchmark scripts are files, not modules of the package: tests load them by path."""
import importlib.util
from pathlib import Path

BENCH = Path(__file__).parents[1] / "benchmarks"


def load_benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
