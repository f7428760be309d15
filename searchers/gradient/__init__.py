"""Gradient-based architecture search: DARTS (first and second order) on a supernet built from the op
table, with expected deploy-network MultiAdds / latency in the loss or as a hard bound at decoding."""

from genocompile.searchers.gradient.plugin import run  # noqa: E402,F401  (registers the searcher)
