"""The `hierarchical` family (Auto-DeepLab): one searched cell plus the network-level path.

`cell` lists two `[op, input]` pairs per block (B blocks; Auto-DeepLab uses B = 5). Inputs follow the
DARTS convention of the `cell` family, NOT the TensorFlow code's: 0 = output of layer l-2 (H^{l-2}),
1 = output of layer l-1 (H^{l-1}), j >= 2 = block j-2 of this cell. TF's `hiddenstate_indices` swap 0
and 1 (TF 0 = H^{l-1}); `from_tf` converts. A cell's output concatenates all its blocks (TF
`used_hiddenstates = [1, 1, 0, ...]`), so there is no concat list.

`path` gives every layer's downsample rate, e.g. `[4, 4, 4, 8, 16, 8, 16, 16, 32, 32, 16, 8]`: rates are
4, 8, 16 or 32, the first layer runs at 4 or 8 (the stem leaves rate 4), and adjacent layers differ by at
most a factor 2. TF's `backbone` writes level k for rate 4 * 2**k.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

from genocompile.errors import GenotypeError
from genocompile.genotype.cell import Edge, _freeze_edges, validate_cell
from genocompile.genotype.network import NetworkedGenotype, Skeleton, network_to_dict, register_skeleton
from genocompile.genotype.registry import register_family
from genocompile.genotype.zoo import register_zoo
from genocompile.ops.table import AUTODEEPLAB_OPS

RATES = (4, 8, 16, 32)
STEM_RATE = 4  # the stem's output, H^{-1}


@dataclass(frozen=True)
class AutoDeepLabNetwork:
    """Settings of the Auto-DeepLab segmentation network (see genocompile.models.autodeeplab)."""

    skeleton: str
    filter_multiplier: int  # F: a layer at rate s has F * s / 4 filters per block (20 / 32 / 48 = -S / -M / -L)
    num_classes: int
    input_size: tuple[int, int]
    stem_channels: tuple[int, ...]  # the three stem convs (TF: 64 stride 2, 64, 128 stride 2)
    aspp_channels: int  # every ASPP branch and its projection (DeepLabv3+: 256)
    aspp_rates: tuple[int, ...]  # atrous rates at output stride 16, scaled by 16 / s to the last layer's rate s
    decoder_channels: int  # the decoder's two 3x3 convs (DeepLabv3+: 256)
    low_level_channels: int  # the decoder's 1x1 projection of the rate-4 features (DeepLabv3+: 48)


def _check_autodeeplab(n: AutoDeepLabNetwork) -> None:
    if len(n.stem_channels) != 3 or min(n.stem_channels) < 1:
        raise GenotypeError(f"network: stem_channels must be three positive integers (the stem's convs), got "
                            f"{list(n.stem_channels)}; Auto-DeepLab uses [64, 64, 128]")
    if not n.aspp_rates or min(n.aspp_rates) < 1:
        raise GenotypeError(f"network: aspp_rates must be one or more positive integers, got {list(n.aspp_rates)}; "
                            f"DeepLabv3+ uses [6, 12, 18] at output stride 16")


AUTODEEPLAB_SKELETON = register_skeleton(Skeleton(
    name="autodeeplab", family="hierarchical", settings=AutoDeepLabNetwork,
    defaults={"filter_multiplier": 20, "num_classes": 19, "input_size": [1024, 2048], "stem_channels": [64, 64, 128],
              "aspp_channels": 256, "aspp_rates": [6, 12, 18], "decoder_channels": 256, "low_level_channels": 48},
    check=_check_autodeeplab,
    doc="Auto-DeepLab (TF nas_network.hnasnet) with the DeepLabv3+ ASPP and decoder; Cityscapes 1024x2048, F=20"))


def _freeze_path(path: Any) -> tuple[int, ...]:
    if (not isinstance(path, (list, tuple)) or not path
            or any(isinstance(r, bool) or not isinstance(r, int) for r in path)):
        raise GenotypeError(f"path: must be a non-empty list of downsample rates ({', '.join(map(str, RATES))}), "
                            f"one per layer, got {path!r}")
    return tuple(path)


def _one_of(rates: list[int]) -> str:
    return " or ".join(map(str, rates)) if len(rates) < 3 else f"{', '.join(map(str, rates[:-1]))} or {rates[-1]}"


def validate_path(path: Sequence[int]) -> None:
    """Raise GenotypeError naming the first layer whose rate is impossible, and which rates would fit."""
    previous = STEM_RATE
    for layer, rate in enumerate(path):
        if rate not in RATES:
            raise GenotypeError(f"path, layer {layer}: rate {rate} is not a downsample rate; use one of "
                                f"{', '.join(map(str, RATES))}")
        allowed = [r for r in RATES if previous // 2 <= r <= previous * 2]
        if layer == 0:
            allowed = [r for r in allowed if r >= STEM_RATE]
        if rate not in allowed:
            after = "the stem (rate 4)" if layer == 0 else f"layer {layer - 1} (rate {previous})"
            raise GenotypeError(f"path, layer {layer}: rate {rate} cannot follow {after}; a layer keeps, halves or "
                                f"doubles the rate, so use {_one_of(allowed)} here")
        previous = rate


def _validate_network_for_path(n: AutoDeepLabNetwork, path: tuple[int, ...]) -> None:
    deepest = max(path)
    if any(side % deepest for side in n.input_size):
        fit = [-(-side // deepest) * deepest for side in n.input_size]
        raise GenotypeError(f"network: input_size {list(n.input_size)} must be divisible by {deepest}, the path's "
                            f"deepest rate (every resize between rates must be exact), e.g. {fit}")
    last = path[-1]
    if any(rate * 16 % last for rate in n.aspp_rates):
        raise GenotypeError(f"network: aspp_rates {list(n.aspp_rates)} are given at output stride 16 and scale by "
                            f"16/{last} to the last layer's rate {last}; make each a multiple of {last // 16}")


@register_family
@dataclass(frozen=True)
class HierarchicalGenotype(NetworkedGenotype):
    """A validated Auto-DeepLab genotype. Construct it directly, with `from_dict`, or with `load_genotype`."""

    family: ClassVar[str] = "hierarchical"
    default_skeleton: ClassVar[str] = "autodeeplab"

    cell: tuple[Edge, ...]
    path: tuple[int, ...]
    network: AutoDeepLabNetwork = field(default=None)  # type: ignore[assignment]  # None -> skeleton defaults
    name: str = "genotype"

    def __post_init__(self) -> None:
        object.__setattr__(self, "cell", _freeze_edges("cell", self.cell))
        object.__setattr__(self, "path", _freeze_path(self.path))
        self._freeze_network_and_name()
        validate_cell("", self.cell, tuple(range(2, 2 + self.blocks)), ops=AUTODEEPLAB_OPS, where="cell")
        validate_path(self.path)
        _validate_network_for_path(self.network, self.path)

    # --- views ---------------------------------------------------------------------------------
    @property
    def blocks(self) -> int:
        """B, the number of blocks in the cell."""
        return len(self.cell) // 2

    @property
    def layers(self) -> int:
        """L, the number of layers (cells) in the network."""
        return len(self.path)

    # --- JSON form -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"genocompile": 1, "family": self.family, "name": self.name,
                "cell": [list(e) for e in self.cell], "path": list(self.path),
                "network": network_to_dict(self.network)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "HierarchicalGenotype":
        known = {"genocompile", "family", "name", "cell", "path", "network"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise GenotypeError(f"hierarchical genotype: unknown key(s) {', '.join(map(repr, unknown))}; "
                                f"known: {', '.join(sorted(known))}")
        for key in ("cell", "path"):
            if key not in data:
                raise GenotypeError(f"hierarchical genotype: missing {key!r}; a hierarchical genotype needs a cell "
                                    f"([op, input] pairs) and a path (one downsample rate per layer)")
        return cls(cell=data["cell"], path=data["path"], network=data.get("network"),
                   name=data.get("name", "genotype"))


# --- the TensorFlow form -------------------------------------------------------------------------
_TF_OP_NAMES = {"none": "identity"}  # TF NAS cells call the skip connection 'none'; other names are ours too


def from_tf(operations: Sequence[str], hiddenstate_indices: Sequence[int], backbone: Sequence[int],
            name: str = "genotype", network: Any = None) -> HierarchicalGenotype:
    """A genotype from the lists of tensorflow/models `nas_network.hnasnet`.

    TF's hidden-state index 0 is H^{l-1} and 1 is H^{l-2}; ours are the other way round (DARTS). TF's
    backbone holds levels (0 = rate 4, ..., 3 = rate 32)."""
    if len(operations) != len(hiddenstate_indices):
        raise GenotypeError(f"TF cell: {len(operations)} operations but {len(hiddenstate_indices)} "
                            f"hiddenstate_indices; give one index per operation")
    swap = {0: 1, 1: 0}
    cell = [[_TF_OP_NAMES.get(op, op), swap.get(index, index)] for op, index in zip(operations, hiddenstate_indices)]
    if any(isinstance(level, bool) or not isinstance(level, int) or not 0 <= level < len(RATES) for level in backbone):
        raise GenotypeError(f"TF backbone: levels must be 0..{len(RATES) - 1} (rate 4 * 2**level), got "
                            f"{list(backbone)}")
    return HierarchicalGenotype(cell=cell, path=[STEM_RATE * 2 ** level for level in backbone], network=network,
                                name=name)


# The published Auto-DeepLab (Cityscapes search), verbatim from tensorflow/models
# research/deeplab/core/nas_network.py `hnasnet` (shared/REFERENCE.md).
TF_AUTODEEPLAB = {
    "operations": ["atrous_5x5", "separable_3x3_2", "separable_3x3_2", "atrous_3x3", "separable_3x3_2",
                   "separable_3x3_2", "separable_5x5_2", "separable_5x5_2", "separable_5x5_2", "atrous_5x5"],
    "hiddenstate_indices": [1, 0, 1, 0, 3, 1, 4, 2, 3, 5],
    "backbone": [0, 0, 0, 1, 2, 1, 2, 2, 3, 3, 2, 1],
}
register_zoo("autodeeplab", from_tf(**TF_AUTODEEPLAB, name="autodeeplab").to_dict())

__all__ = ["AutoDeepLabNetwork", "HierarchicalGenotype", "RATES", "TF_AUTODEEPLAB", "from_tf", "validate_path"]
