"""Packaging: the folders `searchers/` and `kernels/` sit at the top level (the design card fixes the
layout) but install as `genocompile.searchers` and `genocompile.kernels`, because both bare names
collide with other distributions on PyPI. Metadata lives in pyproject.toml."""
from setuptools import find_packages, setup


def _mapped(folder: str, prefix: str) -> list[str]:
    return [prefix] + [f"{prefix}.{p}" for p in find_packages(folder)]


setup(
    packages=find_packages(include=["genocompile", "genocompile.*"])
    + _mapped("searchers", "genocompile.searchers")
    + _mapped("kernels", "genocompile.kernels"),
    package_dir={
        "genocompile.searchers": "searchers",
        "genocompile.kernels": "kernels",
    },
    package_data={"genocompile": ["py.typed"]},
)
