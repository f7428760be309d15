"""Parameters and MultiAdds against the DARTS code's own numbers and an independent closed-form count."""
import json
import random
from pathlib import Path

import pytest

from darts_oracle import count as oracle_count
from genocompile.cost import reference_costs
from genocompile.genotype import zoo_genotype, zoo_names
from genotype_factory import random_cell

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "darts_original.json").read_text())["counts"]


def test_published_darts_v2_figures():
    cifar = reference_costs(zoo_genotype("darts_v2"))
    imagenet = reference_costs(zoo_genotype("darts_v2").with_network("darts-imagenet"))
    assert cifar.params == 3_349_342
    assert imagenet.params == 4_718_752
    assert imagenet.multiadds == 538_190_592
    assert imagenet.multiadds_by_op == {"conv": 529_143_552, "batch_norm": 8_279_040, "linear": 768_000}


@pytest.mark.parametrize("skeleton", ["darts-cifar", "darts-imagenet"])
@pytest.mark.parametrize("name", [n for n in zoo_names() if zoo_genotype(n).family == "cell"])
def test_zoo_counts_equal_the_darts_code_and_the_oracle(name, skeleton):
    g = zoo_genotype(name).with_network(skeleton)
    costs = reference_costs(g)
    expected = FIXTURE[f"{name}/{skeleton}"]
    assert (costs.params, costs.multiadds) == (expected["params"], expected["multiadds"])
    assert (costs.params, costs.multiadds) == oracle_count(g.to_dict())


def test_random_genotypes_match_the_oracle_in_both_skeletons():
    rng = random.Random(7)
    for i in range(12):
        skeleton = ("darts-cifar", "darts-imagenet")[i % 2]
        g = random_cell(rng).with_network(skeleton, init_channels=rng.choice([8, 16, 20]), layers=rng.randint(1, 8),
                                          input_size=(32, 64) if skeleton == "darts-cifar" else (224, 256))
        params, multiadds = oracle_count(g.to_dict())
        costs = reference_costs(g)
        assert costs.params == params, g
        assert abs(costs.multiadds - multiadds) <= 5e-4 * multiadds, g


def test_breakdown_covers_the_total_and_reports_skipped_ops():
    costs = reference_costs(zoo_genotype("amoebanet"))
    assert sum(costs.multiadds_by_block.values()) == costs.multiadds
    assert sum(costs.multiadds_by_op.values()) == costs.multiadds
    assert costs.multiadds_by_block["conv_7x1_1x7"] > 0
    assert costs.unsupported_ops["aten::add"] == 20 * 5  # one add per node, 5 nodes, 20 cells
    assert "aten::avg_pool2d" in costs.unsupported_ops
