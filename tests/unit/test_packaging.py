"""The design card's layout installs: searchers/ and kernels/ import as genocompile.* subpackages,
and the core imports without the optional backends."""
import subprocess
import sys


def test_mapped_subpackages_import():
    import genocompile.kernels
    import genocompile.searchers

    assert genocompile.searchers.__file__.replace("\\", "/").endswith("searchers/__init__.py")
    assert genocompile.kernels.__file__.replace("\\", "/").endswith("kernels/__init__.py")


def test_core_import_does_not_load_optional_backends():
    code = ("import sys, genocompile, genocompile.cost, genocompile.models, genocompile.cli.app, genocompile.ir, "
            "genocompile.passes, genocompile.emit.targets, genocompile.emit.torch, genocompile.runtime, "
            "genocompile.build; "
            "print(sorted(m for m in ('onnx', 'onnxruntime', 'tensorrt', 'ray', 'triton') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
