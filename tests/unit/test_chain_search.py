"""The one-shot chain EA (issue 9): `--space shufflenetv2-oneshot` under a MultiAdds (FLOPs) limit, with the
SPOS supernet, through the same journal and resume."""
import random

import pytest

from genocompile.cost.constraints import Constraints
from genocompile.cost.inspect import reference_costs
from genocompile.genotype import load_genotype
from genocompile.searchers.progress import RecordingProgress
from genocompile.searchers.registry import SearchOptions, get_searcher
from genocompile.searchers.spaces import get_space

SPACE = get_space("shufflenetv2-oneshot")
TINY = {"ea": "detnas", "population": "2", "top_k": "2", "evaluation": "oneshot", "proxy_channels": "4",
        "supernet_epochs": "1", "recalibration_batches": "1"}


def test_space_operators_keep_valid_chains():
    rng = random.Random(0)
    a, b = SPACE.sample(rng), SPACE.sample(rng)
    assert a.network.skeleton == "spos-imagenet" and len(a.choices) == 20
    child = SPACE.mutate(a, rng)
    assert sum(x != y for x, y in zip(a.choices, child.choices)) == 1
    cross = SPACE.crossover(a, b, rng)
    assert all(c in (x, y) for c, x, y in zip(cross.choices, a.choices, b.choices))


@pytest.mark.slow  # ~35 s: fvcore counts of full SPOS networks, a supernet epoch, two worker starts
def test_oneshot_chain_search_under_a_flops_limit_resumes(tmp_path):
    limit = 330_000_000  # SPOS is 331.9M in fvcore's count: random chains straddle the limit
    options = SearchOptions(space="shufflenetv2-oneshot", out_dir=tmp_path, budget=2,
                            constraints=Constraints(max_multiadds=limit), extra=TINY)
    progress = RecordingProgress()
    first = get_searcher("evolution")(options, progress)
    assert (first.evaluated, first.resumed) == (2, 0)
    assert any("supernet epoch 1/1" in u["message"] for u in progress.updates)
    best = load_genotype(tmp_path / "genotype.json")
    assert best.family == "chain" and reference_costs(best).multiadds <= limit
    mtime = (tmp_path / "supernet.pt").stat().st_mtime_ns
    second = get_searcher("evolution")(SearchOptions(**{**options.__dict__, "budget": 3}), RecordingProgress())
    assert (second.evaluated, second.resumed) == (3, 2)
    assert (tmp_path / "supernet.pt").stat().st_mtime_ns == mtime  # the supernet is not retrained
