"""The decoder layout as controller decisions (`--space nas-segm`), in nas-segm-pytorch's sampling order
(`src/rl/micro_controllers.py` `MicroController.forward`):

1. for each of the `blocks` decoder blocks, its two feature-pool indices (block b reads 0 .. E+b-1: the
   E encoder outputs, then the earlier blocks' outputs);
2. the cell: the first op (its input is always the cell input), then for each node k = 1 .. `nodes` its two
   inputs (0 .. 3k-2, the cell's feature list; see genocompile.genotype.decoder) and its two ops.

Ops come from the op table's `DECODER_OPS` (the original's `OP_NAMES` order), so action values equal the
original's integer layout. The space also serves the evolution searchers (`sample`, `mutate`,
`crossover`): every genotype it returns is a valid `DecoderGenotype` with the deploy network.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Sequence

from genocompile.errors import GenotypeError, SearchError
from genocompile.genotype import Genotype
from genocompile.genotype.decoder import ENCODERS, DecoderGenotype
from genocompile.ops.decoder_ops import DECODER_OPS
from genocompile.searchers.spaces import register_space


@dataclass(frozen=True)
class DecoderLayoutSpace:
    name: str = "nas-segm"
    family: str = "decoder"
    ops: tuple[str, ...] = DECODER_OPS
    blocks: int = 3  # nas-segm num_dec_layers
    nodes: int = 3  # nas-segm num_ctx_layers - 1 (the first op is not a node)
    encoder: str = "mobilenetv2"
    network: dict = field(default_factory=lambda: {"skeleton": "nas-segm"})  # the deploy network
    evaluation_defaults: dict = field(default_factory=dict)

    @property
    def pool(self) -> int:
        """Encoder outputs the decoder can read (the feature pool before any block)."""
        return len(ENCODERS[self.encoder].out_channels)

    @property
    def warmup(self) -> int:
        return self.pool  # nas-segm runs one LSTM step per encoder scale before sampling

    def decisions(self) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for b in range(self.blocks):
            out += [("input", self.pool + b)] * 2
        out.append(("op", len(self.ops)))
        for k in range(1, self.nodes + 1):
            out += [("input", 3 * k - 1)] * 2 + [("op", len(self.ops))] * 2
        return out

    @property
    def length(self) -> int:
        return 2 * self.blocks + 1 + 4 * self.nodes

    def to_genotype(self, actions: Sequence[int], name: str = "searched") -> DecoderGenotype:
        a = [int(x) for x in actions]
        if len(a) != self.length:
            raise GenotypeError(f"decoder layout: {len(a)} actions, the space has {self.length} decisions")
        connections = [a[2 * b:2 * b + 2] for b in range(self.blocks)]
        base = 2 * self.blocks
        cell = [[self.ops[a[base]], 0]]
        for k in range(self.nodes):
            in1, in2, op1, op2 = a[base + 1 + 4 * k:base + 5 + 4 * k]
            cell += [[self.ops[op1], in1], [self.ops[op2], in2]]
        return DecoderGenotype(cell=cell, connections=connections, encoder=self.encoder, network=dict(self.network),
                               name=name)

    def to_actions(self, genotype: Genotype) -> list[int]:
        """The decisions that write `genotype`; GenotypeError when it lies outside this space."""
        if not isinstance(genotype, DecoderGenotype):
            raise GenotypeError(f"space {self.name}: expects decoder genotypes, got {type(genotype).__name__}")
        if len(genotype.connections) != self.blocks or genotype.nodes != self.nodes:
            raise GenotypeError(f"decoder layout with {len(genotype.connections)} blocks and {genotype.nodes} cell "
                                f"nodes; the controller writes {self.blocks} and {self.nodes}")
        if genotype.encoder != self.encoder:
            raise GenotypeError(f"decoder layout on encoder {genotype.encoder!r}; the space uses {self.encoder!r}")
        for op, _ in genotype.cell:
            if op not in self.ops:
                raise GenotypeError(f"decoder cell op {op!r} is not in the controller's op set")
        actions = [i for pair in genotype.connections for i in pair]
        actions.append(self.ops.index(genotype.cell[0][0]))
        for k in range(1, self.nodes + 1):
            (op1, in1), (op2, in2) = genotype.cell[2 * k - 1], genotype.cell[2 * k]
            actions += [in1, in2, self.ops.index(op1), self.ops.index(op2)]
        return actions

    # --- the evolution searchers' operators -------------------------------------------------------
    def sample(self, rng: random.Random) -> DecoderGenotype:
        return self.to_genotype([rng.randrange(size) for _, size in self.decisions()])

    def mutate(self, genotype: Genotype, rng: random.Random) -> DecoderGenotype:
        """One decision changed to another of its choices (every decision has at least two)."""
        actions = self._actions(genotype)
        t = rng.randrange(len(actions))
        size = self.decisions()[t][1]
        actions[t] = rng.choice([v for v in range(size) if v != actions[t]])
        return self.to_genotype(actions)

    def crossover(self, a: Genotype, b: Genotype, rng: random.Random) -> DecoderGenotype:
        pa, pb = self._actions(a), self._actions(b)
        return self.to_genotype([x if rng.random() < 0.5 else y for x, y in zip(pa, pb)])

    def _actions(self, genotype: Genotype) -> list[int]:
        try:
            return self.to_actions(genotype)
        except GenotypeError as exc:
            raise SearchError(f"space {self.name}: {exc}") from None

    def proxy_genotype(self, genotype: Genotype, *_: Any, **__: Any) -> Genotype:
        raise SearchError(f"space {self.name} is searched by --searcher rl (its own segmentation evaluation)")

    def supernet(self, *_: Any, **__: Any) -> Any:
        raise SearchError(f"space {self.name} has no weight-sharing supernet; use --searcher rl")


NAS_SEGM = register_space(DecoderLayoutSpace())
