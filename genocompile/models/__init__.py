"""Reference models: the eager PyTorch networks every compiled artifact is checked against."""
from genocompile.models import darts  # noqa: F401  (registers the DARTS skeletons)
from genocompile.models.checkpoint import load_weights
from genocompile.models.registry import BUILDERS, build_reference
from genocompile.models import decoder, proxylessnas, shufflenetv2_oneshot  # noqa: E402,F401  (chain, decoder)

__all__ = ["BUILDERS", "build_reference", "load_weights"]
