"""Argument parsing shared by several commands."""
from __future__ import annotations

import re

from genocompile.errors import GenocompileError
from genocompile.genotype import Genotype, load_genotype

GENOTYPE_HELP = ("a genotype: JSON file, bundle directory, zoo:NAME, or the JSON / DARTS Genotype(...) text itself")


def parse_input_size(text: str | None) -> tuple[int, int] | None:
    """'224', '224x224' or '512x1024' -> (H, W)."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX,]\s*(\d+))?\s*", text)
    if not m:
        raise GenocompileError(f"--input-size {text!r}: write HxW, e.g. 224x224")
    h = int(m.group(1))
    return (h, int(m.group(2) or h))


def resolve_genotype(source: str, skeleton: str | None = None, input_size: str | None = None) -> Genotype:
    """Load a genotype and apply the network overrides given on the command line."""
    genotype = load_genotype(source)
    size = parse_input_size(input_size)
    if skeleton or size:
        genotype = genotype.with_network(skeleton=skeleton, input_size=size)
    return genotype
