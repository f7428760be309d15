"""Graph IR: immutable typed nodes with inferred shapes, a verifier, a stable dump, the reference
interpreter, and the lowering registries (genotype -> graph). See `genocompile.ir.ops` (node kinds) and
`genocompile.ir.lower` (op and skeleton lowerings) for the extension points."""
from genocompile.ir.graph import Graph, GraphBuilder, Node, dump, verify
from genocompile.ir.interpret import interpret
from genocompile.ir.lower import (SKELETON_LOWERINGS, attach_weights, lower, lower_structure,
                                  register_skeleton_lowering)
from genocompile.ir.ops import IR_OPS, IRError, IROp, get_ir_op, register_ir_op
# The one place the families' skeleton lowerings register (DARTS, Auto-DeepLab, chain, decoder): importing any
# genocompile.ir module runs this first, so `lower_structure` always finds them.
from genocompile.ir import lower_autodeeplab, lower_chain, lower_darts, lower_decoder  # noqa: E402,F401

__all__ = ["Graph", "GraphBuilder", "IRError", "IROp", "IR_OPS", "Node", "SKELETON_LOWERINGS", "attach_weights",
           "dump", "get_ir_op", "interpret", "lower", "lower_structure", "register_ir_op",
           "register_skeleton_lowering", "verify"]
