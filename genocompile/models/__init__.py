"""Reference models: the eager PyTorch networks every compiled artifact is checked against."""
from genocompile.models import autodeeplab, darts  # noqa: F401  (each registers its skeletons)
from genocompile.models.checkpoint import load_weights
from genocompile.models.registry import BUILDERS, build_reference
from genocompile.models import decoder, proxylessnas, shufflenetv2_oneshot  # noqa: E402,F401  (chain, decoder)

__all__ = ["BUILDERS", "build_reference", "load_weights"]
