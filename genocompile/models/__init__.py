"""Reference models: the eager PyTorch networks every compiled artifact is checked against."""
from genocompile.models import darts  # noqa: F401  (registers the DARTS skeletons)
from genocompile.models import proxylessnas, shufflenetv2_oneshot  # noqa: F401  (chain skeletons)
from genocompile.models import decoder  # noqa: F401  (the decoder family's segmenter)
from genocompile.models.checkpoint import load_weights
from genocompile.models.registry import BUILDERS, build_reference

__all__ = ["BUILDERS", "build_reference", "load_weights"]
