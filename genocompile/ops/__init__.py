"""The op table (one source of truth for op names) and the reference modules behind it."""
from genocompile.ops.table import AUTODEEPLAB_OPS, CELL_OPS, DARTS_SEARCH_OPS, OPS, OpSpec, get_op, op_set, register_op

__all__ = ["AUTODEEPLAB_OPS", "CELL_OPS", "DARTS_SEARCH_OPS", "OPS", "OpSpec", "get_op", "op_set", "register_op"]

from genocompile.ops import chain_ops, decoder_ops  # noqa: E402,F401  (register the chain and decoder families' ops)
