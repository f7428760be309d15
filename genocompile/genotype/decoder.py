"""The `decoder` family: an encoder choice plus a searched decoder layout (Nekrasov et al., "Fast Neural
Architecture Search of Compact Semantic Segmentation Models via Auxiliary Cells", CVPR 2019; public code
DrSleep/nas-segm-pytorch).

Canonical JSON (the paper's arch0):

    {"genocompile": 1, "family": "decoder", "name": "nekrasov_arch0", "encoder": "mobilenetv2",
     "cell": [["seg_sep_conv_5x5_dil6", 0], ["seg_conv3x3_dil3", 0], ["seg_sep_conv_3x3", 0], ...],
     "connections": [[3, 3], [3, 2], [3, 0]],
     "network": {"skeleton": "nas-segm", "num_classes": 21, "agg_size": 64, "repeats": 2, ...}}

`connections`: one [i, j] pair per decoder block. Indices name the decoder's feature pool: 0 .. E-1 are the
encoder's outputs (MobileNetV2: strides 4, 8, 16, 32), E + b is the output of block b. Block b may read
any earlier entry. Each block runs the cell on both inputs, sums them (1x1 conv -> BN -> ReLU each, the
lower resolution upsampled), and block outputs no later block reads are concatenated for the classifier.

`cell`: [op, input] pairs over the cell's feature list, exactly as nas-segm-pytorch indexes it. The first
pair applies an op to the cell input (input 0); then each node k = 1, 2, ... takes two pairs and sums their
outputs. Feature indices: 0 = cell input, 1 = the first op's output, 3k-1 and 3k = node k's two op
outputs, 3k+1 = node k's sum; node k may read 0 .. 3k-2. The cell's output sums every op/node output no
node reads. Op names come from the op table (`DECODER_OPS`, the `seg_` ops).

`from_nas_segm` / `to_nas_segm` convert from / to the original's integer layout
`[[op0, [pos1, pos2, op1, op2], ...], [[i, j], ...]]`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Mapping

from genocompile.errors import GenotypeError
from genocompile.genotype.cell import _freeze_edges as freeze_edges  # the same [op, input] pair rules
from genocompile.genotype.network import (
    Skeleton, get_skeleton, network_from_dict, network_to_dict, register_skeleton, with_network,
)
from genocompile.genotype.registry import check_keys, register_family
from genocompile.ops.decoder_ops import DECODER_OPS

Pair = tuple[str, int]
_KEYS = ("genocompile", "family", "name", "encoder", "cell", "connections", "network")


@dataclass(frozen=True)
class EncoderSpec:
    """What the decoder sees of an encoder: its outputs' channels and strides (the model layer registers
    the module that produces them under the same name)."""

    name: str
    out_channels: tuple[int, ...]
    out_strides: tuple[int, ...]
    doc: str


ENCODERS: dict[str, EncoderSpec] = {}


def register_encoder(spec: EncoderSpec) -> EncoderSpec:
    if spec.name in ENCODERS:
        raise RuntimeError(f"encoder {spec.name!r} registered twice")
    ENCODERS[spec.name] = spec
    return spec


register_encoder(EncoderSpec("mobilenetv2", (24, 32, 96, 320), (4, 8, 16, 32),
                             "MobileNetV2 (nas-segm-pytorch encoders.py): outputs of layers 3, 4, 6 and 8"))


@dataclass(frozen=True)
class DecoderNetwork:
    """Settings of the nas-segm-pytorch segmenter. `auxiliary` builds the training-only auxiliary heads
    (one per decoder block); `aux_cell` gives each its own copy of the cell (the paper's auxiliary cells)."""

    skeleton: str
    num_classes: int
    agg_size: int
    repeats: int
    input_size: tuple[int, int]
    auxiliary: bool = False
    aux_cell: bool = True


def _check_segmenter(n: DecoderNetwork) -> None:
    if any(side < 32 for side in n.input_size):
        raise GenotypeError(f"network: nas-segm input_size {list(n.input_size)}: each side must be at least 32 "
                            f"(the encoder's output stride), e.g. [512, 512]")


register_skeleton(Skeleton(
    name="nas-segm", family="decoder", settings=DecoderNetwork,
    defaults={"num_classes": 21, "agg_size": 64, "repeats": 2, "input_size": [512, 512], "auxiliary": False,
              "aux_cell": True},
    check=_check_segmenter, doc="DrSleep/nas-segm-pytorch Segmenter: encoder + MicroDecoder (PASCAL VOC settings)"))


def _freeze_connections(connections: Any) -> tuple[tuple[int, int], ...]:
    if not isinstance(connections, (list, tuple)) or not connections:
        raise GenotypeError(f"decoder connections must be a non-empty list of [input, input] pairs, one per "
                            f"decoder block, got {connections!r}")
    out = []
    for b, pair in enumerate(connections):
        if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                or any(isinstance(i, bool) or not isinstance(i, int) for i in pair)):
            raise GenotypeError(f"decoder connections, block {b}: must be [input, input] (two integers), got {pair!r}")
        out.append((pair[0], pair[1]))
    return tuple(out)


def validate_cell(cell: tuple[Pair, ...], ops: tuple[str, ...] = DECODER_OPS) -> None:
    if len(cell) % 2 == 0:
        raise GenotypeError(f"decoder cell: {len(cell)} [op, input] pairs; a cell has 1 + 2 x nodes pairs (the "
                            f"first op, then two per node), so add or remove one pair")
    for i, (op, index) in enumerate(cell):
        node = (i + 1) // 2  # 0 = the first op
        where = "decoder cell, first op" if node == 0 else f"decoder cell, node {node}"
        if op not in ops:
            raise GenotypeError(f"{where}: unknown op {op!r}; known: {', '.join(sorted(ops))}")
        if node == 0 and index != 0:
            raise GenotypeError(f"{where}: input must be 0 (the cell input), got {index}")
        if node and not 0 <= index <= 3 * node - 2:
            raise GenotypeError(f"{where}: input {index} is out of range; node {node} can read 0..{3 * node - 2} "
                                f"(0 = cell input, 1 = first op output, 3k-1 / 3k = node k's op outputs, "
                                f"3k+1 = node k's sum)")


def validate_connections(connections: tuple[tuple[int, int], ...], encoder: EncoderSpec) -> None:
    n_enc = len(encoder.out_channels)
    strides = ", ".join(map(str, encoder.out_strides))
    for b, pair in enumerate(connections):
        for index in pair:
            if not 0 <= index < n_enc + b:
                later = f", {n_enc}..{n_enc + b - 1} = blocks 0..{b - 1}" if b else ""
                raise GenotypeError(f"decoder connections, block {b}: input {index} is out of range; block {b} can "
                                    f"read 0..{n_enc + b - 1} (0..{n_enc - 1} = {encoder.name} outputs at strides "
                                    f"{strides}{later})")


@register_family
@dataclass(frozen=True)
class DecoderGenotype:
    """A validated decoder genotype. Construct it directly, with `from_dict`, `from_nas_segm`, or `load_genotype`."""

    family: ClassVar[str] = "decoder"
    default_skeleton: ClassVar[str] = "nas-segm"

    cell: tuple[Pair, ...]
    connections: tuple[tuple[int, int], ...]
    encoder: str = "mobilenetv2"
    network: Any = field(default=None)  # None -> the nas-segm defaults
    name: str = "genotype"

    def __post_init__(self) -> None:
        if not isinstance(self.encoder, str) or self.encoder not in ENCODERS:
            raise GenotypeError(f"decoder: unknown encoder {self.encoder!r}; known: {', '.join(sorted(ENCODERS))}")
        object.__setattr__(self, "cell", freeze_edges("decoder cell", self.cell))
        object.__setattr__(self, "connections", _freeze_connections(self.connections))
        if self.network is None or isinstance(self.network, Mapping):
            object.__setattr__(self, "network", network_from_dict(self.network, self.family, self.default_skeleton))
        elif get_skeleton(getattr(self.network, "skeleton", None), self.family).settings is not type(self.network):
            raise GenotypeError(f"network: {self.network!r} is not a decoder-family network description")
        if not isinstance(self.name, str) or not self.name:
            raise GenotypeError(f"name must be a non-empty string, got {self.name!r}")
        validate_cell(self.cell)
        validate_connections(self.connections, ENCODERS[self.encoder])

    # --- views ---------------------------------------------------------------------------------
    @property
    def encoder_spec(self) -> EncoderSpec:
        return ENCODERS[self.encoder]

    @property
    def nodes(self) -> int:
        return len(self.cell) // 2

    # --- JSON form -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"genocompile": 1, "family": self.family, "name": self.name, "encoder": self.encoder,
                "cell": [list(p) for p in self.cell], "connections": [list(c) for c in self.connections],
                "network": network_to_dict(self.network)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "DecoderGenotype":
        check_keys("decoder", data, _KEYS, ("cell", "connections"))
        return cls(cell=data["cell"], connections=data["connections"], encoder=data.get("encoder", "mobilenetv2"),
                   network=data.get("network"), name=data.get("name", "genotype"))

    @classmethod
    def from_nas_segm(cls, layout: Any, **fields: Any) -> "DecoderGenotype":
        """From nas-segm-pytorch's `[[op0, [pos1, pos2, op1, op2], ...], [[i, j], ...]]` (op indices into its
        CVPR 2019 `OP_NAMES`, which `DECODER_OPS` lists in the same order)."""
        return cls(**nas_segm_to_fields(layout), **fields)

    def to_nas_segm(self) -> list:
        """The original's integer layout of this genotype."""
        index = {op: i for i, op in enumerate(DECODER_OPS)}
        cell: list = [index[self.cell[0][0]]]
        for k in range(1, self.nodes + 1):
            (op1, pos1), (op2, pos2) = self.cell[2 * k - 1], self.cell[2 * k]
            cell.append([pos1, pos2, index[op1], index[op2]])
        return [cell, [list(c) for c in self.connections]]

    def with_network(self, skeleton: str | None = None, **changes: Any) -> "DecoderGenotype":
        return replace(self, network=with_network(self.network, self.family, skeleton, **changes))

    def renamed(self, name: str) -> "DecoderGenotype":
        return replace(self, name=name)


def nas_segm_to_fields(layout: Any) -> dict[str, Any]:
    """`cell` and `connections` of a nas-segm-pytorch integer layout, checked for shape (values are
    validated by the genotype)."""
    def op(i: Any) -> str:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(DECODER_OPS):
            raise GenotypeError(f"nas-segm layout: op index {i!r} is out of range; its OP_NAMES has "
                                f"{len(DECODER_OPS)} ops (0..{len(DECODER_OPS) - 1})")
        return DECODER_OPS[i]

    if not (isinstance(layout, (list, tuple)) and len(layout) == 2 and isinstance(layout[0], (list, tuple))
            and layout[0]):
        raise GenotypeError("nas-segm layout must be [[op0, [pos1, pos2, op1, op2], ...], [[i, j], ...]]")
    cell_config, connections = layout
    cell: list[list] = [[op(cell_config[0]), 0]]
    for k, node in enumerate(cell_config[1:], start=1):
        if not isinstance(node, (list, tuple)) or len(node) != 4:
            raise GenotypeError(f"nas-segm layout, node {k}: must be [pos1, pos2, op1, op2], got {node!r}")
        pos1, pos2, op1, op2 = node
        cell += [[op(op1), pos1], [op(op2), pos2]]
    return {"cell": cell, "connections": connections}
