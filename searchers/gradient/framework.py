"""The search framework's names this searcher uses (genocompile.searchers.registry / progress).

Until the framework is merged, `_standins` provides the same names (SEARCH_CONTRACT.md); delete both the
fallback and `_standins.py` once it is."""
from __future__ import annotations

try:
    from genocompile.errors import SearchError
    from genocompile.searchers.progress import NullProgress
    from genocompile.searchers.registry import SearchOptions, SearchSummary, extra_options, register_searcher
except ImportError:  # pragma: no cover - the framework has not landed on this branch yet
    from genocompile.searchers.gradient._standins import (  # noqa: F401
        NullProgress, SearchError, SearchOptions, SearchSummary, extra_options, register_searcher)

__all__ = ["NullProgress", "SearchError", "SearchOptions", "SearchSummary", "extra_options", "register_searcher"]
