"""The AOTInductor target on the CPU (needs g++): built, verified, and loaded without genocompile."""
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch

from genocompile.build import BuildOptions, build
from genocompile.genotype import zoo_genotype
from genocompile.models import build_reference
from model_helpers import WITHOUT_GENOCOMPILE, inputs, rel_err

LOAD = WITHOUT_GENOCOMPILE + textwrap.dedent("""
    import torch
    from torch._inductor import aoti_load_package
    runner = aoti_load_package(sys.argv[1])
    torch.save(runner(torch.load(sys.argv[2])), sys.argv[3])
""")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="AOTInductor on the CPU needs g++")
def test_aoti_package_builds_verifies_and_loads_without_genocompile(tmp_path):
    g = zoo_genotype("darts_v2").with_network(init_channels=4, layers=1, input_size=(8, 8))  # tiny: C++ build time
    manifest = build(g, tmp_path / "b", BuildOptions(targets=("aoti",), dynamic_batch=True, batch=4,
                                                     measure_latency=False))
    assert manifest["targets"]["aoti"]["parity"]["rel_err"] < 1e-4
    x = inputs(g, 3)
    torch.save(x, tmp_path / "x.pt")
    subprocess.run([sys.executable, "-c", LOAD, str(tmp_path / "b" / "model.aoti.pt2"), str(tmp_path / "x.pt"),
                    str(tmp_path / "y.pt")], check=True, capture_output=True)
    assert rel_err(torch.load(tmp_path / "y.pt"), build_reference(g)(x)) < 1e-4


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="AOTInductor on the CPU needs g++")
def test_aoti_builds_a_shufflenet_chain(tmp_path):
    # The chain family's IR kinds (strided channel slices of the ShuffleNetV2 split, concat) through Inductor.
    from genocompile.genotype.chain import ChainGenotype

    net = {"skeleton": "spos-imagenet", "stage_repeats": [1, 2, 1, 1], "stage_out_channels": [4, 8, 12, 16, 24, 32],
           "num_classes": 10, "input_size": [32, 32]}
    g = ChainGenotype(space="shufflenetv2-oneshot", choices=[0, 3, 1, 2, 3], network=net, name="tiny_chain")
    manifest = build(g, tmp_path / "b", BuildOptions(targets=("aoti",), dynamic_batch=True, batch=4,
                                                     measure_latency=False))
    assert manifest["targets"]["aoti"]["parity"]["rel_err"] < 1e-4
