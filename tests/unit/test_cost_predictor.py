"""The predictor sums the table over the blocks of the compiled network; calibration corrects it; the expected
latency under op probabilities is differentiable and equals the table sum at a one-hot choice."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from genocompile.cli.main import main
from genocompile.cost.blocks import block_key, network_blocks, op_block
from genocompile.cost.constraints import constraints_from_options
from genocompile.cost.predictor import LatencyPredictor, expected_latency_ms, fit_calibration
from genocompile.cost.profile import get_space
from genocompile.errors import CostModelError
from genocompile.genotype import to_json
from cost_factory import TINY, synthetic_lut, tiny_genotype


def test_sum_is_over_every_block_the_network_names():
    lut = synthetic_lut()
    g = tiny_genotype(1)
    blocks = network_blocks(g)
    layers, steps = TINY["layers"], 4
    # stem, per cell: 2 preprocess + 2 ops per node + a sum per node + the concat, then the head
    assert len(blocks) == 1 + layers * (2 + 2 * steps + steps + 1) + 1
    assert {b.name for b in blocks} >= {"stem", "head", "cells.0.preprocess0", "cells.2._ops.7", "cells.1.out"}
    predictor = LatencyPredictor(lut)
    assert predictor.lut_ms(g) == pytest.approx(sum(lut.entries[b.key]["ms"] for b in blocks))
    assert predictor.lut_ms(g) == pytest.approx(sum(ms for _, _, ms in predictor.breakdown(g)))
    assert predictor.predict_ms(g) == predictor.lut_ms(g)  # no calibration yet


def test_an_op_has_one_key_wherever_it_occurs():
    g = get_space("darts-cifar").probe("sep_conv_5x5", TINY)
    first = next(b for b in network_blocks(g) if b.name == "cells.0._ops.0")
    assert first.key == block_key(op_block("sep_conv_5x5", (4, 8, 8), 4, 1))
    assert first.key != block_key(op_block("sep_conv_5x5", (4, 8, 8), 4, 2))


def test_a_block_the_table_lacks_is_named():
    lut = synthetic_lut()
    bigger = tiny_genotype(1).with_network(init_channels=6)
    with pytest.raises(CostModelError, match="no entry for block .* init_channels=4"):
        LatencyPredictor(lut).predict_ms(bigger)


def test_calibration_reduces_error_on_synthetic_networks():
    rng = np.random.default_rng(0)
    features = [{"lut_ms": l, "nodes": n, "cells": 3, "one": 1.0}
                for l, n in zip(rng.uniform(5, 20, 30), rng.integers(50, 200, 30))]
    truth = [0.8 * f["lut_ms"] + 0.02 * f["nodes"] + 1.5 for f in features]
    measured = [t * (1 + rng.normal(0, 0.01)) for t in truth]
    cal = fit_calibration(features, measured)
    raw = np.median([abs(f["lut_ms"] / m - 1) for f, m in zip(features, measured)])
    assert cal["fit_rel_err_median"] < 0.02 < raw
    lut = synthetic_lut()
    lut.calibration = cal
    g = tiny_genotype(2)
    f = LatencyPredictor(lut).features(g)
    assert LatencyPredictor(lut).predict_ms(g) == pytest.approx(sum(c * f[k] for c, k in zip(cal["coef"],
                                                                                             cal["features"])))


def _one_hot(genotype, kind, ops):
    edges, _ = genotype.cell(kind)
    logits = torch.full((14, len(ops)), -1e9, dtype=torch.float64)
    logits[:, ops.index("none")] = 0.0  # edges the genotype does not use
    chosen = {}
    for e, (op, j) in enumerate(edges):
        chosen[(2 + e // 2, j)] = op
    index = 0
    for k in range(2, 6):
        for j in range(k):
            if (k, j) in chosen:
                logits[index] = -1e9
                logits[index, ops.index(chosen[(k, j)])] = 0.0
            index += 1
    return logits


@pytest.mark.parametrize("seed", [0, 3])
def test_expected_latency_is_the_table_sum_at_one_hot(seed):
    lut = synthetic_lut()
    lut.calibration = {"features": ["lut_ms", "nodes", "cells", "one"], "coef": [0.9, 0.01, 0.1, 0.2]}
    ops = list(get_space("darts-cifar").ops)
    g = tiny_genotype(seed)
    an, ar = _one_hot(g, "normal", ops), _one_hot(g, "reduce", ops)
    predictor = LatencyPredictor(lut)
    raw = expected_latency_ms(an, ar, lut, calibrate=False)
    assert raw.item() == pytest.approx(predictor.lut_ms(g), rel=1e-9)
    assert expected_latency_ms(an, ar, lut).item() == pytest.approx(predictor.predict_ms(g), rel=1e-9)


def test_expected_latency_has_gradients():
    lut = synthetic_lut()
    an = torch.zeros(14, 8, requires_grad=True)
    ar = torch.zeros(14, 8, requires_grad=True)
    lat = expected_latency_ms(an, ar, lut)
    lat.backward()
    assert lat.dim() == 0 and torch.isfinite(an.grad).all() and an.grad.abs().sum() > 0
    # raising an expensive op's weight raises the expected latency
    tables = lut.__dict__["_edge_tables"]
    (normal, _), = [v[0]["normal"] for v in tables.values()]
    e, o = np.unravel_index(np.argmax(normal), normal.shape)
    bumped = an.detach().clone()
    bumped[e, o] += 1.0
    assert expected_latency_ms(bumped, ar.detach(), lut) > lat.detach()
    with pytest.raises(CostModelError, match="alphas_normal has shape"):
        expected_latency_ms(torch.zeros(14, 3), ar, lut)


def test_inspect_reports_predicted_latency(tmp_path, capsys):
    lut = synthetic_lut(tmp_path / "lut.json")
    lut.calibration = {"features": ["lut_ms", "nodes", "cells", "one"], "coef": [1.1, 0.0, 0.0, 0.3]}
    lut.save()
    g = tiny_genotype(4)
    (tmp_path / "g.json").write_text(to_json(g))
    assert main(["inspect", str(tmp_path / "g.json"), "--latency-model", str(tmp_path / "lut.json"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["predicted_latency_ms"] == pytest.approx(1.1 * LatencyPredictor(lut).lut_ms(g) + 0.3)
    assert report["peak_activation_bytes"] > 0


def test_cli_refuses_a_foreign_table_in_one_line(tmp_path):
    lut = synthetic_lut(tmp_path / "lut.json")
    lut.key["device"] = "Some Other CPU (64 threads)"
    lut.save()
    env = {**os.environ, "GENOCOMPILE_DEBUG": ""}
    (tmp_path / "g.json").write_text(to_json(tiny_genotype(6)))
    r = subprocess.run([sys.executable, "-m", "genocompile", "inspect", str(tmp_path / "g.json"), "--latency-model",
                        str(tmp_path / "lut.json")], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Some Other CPU" in r.stderr


def test_constraints_from_options(tmp_path):
    synthetic_lut(tmp_path / "lut.json")
    g = tiny_genotype(5)
    predicted = LatencyPredictor.from_file(tmp_path / "lut.json").predict_ms(g)
    loose = constraints_from_options(max_latency_ms=predicted * 1.01, latency_model=str(tmp_path / "lut.json"))
    tight = constraints_from_options(max_latency_ms=predicted * 0.99, latency_model=str(tmp_path / "lut.json"))
    assert loose.satisfies(g) and not tight.satisfies(g)
    assert tight.violations(g)[0].startswith("latency (ms)")
    # the measured figure decides for final candidates
    assert tight.satisfies(g, costs=tight.measured(g, measure=lambda genotype: predicted * 0.5))
    with pytest.raises(CostModelError, match="needs --latency-model"):
        constraints_from_options(max_latency_ms=3.0, device="cpu")


def test_few_networks_fit_fewer_coefficients():
    features = [{"lut_ms": l, "nodes": n, "cells": 3, "one": 1.0} for l, n in ((1.0, 10), (2.0, 30), (3.0, 20))]
    cal = fit_calibration(features, [2.5, 4.5, 6.5])  # exactly 2 * lut + 0.5
    assert cal["coef"] == pytest.approx([2.0, 0.0, 0.0, 0.5])
    assert fit_calibration(features[:1], [3.0])["coef"] == pytest.approx([3.0, 0.0, 0.0, 0.0])
