"""The fast DARTS count equals fvcore's count of the whole reference network (MultiAdds and params)."""
import random

import pytest

from genocompile.cost.fast_count import fast_costs
from genocompile.cost.inspect import reference_costs
from genocompile.genotype import zoo_genotype
from genotype_factory import random_cell


@pytest.mark.parametrize("skeleton", ["darts-cifar", "darts-imagenet"])
def test_equals_fvcore_on_zoo_and_random_cells(skeleton):
    rng = random.Random(hash(skeleton) % 1000)
    small = dict(init_channels=8, layers=5) if skeleton == "darts-cifar" else dict(init_channels=8, layers=4)
    genotypes = [zoo_genotype("darts_v2").with_network(skeleton=skeleton)]  # the full deploy network once
    genotypes += [random_cell(rng, network={"skeleton": skeleton, **small,
                                            "input_size": [32, 32] if skeleton == "darts-cifar" else [224, 224]})
                  for _ in range(5)]
    for g in genotypes:
        counted = reference_costs(g)
        assert fast_costs(g) == (counted.multiadds, counted.params), g


def test_other_families_fall_back():
    assert fast_costs(zoo_genotype("spos")) is None
    assert fast_costs(zoo_genotype("autodeeplab")) is None
