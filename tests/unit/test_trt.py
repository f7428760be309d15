"""The TensorRT emitter up to the builder call, on the CPU: the ONNX it feeds the parser, profiles,
precision handling, plan files; the builder orchestration against a recording stand-in for the
`tensorrt` module; the real engine build where TensorRT and a GPU exist."""
import importlib.util
import types

import pytest
import torch

from genocompile.emit import trt
from genocompile.emit.onnx import to_onnx
from genocompile.genotype import zoo_genotype
from genocompile.ir import lower
from genocompile.passes import optimize
from model_helpers import reference, small


@pytest.fixture(scope="module")
def graph():
    g = small(zoo_genotype("darts_v1"), "darts-cifar")
    return optimize(lower(g, reference(g).state_dict()))


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
@pytest.mark.parametrize("dynamic", [False, True])
def test_our_onnx_passes_the_parser_preconditions(graph, precision, dynamic):
    from genocompile.emit.quantize import activation_ranges

    ranges = activation_ranges(graph, [torch.randn(2, 3, 16, 16)]) if precision == "int8" else None
    trt.check_onnx(to_onnx(graph, None if dynamic else 4, precision, ranges=ranges), dynamic)


def test_parser_preconditions_refuse_what_tensorrt_would(graph):
    static = to_onnx(graph, 4)
    with pytest.raises(trt.TensorRTError, match="--dynamic-batch needs a symbolic batch"):
        trt.check_onnx(static, dynamic=True)
    with pytest.raises(trt.TensorRTError, match="dimension 0 is symbolic"):
        trt.check_onnx(to_onnx(graph, None), dynamic=False)
    odd = to_onnx(graph, 4)
    odd.graph.node[1].op_type = "Einsum"
    with pytest.raises(trt.TensorRTError, match="does not take here: Einsum"):
        trt.check_onnx(odd, dynamic=False)
    old = to_onnx(graph, 4)
    old.opset_import[0].version = 7
    with pytest.raises(trt.TensorRTError, match="opset 7 is outside"):
        trt.check_onnx(old, dynamic=False)
    spatial = to_onnx(graph, 4)
    spatial.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "h"
    with pytest.raises(trt.TensorRTError, match="dimension 2 is symbolic"):
        trt.check_onnx(spatial, dynamic=False)


def test_profiles():
    assert trt.profile_shapes("input", (3, 32, 32), 8, dynamic=False) == \
        trt.Profile("input", (8, 3, 32, 32), (8, 3, 32, 32), (8, 3, 32, 32))
    assert trt.profile_shapes("input", (3, 32, 32), 64, dynamic=True) == \
        trt.Profile("input", (1, 3, 32, 32), (64, 3, 32, 32), (64, 3, 32, 32))
    with pytest.raises(trt.TensorRTError):
        trt.profile_shapes("input", (3, 32, 32), 0, dynamic=True)


def test_precision_settings():
    assert trt.builder_settings("fp32") == trt.BuilderSettings(True, True, 2048 << 20)
    assert trt.builder_settings("fp16").strongly_typed and not trt.builder_settings("fp16").clear_tf32
    assert trt.builder_settings("int8").strongly_typed  # int8 comes from the Q/DQ ONNX, not a builder flag
    with pytest.raises(trt.TensorRTError, match="'bf16' is not supported"):
        trt.builder_settings("bf16")


def test_plan_file_is_written_atomically_and_never_empty(tmp_path):
    path = trt.write_plan(tmp_path / "model.plan", b"\x01plan")
    assert path.read_bytes() == b"\x01plan" and [p.name for p in tmp_path.iterdir()] == ["model.plan"]
    with pytest.raises(trt.TensorRTError, match="empty TensorRT plan"):
        trt.write_plan(tmp_path / "other.plan", b"")


class FakeTensorRT:
    """Records how build_engine drives the TensorRT API (names as in TensorRT 10.x / 11.x)."""

    class Logger:
        WARNING = 2

        def __init__(self, level):
            pass

    NetworkDefinitionCreationFlag = types.SimpleNamespace(STRONGLY_TYPED=5)
    MemoryPoolType = types.SimpleNamespace(WORKSPACE=0)
    BuilderFlag = types.SimpleNamespace(TF32=7)  # absent in TensorRT 11: tested both ways

    def __init__(self, parse_errors=(), tf32=True):
        self.calls = []
        self.parse_errors = list(parse_errors)
        if not tf32:
            self.BuilderFlag = types.SimpleNamespace()
        fake = self

        class Builder:
            def __init__(self, logger):
                pass

            def create_network(self, flags):
                fake.calls.append(("create_network", flags))
                return "network"

            def create_builder_config(self):
                return Config()

            def create_optimization_profile(self):
                return Profile()

            def build_serialized_network(self, network, config):
                fake.calls.append(("build", network))
                return b"PLAN"

        class Profile:
            def set_shape(self, name, lo, opt, hi):
                fake.calls.append(("profile", name, lo, opt, hi))

        class Cache:
            def __init__(self, data):
                self.data = data

            def serialize(self):
                return self.data + b"+new"

        class Config:
            def set_memory_pool_limit(self, pool, size):
                fake.calls.append(("workspace", size))

            def clear_flag(self, flag):
                fake.calls.append(("clear_flag", flag))

            def add_optimization_profile(self, profile):
                fake.calls.append(("add_profile",))

            def create_timing_cache(self, data):
                fake.calls.append(("timing_cache_in", data))
                self.cache = Cache(data)
                return self.cache

            def set_timing_cache(self, cache, ignore_mismatch):
                pass

            def get_timing_cache(self):
                return self.cache

        class OnnxParser:
            def __init__(self, network, logger):
                self.num_errors = len(fake.parse_errors)

            def parse(self, data):
                fake.calls.append(("parse", len(data)))
                return not fake.parse_errors

            def get_error(self, i):
                return fake.parse_errors[i]

        self.Builder, self.OnnxParser = Builder, OnnxParser


def test_build_engine_drives_the_api_and_keeps_the_timing_cache(graph, tmp_path):
    fake = FakeTensorRT()
    cache = tmp_path / "timing.cache"
    cache.write_bytes(b"old")
    profile = trt.profile_shapes("input", (3, 16, 16), 8, dynamic=True)
    plan = trt.build_engine(to_onnx(graph, None).SerializeToString(), profile, trt.builder_settings("fp32"), cache,
                            trt=fake)
    assert plan == b"PLAN" and cache.read_bytes() == b"old+new"
    assert ("create_network", 1 << 5) in fake.calls and ("clear_flag", 7) in fake.calls
    assert ("profile", "input", (1, 3, 16, 16), (8, 3, 16, 16), (8, 3, 16, 16)) in fake.calls
    assert ("timing_cache_in", b"old") in fake.calls
    fake11 = FakeTensorRT(tf32=False)  # TensorRT 11: no TF32 flag to clear, same code path
    trt.build_engine(b"onnx", profile, trt.builder_settings("fp32"), None, trt=fake11)
    assert not [c for c in fake11.calls if c[0] == "clear_flag"]


def test_every_parser_error_is_reported():
    fake = FakeTensorRT(parse_errors=["node 3 (Conv): bad weights", "node 9 (Slice): unsupported axes"])
    with pytest.raises(trt.TensorRTError, match=r"rejected the model \(2 error\(s\)\): node 3 \(Conv\): bad weights "
                                                r"\| node 9 \(Slice\): unsupported axes"):
        trt.build_engine(b"onnx", trt.profile_shapes("input", (3, 8, 8), 1, False), trt.builder_settings("fp16"),
                         trt=fake)


HAVE_TRT = importlib.util.find_spec("tensorrt") is not None and torch.cuda.is_available()


def test_missing_tensorrt_names_the_install(monkeypatch):
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("tensorrt is installed here")
    with pytest.raises(trt.TensorRTError, match=r"install TensorRT \(pip install genocompile\[trt\]\) on a machine "
                                                r"with an NVIDIA GPU"):
        trt.import_tensorrt()


@pytest.mark.gpu
@pytest.mark.skipif(not HAVE_TRT, reason="needs the tensorrt package and a CUDA GPU (neither is on this machine)")
@pytest.mark.parametrize("precision,tolerance", [("fp32", 1e-4), ("fp16", 1e-2), ("int8", 1e-1)])
def test_engine_build_and_run(tmp_path, precision, tolerance):
    from genocompile.build import BuildOptions, build
    from genocompile.runtime import load
    from model_helpers import inputs

    g = small(zoo_genotype("darts_v2"), "darts-cifar")
    manifest = build(g, tmp_path / "b", BuildOptions(targets=("trt",), precision=precision, device="cuda",
                                                     dynamic_batch=True, batch=8))
    assert manifest["targets"]["trt"]["parity"]["rel_err"] < tolerance
    assert (tmp_path / "b.trt-timing.cache").is_file()
    assert load(tmp_path / "b")(inputs(g, 3).cuda()).shape == (3, 10)
