"""The controller: an LSTM that writes a genotype one decision at a time, as in NASNet (Zoph et al. 2018).

It runs on any space that lists its decisions (`space.decisions()`: (kind, size) pairs, kind "input" or
"op") and turns actions into genotypes (`to_genotype` / `to_actions`). Two walks over the decisions:

- cell spaces (`space.anchored`, the DARTS/NASNet `CellSpace` below): inputs by attention over anchors;
- any other space (e.g. the decoder layout, `decoder_space.py`): one LSTM step per decision, each input
  decision with its own softmax head sized to its choices (nas-segm-pytorch `micro_controllers.py`:
  `conn_fcs`, `ctx_fcs`), ops from one shared op head, the chosen option's embedding fed back (the original
  feeds back the LSTM output, so a choice never conditions the next; ENAS feeds the choice, as here).
  `space.warmup` LSTM steps run first (nas-segm: one per encoder output, the feature pool's anchors).

For each cell (normal, then reduction) and each intermediate node, four decisions in NASNet's order:
input 1, input 2 (which earlier state each branch reads), op 1, op 2. The decision sequence is fixed by the
space, so a whole batch of genotypes runs through the LSTM in lockstep (one row per genotype).

Inputs are picked by attention over the states the node may read, as in ENAS' micro controller
(melodyguan/enas `micro_controller.py`; NNI `ReinforceController`): every state has an *anchor*, the LSTM
output when that state was created; the chosen anchor is fed back as the next input. Ops come from a
softmax over the op set, and the chosen op's embedding is fed back.

Logits are divided by `temperature`, then clipped with `tanh_constant * tanh(.)` (ENAS), which keeps every
choice's probability away from 0 so the search keeps exploring. `sample` returns the actions with their
summed log-probability and entropy (for the entropy bonus); `score` gives the same for given actions, which
PPO needs for its probability ratio and REINFORCE for its gradient.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from genocompile.errors import GenotypeError
from genocompile.genotype import CellGenotype
from genocompile.ops.table import DARTS_SEARCH_OPS, NASNET_OPS

CELL_KINDS = ("normal", "reduce")
DECISIONS_PER_NODE = 4  # input 1, input 2, op 1, op 2 (NASNet's order)

# Op sets the controller can choose from, all taken from the op table (ops.table).
OP_SETS: dict[str, tuple[str, ...]] = {"darts": DARTS_SEARCH_OPS, "nasnet": NASNET_OPS}


@dataclass(frozen=True)
class CellSpace:
    """What the controller decides: `steps` nodes per cell over `ops`, for the normal and reduction cell."""

    ops: tuple[str, ...] = DARTS_SEARCH_OPS
    steps: int = 4
    distinct_inputs: bool = False  # NASNet and ENAS allow a node to read one state twice
    network: dict = field(default_factory=lambda: {"skeleton": "darts-cifar"})

    anchored = True  # inputs are picked by attention over the states' anchors (the controller's cell walk)

    @property
    def length(self) -> int:
        return len(CELL_KINDS) * self.steps * DECISIONS_PER_NODE

    def decisions(self) -> list[tuple[str, int]]:
        """(kind, size) of each decision in order: kind "input" (size = states readable) or "op"."""
        out = []
        for _ in CELL_KINDS:
            for node in range(2, 2 + self.steps):
                out += [("input", node), ("input", node), ("op", len(self.ops)), ("op", len(self.ops))]
        return out

    def to_genotype(self, actions: Sequence[int], name: str = "rl") -> CellGenotype:
        cells = {}
        for c, kind in enumerate(CELL_KINDS):
            edges = []
            for i in range(self.steps):
                base = (c * self.steps + i) * DECISIONS_PER_NODE
                in1, in2, op1, op2 = (int(a) for a in actions[base:base + DECISIONS_PER_NODE])
                edges += [(self.ops[op1], in1), (self.ops[op2], in2)]
            cells[kind] = edges
        concat = list(range(2, 2 + self.steps))
        return CellGenotype(normal=cells["normal"], normal_concat=concat, reduce=cells["reduce"],
                            reduce_concat=concat, network=dict(self.network), name=name)

    def to_actions(self, genotype: CellGenotype) -> list[int]:
        """The decisions that write `genotype`; GenotypeError when it lies outside this space."""
        actions = []
        for kind in CELL_KINDS:
            edges = getattr(genotype, kind)
            if len(edges) != 2 * self.steps:
                raise GenotypeError(f"cell {kind}: {len(edges) // 2} nodes, but the controller writes {self.steps}")
            for i in range(self.steps):
                (op1, in1), (op2, in2) = edges[2 * i], edges[2 * i + 1]
                for op in (op1, op2):
                    if op not in self.ops:
                        raise GenotypeError(f"cell {kind}, node {i + 2}: op {op!r} is not in the controller's op "
                                            f"set ({', '.join(self.ops)})")
                actions += [in1, in2, self.ops.index(op1), self.ops.index(op2)]
        return actions


@dataclass
class Rollout:
    """One batch through the controller: actions (B, T), summed log-probability (B,) and entropy (B,)."""

    actions: torch.Tensor
    log_prob: torch.Tensor
    entropy: torch.Tensor


class Controller(nn.Module):
    def __init__(self, space: Any, lstm_size: int = 64, temperature: float | None = 5.0,
                 tanh_constant: float | None = 1.5):
        super().__init__()
        self.space, self.lstm_size = space, lstm_size
        self.temperature, self.tanh_constant = temperature, tanh_constant
        self.anchored = bool(getattr(space, "anchored", False))
        self.lstm = nn.LSTMCell(lstm_size, lstm_size)
        self.g_emb = nn.Parameter(torch.randn(1, lstm_size) * 0.1)  # the first input
        self.op_emb = nn.Embedding(len(space.ops), lstm_size)
        self.op_logits = nn.Linear(lstm_size, len(space.ops))
        if self.anchored:
            # Attention over anchors (ENAS): v^T tanh(W_anchor a_j + W_query h).
            self.w_anchor = nn.Linear(lstm_size, lstm_size, bias=False)
            self.w_query = nn.Linear(lstm_size, lstm_size, bias=False)
            self.v_attn = nn.Linear(lstm_size, 1, bias=False)
        else:
            # One head and one feedback embedding per input decision (its own number of choices).
            inputs = [size for kind, size in space.decisions() if kind == "input"]
            self.input_logits = nn.ModuleList(nn.Linear(lstm_size, size) for size in inputs)
            self.input_emb = nn.ModuleList(nn.Embedding(size, lstm_size) for size in inputs)
        for p in self.parameters():  # ENAS initialises the controller uniformly in [-0.1, 0.1]
            nn.init.uniform_(p, -0.1, 0.1)

    def _clip(self, logits: torch.Tensor) -> torch.Tensor:
        if self.temperature is not None:
            logits = logits / self.temperature
        if self.tanh_constant is not None:
            logits = self.tanh_constant * torch.tanh(logits)
        return logits

    def _run(self, batch: int, actions: torch.Tensor | None, rng: random.Random | None) -> Rollout:
        """Walk the decision sequence; sample with `rng` where `actions` is None, else score `actions`."""
        chosen = torch.zeros(batch, self.space.length, dtype=torch.long) if actions is None else actions
        log_prob = torch.zeros(batch)
        entropy = torch.zeros(batch)
        walk = self._walk_cells if self.anchored else self._walk_decisions
        walk(batch, chosen, actions is None, rng, log_prob, entropy)
        return Rollout(chosen, log_prob, entropy)

    def _walk_decisions(self, batch: int, chosen: torch.Tensor, sampling: bool, rng: random.Random | None,
                        log_prob: torch.Tensor, entropy: torch.Tensor) -> None:
        h = c = torch.zeros(batch, self.lstm_size)
        x = self.g_emb.expand(batch, -1)
        for _ in range(getattr(self.space, "warmup", 0)):
            h, c = self.lstm(x, (h, c))
            x = h
        n_input = 0
        for t, (kind, _size) in enumerate(self.space.decisions()):
            h, c = self.lstm(x, (h, c))
            if kind == "op":
                head, embedding = self.op_logits, self.op_emb
            else:
                head, embedding = self.input_logits[n_input], self.input_emb[n_input]
                n_input += 1
            pick = self._decide(self._clip(head(h)), chosen, t, sampling, rng, log_prob, entropy)
            x = embedding(pick)

    def _walk_cells(self, batch: int, chosen: torch.Tensor, sampling: bool, rng: random.Random | None,
                    log_prob: torch.Tensor, entropy: torch.Tensor) -> None:
        rows = torch.arange(batch)
        t = 0
        for _ in CELL_KINDS:
            h = c = torch.zeros(batch, self.lstm_size)
            x = self.g_emb.expand(batch, -1)
            anchors, anchor_keys = [], []
            for _state in range(2):  # anchors of cell k-2 and cell k-1's outputs
                h, c = self.lstm(x, (h, c))
                anchors.append(h)
                anchor_keys.append(self.w_anchor(h))
                x = torch.zeros_like(h)
            for _node in range(self.space.steps):
                first = None
                for branch in range(2):  # input 1, input 2
                    h, c = self.lstm(x, (h, c))
                    keys = torch.stack(anchor_keys, 1)  # (B, states, H)
                    logits = self._clip(self.v_attn(torch.tanh(keys + self.w_query(h)[:, None])).squeeze(-1))
                    if branch == 1 and self.space.distinct_inputs:
                        logits = logits.masked_fill(F.one_hot(first, logits.shape[1]).bool(), float("-inf"))
                    pick = self._decide(logits, chosen, t, sampling, rng, log_prob, entropy)
                    first = pick
                    x = torch.stack(anchors, 1)[rows, pick]
                    t += 1
                for _branch in range(2):  # op 1, op 2
                    h, c = self.lstm(x, (h, c))
                    pick = self._decide(self._clip(self.op_logits(h)), chosen, t, sampling, rng, log_prob, entropy)
                    x = self.op_emb(pick)
                    t += 1
                h, c = self.lstm(x, (h, c))  # the new node's anchor
                anchors.append(h)
                anchor_keys.append(self.w_anchor(h))

    @staticmethod
    def _decide(logits: torch.Tensor, chosen: torch.Tensor, t: int, sampling: bool, rng: random.Random | None,
                log_prob: torch.Tensor, entropy: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(logits, dim=-1)
        if sampling:
            # Inverse-CDF sampling from the searcher's seeded random.Random: the same seed gives the same search.
            cdf = logp.detach().exp().cumsum(-1)
            u = torch.tensor([[rng.random()] for _ in range(logits.shape[0])], dtype=cdf.dtype)
            chosen[:, t] = torch.searchsorted(cdf, u * cdf[:, -1:]).squeeze(-1).clamp(max=logits.shape[1] - 1)
        pick = chosen[:, t]
        if (pick >= logits.shape[1]).any() or (pick < 0).any():
            raise GenotypeError(f"decision {t}: choice {pick.tolist()} out of range 0..{logits.shape[1] - 1}")
        log_prob += logp.gather(1, pick[:, None]).squeeze(1)
        p = logp.exp()
        entropy += -(p * logp.masked_fill(p == 0, 0.0)).sum(-1)
        return pick

    def sample(self, n: int, rng: random.Random) -> Rollout:
        return self._run(n, None, rng)

    def score(self, actions: torch.Tensor | Sequence[Sequence[int]]) -> Rollout:
        actions = torch.as_tensor(actions, dtype=torch.long).reshape(-1, self.space.length)
        return self._run(actions.shape[0], actions.clone(), None)


CellController = Controller  # the name the DARTS cell search has always used
