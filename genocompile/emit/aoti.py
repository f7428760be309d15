"""The AOTInductor emitter: a torch.export program compiled ahead of time into a `.pt2` package for one
device (`cpu` needs a C++ compiler; `cuda` needs nvcc and a GPU), loadable with
`torch._inductor.aoti_load_package` and no genocompile."""
from __future__ import annotations

from pathlib import Path


def compile_package(program, path: Path) -> Path:
    from torch._inductor import aoti_compile_and_package

    return Path(aoti_compile_and_package(program, package_path=str(path)))


def load_package(path: Path, device: str = "cpu"):
    from torch._inductor import aoti_load_package

    return aoti_load_package(str(path))
