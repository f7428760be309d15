"""The searcher's registry entry: `genocompile search --searcher gradient`."""
from __future__ import annotations

from genocompile.searchers.registry import SearchOptions, SearchSummary, register_searcher
from genocompile.searchers.gradient.search import run_search


@register_searcher("gradient")
def run(options: SearchOptions, progress=None) -> SearchSummary:
    """DARTS (first / second order) with expected deploy costs in the loss or bounds at decoding."""
    return run_search(options, progress)
