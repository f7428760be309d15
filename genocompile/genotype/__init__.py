"""Genotypes: frozen, validated plain data with one canonical JSON form and a content hash."""
from genocompile.genotype.cell import CellGenotype  # each family module registers itself on import
from genocompile.genotype.hierarchical import AutoDeepLabNetwork, HierarchicalGenotype
from genocompile.genotype.io import (
    FORMAT_VERSION,
    Genotype,
    genotype_from_dict,
    genotype_hash,
    load_genotype,
    parse_genotype_text,
    to_json,
)
from genocompile.genotype.registry import FAMILIES, register_family
from genocompile.genotype.network import SKELETONS, DartsNetwork, get_skeleton
from genocompile.genotype.zoo import register_zoo, zoo_genotype, zoo_names
from genocompile.genotype.chain import ChainGenotype  # noqa: E402,F401  (the chain family)
from genocompile.genotype.decoder import DecoderGenotype  # noqa: E402,F401  (the decoder family)
from genocompile.genotype import chain_zoo, decoder_zoo  # noqa: E402,F401  (their published entries)

__all__ = [
    "AutoDeepLabNetwork", "CellGenotype", "DartsNetwork", "FAMILIES", "FORMAT_VERSION", "Genotype",
    "HierarchicalGenotype", "SKELETONS", "genotype_from_dict", "genotype_hash", "get_skeleton", "load_genotype",
    "parse_genotype_text", "register_family", "register_zoo", "to_json", "zoo_genotype", "zoo_names",
]
