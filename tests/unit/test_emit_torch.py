"""The torch emitter: generated fx module, reduced precisions, and a .pt2 that loads without genocompile."""
import subprocess
import sys
import textwrap

import pytest
import torch

from genocompile.emit.torch import export_program, load_program, save_program, to_module
from genocompile.genotype import zoo_genotype
from genocompile.ir import interpret, lower
from genocompile.passes import optimize
from model_helpers import WITHOUT_GENOCOMPILE, inputs, reference, rel_err, small


@pytest.fixture(scope="module")
def case():
    g = small(zoo_genotype("darts_v2"), "darts-cifar")
    model = reference(g)
    return g, model, optimize(lower(g, model.state_dict()))


def test_module_is_generated_code_equal_to_the_interpreter(case):
    g, model, graph = case
    module = to_module(graph)
    assert isinstance(module, torch.fx.GraphModule)
    assert "torch.conv2d" in module.code and "interpret" not in module.code
    x = inputs(g)
    assert torch.allclose(module(x), interpret(graph, x), rtol=0, atol=1e-6)
    assert rel_err(module(x), model(x)) < 1e-5


@pytest.mark.parametrize("dtype,tolerance", [(torch.float16, 1e-2), (torch.bfloat16, 5e-2)])
def test_reduced_precision_keeps_a_float32_interface(case, dtype, tolerance):
    g, model, graph = case
    module = to_module(graph, dtype)
    x = inputs(g)
    y = module(x)
    assert y.dtype == torch.float32 and {p.dtype for p in module.parameters()} == {dtype}
    assert rel_err(y, model(x)) < tolerance


LOAD_WITHOUT_GENOCOMPILE = WITHOUT_GENOCOMPILE + textwrap.dedent("""
    sys.path = [p for p in sys.path if 'compiler' not in p or 'site-packages' in p]
    import torch
    module = torch.export.load(sys.argv[1]).module()
    x = torch.load(sys.argv[2])
    torch.save(module(x), sys.argv[3])
    assert not any(m.startswith('genocompile') for m in sys.modules)
""")


def test_pt2_loads_with_plain_torch_in_a_process_without_genocompile(case, tmp_path):
    g, model, graph = case
    program = export_program(to_module(graph), inputs(g, 1), dynamic_batch=True, max_batch=8)
    save_program(program, tmp_path / "model.pt2")
    x = inputs(g, 3)
    torch.save(x, tmp_path / "x.pt")
    subprocess.run([sys.executable, "-c", LOAD_WITHOUT_GENOCOMPILE, str(tmp_path / "model.pt2"),
                    str(tmp_path / "x.pt"), str(tmp_path / "y.pt")], check=True, capture_output=True)
    assert rel_err(torch.load(tmp_path / "y.pt"), model(x)) < 1e-5
    assert torch.equal(load_program(tmp_path / "model.pt2")(x), torch.load(tmp_path / "y.pt"))


def test_static_export_specialises_the_batch(case):
    g, model, graph = case
    program = export_program(to_module(graph), inputs(g, 2))
    with pytest.raises(Exception):
        program.module()(inputs(g, 3))
