"""Typed errors. The library raises them; only the CLI turns them into an exit code.

Every message names the offending thing and the way out, in one line, e.g.
``cell normal, node 3: unknown op 'sep_conv_9x9'; known: avg_pool_3x3, ...``.
"""


class GenocompileError(Exception):
    """Base of every error caused by bad input (as opposed to a bug in genocompile)."""

    exit_code = 2


class GenotypeError(GenocompileError, ValueError):
    """A genotype that cannot be parsed or does not validate."""


class CheckpointError(GenocompileError):
    """A weights file that does not fit the model it is loaded into."""


class ShapeError(GenocompileError, ValueError):
    """An input whose shape or dtype the model cannot take."""


class DataError(GenocompileError):
    """A data set that is missing, laid out wrongly, or does not fit the task."""


class CostModelError(GenocompileError):
    """A cost model (lookup table, latency predictor) that is missing, malformed or made for another device,
    or a constraint no available cost model can check."""


class SearchError(GenocompileError):
    """A search that cannot run as asked: an output directory holding another search, an unknown searcher,
    space or searcher option, or constraints no candidate of the space can meet."""
