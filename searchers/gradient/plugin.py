"""The searcher's registry entry: `genocompile search --searcher gradient`, dispatched on the space's family."""
from __future__ import annotations

from genocompile.searchers.gradient.families import register_family_search, run_family_search
from genocompile.searchers.gradient.hierarchical_search import run_hierarchical
from genocompile.searchers.gradient.search import run_search
from genocompile.searchers.registry import SearchOptions, SearchSummary, register_searcher

register_family_search("cell")(run_search)  # DARTS (first / second order), hardware-aware
register_family_search("hierarchical")(run_hierarchical)  # Auto-DeepLab: α and β, Viterbi path


@register_searcher("gradient")
def run(options: SearchOptions, progress=None) -> SearchSummary:
    """DARTS or Auto-DeepLab (first / second order) with expected deploy costs in the loss or bounds at decoding."""
    return run_family_search(options, progress)
