"""The op table (one source of truth for op names) and the reference modules behind it."""
from genocompile.ops.table import (
    CELL_OPS, DARTS_SEARCH_OPS, OPS, SIGNATURES, OpSpec, get_op, op_set, register_op, register_signature,
)
from genocompile.ops import chain_ops  # noqa: F401,E402  (registers the chain family's blocks)
from genocompile.ops import decoder_ops  # noqa: F401,E402  (registers the decoder family's cell ops)

__all__ = ["CELL_OPS", "DARTS_SEARCH_OPS", "OPS", "OpSpec", "SIGNATURES", "get_op", "op_set", "register_op",
           "register_signature"]
