"""Graph -> Graph passes (one pure function per file, precondition in its docstring) and the linear
pipeline that runs them (`optimize`)."""
from genocompile.passes.pipeline import DEFAULT_PIPELINE, PASSES, PassError, optimize, pipeline_for

__all__ = ["DEFAULT_PIPELINE", "PASSES", "PassError", "optimize", "pipeline_for"]
