"""Genotype families register here: `family` name -> class with `from_dict`, `to_dict`, `network`,
`with_network`, `renamed`. A new family is one new module that decorates its class with
`@register_family` and is imported by `genocompile.genotype`."""
from __future__ import annotations

FAMILIES: dict[str, type] = {}


def register_family(cls: type) -> type:
    if cls.family in FAMILIES:
        raise RuntimeError(f"genotype family {cls.family!r} registered twice")
    FAMILIES[cls.family] = cls
    return cls
