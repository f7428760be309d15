"""Which gradient search runs a space: one entry per genotype family (`cell`: DARTS, `hierarchical`:
Auto-DeepLab), looked up from the space's skeleton. A new family is one `register_family_search` entry."""
from __future__ import annotations

from typing import Callable

from genocompile.errors import SearchError
from genocompile.genotype.network import SKELETONS
from genocompile.registry import Registry
from genocompile.searchers.registry import SearchOptions, SearchSummary

FamilySearch = Callable[..., SearchSummary]  # run(options, progress) -> SearchSummary
FAMILY_SEARCHES: Registry[FamilySearch] = Registry("gradient search family", SearchError)


def register_family_search(family: str) -> Callable[[FamilySearch], FamilySearch]:
    return FAMILY_SEARCHES.decorator(family)


def searchable_spaces() -> list[str]:
    return sorted(name for name, s in SKELETONS.items() if s.family in FAMILY_SEARCHES)


def family_search(space: str) -> FamilySearch:
    skeleton = SKELETONS.get(space)
    if skeleton is None or skeleton.family not in FAMILY_SEARCHES:
        raise SearchError(f"searcher 'gradient' searches DARTS cells and Auto-DeepLab networks; space {space!r} is "
                          f"not one of {', '.join(searchable_spaces())}")
    return FAMILY_SEARCHES[skeleton.family]


def run_family_search(options: SearchOptions, progress=None) -> SearchSummary:
    return family_search(options.space)(options, progress)
