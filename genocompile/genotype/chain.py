"""The `chain` family (Single Path One-Shot, DetNAS, ProxylessNAS/FBNet): one block choice per position.

Canonical JSON (SPOS' published architecture):

    {"genocompile": 1, "family": "chain", "name": "spos", "space": "shufflenetv2-oneshot",
     "choices": [2, 1, 0, 1, 2, 0, 2, 0, 2, 0, 2, 3, 0, 0, 0, 0, 3, 2, 3, 3],
     "network": {"skeleton": "spos-imagenet", "stage_repeats": [4, 4, 8, 4], ...}}

`choices[i]` indexes the space's block list (the megvii `architecture` lists use the same indices).
`channel_scales` (optional, one per position, from the space's candidates) scales each block's hidden
width like SPOS' channel search; all 1.0 is the same architecture as none and is stored as none, so the
two hash equal. The network settings (skeleton, stage repeats and widths) fix how many choices there are;
see `genocompile.genotype.chain_spaces`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Mapping

from genocompile.errors import GenotypeError
from genocompile.genotype.chain_spaces import BlockSlot, ChainSpace, get_chain_space
from genocompile.genotype.network import get_skeleton, network_from_dict, network_to_dict, with_network
from genocompile.genotype.registry import check_keys, register_family

_KEYS = ("genocompile", "family", "name", "space", "choices", "channel_scales", "network")


def _freeze_choices(choices: Any) -> tuple[int, ...]:
    if (not isinstance(choices, (list, tuple)) or not choices
            or any(isinstance(c, bool) or not isinstance(c, int) for c in choices)):
        raise GenotypeError(f"chain choices must be a non-empty list of block indices (integers), got {choices!r}")
    return tuple(choices)


def _freeze_scales(scales: Any, space: ChainSpace) -> tuple[float, ...] | None:
    if scales is None:
        return None
    if not space.channel_scales:
        raise GenotypeError(f"chain channel_scales: space {space.name!r} has no channel scales; remove the key")
    if (not isinstance(scales, (list, tuple))
            or any(isinstance(s, bool) or not isinstance(s, (int, float)) for s in scales)):
        raise GenotypeError(f"chain channel_scales must be a list of numbers, one per block, got {scales!r}")
    out = []
    for i, s in enumerate(scales):
        # Store the candidate itself, so 0.6000000001 and 0.6 give one canonical JSON and one hash.
        match = next((c for c in space.channel_scales if math.isclose(s, c, abs_tol=1e-9)), None)
        if match is None:
            raise GenotypeError(f"chain channel_scales, block {i}: {s!r} is not a channel scale of space "
                                f"{space.name!r}; choose from {', '.join(map(str, space.channel_scales))}")
        out.append(match)
    return tuple(out)


def validate_chain(space: ChainSpace, slots: tuple[BlockSlot, ...], choices: tuple[int, ...],
                   scales: tuple[float, ...] | None) -> None:
    """Raise GenotypeError naming the first problem of a chain against its space and network."""
    if len(choices) != len(slots):
        raise GenotypeError(f"chain choices: space {space.name!r} on this network (stage_repeats "
                            f"{_repeats(slots)}) takes {len(slots)} choices, one per block; got {len(choices)}")
    for slot, choice in zip(slots, choices):
        if not 0 <= choice < len(space.blocks):
            raise GenotypeError(f"chain choices, block {slot.index}: choice {choice} is out of range; space "
                                f"{space.name!r} has {space.listing()}")
        op = space.blocks[choice]
        rule = space.restrictions.get(op)
        if rule is not None and not rule.allows(slot):
            allowed = [f"{i} {b}" for i, b in enumerate(space.blocks)
                       if b not in space.restrictions or space.restrictions[b].allows(slot)]
            raise GenotypeError(f"chain choices, block {slot.index} ({slot.describe()}): {op} ({choice}) is not "
                                f"allowed here: {rule.why}; pick one of {', '.join(allowed)}")
    if scales is not None:
        if len(scales) != len(slots):
            raise GenotypeError(f"chain channel_scales: {len(scales)} scales for {len(slots)} blocks; give one "
                                f"per block (or omit the key for 1.0 everywhere)")
        for slot, scale in zip(slots, scales):
            if int(slot.c_out // 2 * scale) < 1:
                raise GenotypeError(f"chain channel_scales, block {slot.index}: scale {scale} leaves no hidden "
                                    f"channels at width {slot.c_out}; use a larger scale")


def _repeats(slots: tuple[BlockSlot, ...]) -> list[int]:
    counts: dict[int, int] = {}
    for s in slots:
        counts[s.stage] = counts.get(s.stage, 0) + 1
    return [counts[k] for k in sorted(counts)]


@register_family
@dataclass(frozen=True)
class ChainGenotype:
    """A validated chain genotype. Construct it directly, with `from_dict`, or with `load_genotype`."""

    family: ClassVar[str] = "chain"

    space: str
    choices: tuple[int, ...]
    channel_scales: tuple[float, ...] | None = None
    network: Any = field(default=None)  # None -> the space's default skeleton with its defaults
    name: str = "genotype"

    def __post_init__(self) -> None:
        spec = get_chain_space(self.space)
        object.__setattr__(self, "choices", _freeze_choices(self.choices))
        object.__setattr__(self, "channel_scales", _freeze_scales(self.channel_scales, spec))
        if self.network is None or isinstance(self.network, Mapping):
            object.__setattr__(self, "network", network_from_dict(self.network, self.family, spec.skeletons[0]))
        elif get_skeleton(getattr(self.network, "skeleton", None), self.family).settings is not type(self.network):
            raise GenotypeError(f"network: {self.network!r} is not a chain-family network description")
        if self.network.skeleton not in spec.skeletons:
            raise GenotypeError(f"network: chain space {spec.name!r} builds into {', '.join(spec.skeletons)}, not "
                                f"{self.network.skeleton!r}")
        if not isinstance(self.name, str) or not self.name:
            raise GenotypeError(f"name must be a non-empty string, got {self.name!r}")
        validate_chain(spec, self.slots(), self.choices, self.channel_scales)
        if self.channel_scales is not None and all(s == 1.0 for s in self.channel_scales):
            object.__setattr__(self, "channel_scales", None)  # the same architecture as none: one hash

    # --- views ---------------------------------------------------------------------------------
    @property
    def space_spec(self) -> ChainSpace:
        return get_chain_space(self.space)

    def slots(self) -> tuple[BlockSlot, ...]:
        return self.network.slots()

    def blocks(self) -> tuple[str, ...]:
        """The chosen op name per position."""
        blocks = self.space_spec.blocks
        return tuple(blocks[c] for c in self.choices)

    def scales(self) -> tuple[float, ...]:
        """The hidden-width scale per position (1.0 where none was given)."""
        return self.channel_scales or (1.0,) * len(self.choices)

    # --- JSON form -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"genocompile": 1, "family": self.family, "name": self.name, "space": self.space,
                               "choices": list(self.choices)}
        if self.channel_scales is not None:
            out["channel_scales"] = list(self.channel_scales)
        out["network"] = network_to_dict(self.network)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ChainGenotype":
        check_keys("chain", data, _KEYS, ("space", "choices"))
        return cls(space=data["space"], choices=data["choices"], channel_scales=data.get("channel_scales"),
                   network=data.get("network"), name=data.get("name", "genotype"))

    def with_network(self, skeleton: str | None = None, **changes: Any) -> "ChainGenotype":
        return replace(self, network=with_network(self.network, self.family, skeleton, **changes))

    def renamed(self, name: str) -> "ChainGenotype":
        return replace(self, name=name)
