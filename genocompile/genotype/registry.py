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


def check_keys(family: str, data, known: tuple[str, ...], required: tuple[str, ...]) -> None:
    """A family's `from_dict` preamble: refuse unknown keys and name the missing required ones."""
    from genocompile.errors import GenotypeError

    unknown = sorted(set(data) - set(known))
    if unknown:
        raise GenotypeError(f"{family} genotype: unknown key(s) {', '.join(map(repr, unknown))}; "
                            f"known: {', '.join(sorted(known))}")
    for key in required:
        if key not in data:
            raise GenotypeError(f"{family} genotype: missing {key!r}; a {family} genotype needs "
                                f"{' and '.join(required)}")
