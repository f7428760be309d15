"""Auto-DeepLab's network-level decoding: Viterbi against brute force over every path of small trellises."""
import itertools

import pytest
import torch

from genocompile.genotype.hierarchical import RATES, validate_path
from genocompile.searchers.gradient.trellis import init_beta, log_probs, path_log_prob, path_score, viterbi


def _all_paths(layers):
    lp = log_probs(torch.zeros(layers, 4, 3)).tolist()
    for path in itertools.product(RATES, repeat=layers):
        if path_score(lp, list(path)) > float("-inf"):
            yield list(path)


@pytest.mark.parametrize("layers", [1, 2, 3, 5, 6])
@pytest.mark.parametrize("seed", range(4))
def test_viterbi_finds_the_most_probable_path(layers, seed):
    torch.manual_seed(seed)
    beta = 2.0 * torch.randn(layers, 4, 3)
    path, score = viterbi(beta)
    validate_path(path)
    lp = log_probs(beta.double()).tolist()
    brute = max(_all_paths(layers), key=lambda p: path_score(lp, p))
    assert path == brute
    assert score == pytest.approx(path_log_prob(beta, brute), abs=1e-12)


def test_every_valid_path_is_on_the_trellis_and_probabilities_sum_to_one():
    beta = torch.randn(4, 4, 3)
    paths = list(_all_paths(4))
    for p in paths:
        validate_path(p)  # the trellis holds exactly the paths the hierarchical family accepts
    lp = log_probs(beta.double()).tolist()
    total = sum(torch.tensor(path_score(lp, p)).exp() for p in paths)
    assert float(total) == pytest.approx(1.0, abs=1e-9)
    assert len(paths) == len([p for p in itertools.product(RATES, repeat=4) if _valid(p)])


def _valid(path):
    try:
        validate_path(list(path))
        return True
    except Exception:
        return False


def test_moves_off_the_trellis_have_no_probability():
    lp = log_probs(init_beta(3))
    assert torch.isinf(lp[0, 0, 0]) and torch.isinf(lp[0, 1]).all()  # layer 0 leaves the stem (rate 4) only
    assert torch.isinf(lp[2, 3, 2])  # rate 32 cannot double
    assert torch.isfinite(lp[0, 0, 1:]).all()
