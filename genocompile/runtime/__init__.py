"""Artifact bundles: atomic writing, the self-checking manifest, and `load(DIR)` -> one callable for
every target (torch .pt2, AOTInductor package, ONNX Runtime, TensorRT)."""
from genocompile.runtime.load import CompiledModel, load
from genocompile.runtime.manifest import MANIFEST, BundleError, read_manifest

__all__ = ["BundleError", "CompiledModel", "MANIFEST", "load", "read_manifest"]
