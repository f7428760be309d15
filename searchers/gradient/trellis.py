"""Auto-DeepLab's network level: β over the trellis of resolutions and its Viterbi decoding.

Layer l runs at level s (downsample rate 4 * 2**s, s = 0..3); the stem leaves level 0. β[l, s, d] is the
logit of the move from level s at layer l-1 (the stem for l = 0) to level s + d - 1 at layer l: d = 0 up in
resolution (rate halves), 1 same, 2 down (rate doubles). As in the paper, each node's outgoing moves are a
softmax (moves off the trellis masked), so a path's probability is the product of its moves', and decoding
takes the most probable path by the Viterbi algorithm: score[l][s'] = max_s score[l-1][s] + log p[l, s, s' - s + 1].
"""
from __future__ import annotations

import torch

from genocompile.genotype.hierarchical import RATES, STEM_RATE

LEVELS = len(RATES)
STEM_LEVEL = RATES.index(STEM_RATE)


def move_mask(layers: int) -> torch.Tensor:
    """(layers, LEVELS, 3) bool: which moves exist (on the trellis, from a level reachable at layer l-1)."""
    mask = torch.zeros(layers, LEVELS, 3, dtype=torch.bool)
    for l in range(layers):
        sources = [STEM_LEVEL] if l == 0 else range(min(LEVELS, STEM_LEVEL + l + 1))
        for s in sources:
            for d in range(3):
                mask[l, s, d] = 0 <= s + d - 1 < LEVELS
    return mask


def init_beta(layers: int, scale: float = 1e-3) -> torch.Tensor:
    """Auto-DeepLab / DARTS initialisation: small random logits."""
    return scale * torch.randn(layers, LEVELS, 3)


def log_probs(beta: torch.Tensor) -> torch.Tensor:
    """log p of every move, softmax over each node's existing moves; -inf for moves that do not exist."""
    mask = move_mask(beta.shape[0]).to(beta.device)
    return torch.log_softmax(beta.masked_fill(~mask, float("-inf")), dim=-1).masked_fill(~mask, float("-inf"))


def viterbi(beta: torch.Tensor) -> tuple[list[int], float]:
    """The most probable path (downsample rate per layer) under β, and its log-probability."""
    lp = log_probs(beta.detach().double())
    layers = lp.shape[0]
    score = {STEM_LEVEL: 0.0}
    back: list[dict[int, int]] = []
    for l in range(layers):
        nxt: dict[int, float] = {}
        came: dict[int, int] = {}
        for s, base in score.items():
            for d in range(3):
                t, p = s + d - 1, float(lp[l, s, d])
                if p == float("-inf"):
                    continue
                if t not in nxt or base + p > nxt[t]:
                    nxt[t], came[t] = base + p, s
        score, _ = nxt, back.append(came)
    level = max(score, key=score.get)
    best = score[level]
    levels = [level]
    for l in range(layers - 1, 0, -1):
        level = back[l][level]
        levels.append(level)
    return [RATES[s] for s in reversed(levels)], best


def path_log_prob(beta: torch.Tensor, path: list[int]) -> float:
    """log p of one path (rates per layer); -inf if it leaves the trellis."""
    return path_score(log_probs(beta.detach().double()).tolist(), path)


def path_score(lp: list, path: list[int]) -> float:
    """`path_log_prob` from `log_probs(beta).tolist()` (many paths, one β)."""
    total, s = 0.0, STEM_LEVEL
    for l, rate in enumerate(path):
        t = RATES.index(rate)
        if abs(t - s) > 1:
            return float("-inf")
        total += lp[l][s][t - s + 1]
        s = t
    return total
