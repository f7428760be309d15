"""Genotypes: frozen, validated plain data with one canonical JSON form and a content hash."""
from genocompile.genotype.cell import CellGenotype
from genocompile.genotype.io import (
    FAMILIES,
    FORMAT_VERSION,
    Genotype,
    genotype_from_dict,
    genotype_hash,
    load_genotype,
    parse_genotype_text,
    register_family,
    to_json,
)
from genocompile.genotype.network import SKELETONS, DartsNetwork, get_skeleton
from genocompile.genotype.zoo import zoo_genotype, zoo_names

__all__ = [
    "CellGenotype", "DartsNetwork", "FAMILIES", "FORMAT_VERSION", "Genotype", "SKELETONS", "genotype_from_dict",
    "genotype_hash", "get_skeleton", "load_genotype", "parse_genotype_text", "register_family", "to_json",
    "zoo_genotype", "zoo_names",
]
