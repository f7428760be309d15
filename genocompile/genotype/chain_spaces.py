"""Chain search spaces and the networks they build into, as data.

A chain genotype picks one block per searchable position of a fixed backbone. Two things fix that
backbone, and they are kept apart on purpose:

- the *space* (`CHAIN_SPACES`): which blocks may be chosen (op names from the op table, index = choice),
  where each may go, which hidden-width scales are allowed, and which skeletons it builds into;
- the *network* (a skeleton's settings, `genotype["network"]`): stage repeats and channel widths, classes
  and input size. These are settings like DARTS' `init_channels` / `layers`: the published SPOS and DetNAS
  backbones share one space and differ only here (SPOS: repeats [4, 4, 8, 4], widths 16 ... 1024; DetNAS
  1.3G: [8, 8, 16, 8], 48 ... 1024; DetNAS 3.8G: [8, 8, 16, 8], 72 ... 1728), so the number of choices a
  genotype must give follows from its network (`slots`).

Spaces:
- `shufflenetv2-oneshot` (Single Path One-Shot, DetNAS): ShuffleNetV2 blocks shufflenet_3x3 / 5x5 / 7x7
  and xception_3x3 at every position, optional per-block hidden-width scales 0.2 ... 2.0 (the SPOS channel
  search); skeletons `spos-imagenet` (megvii ShuffleNet-Series OneShot) and `detnas-imagenet` (megvii
  ShuffleNet-Series DetNAS: conv biases, a biased classifier, DetNAS 1.3G defaults).
- `mbconv` (ProxylessNAS; FBNet-style kernel x expansion grid): MBConv {3, 5, 7} x {3, 6}, plus
  `mbconv_skip` where ProxylessNAS allows its Zero op (stride 1, equal channels); skeleton
  `proxylessnas-imagenet` (mit-han-lab/proxylessnas, its search defaults).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from genocompile.errors import GenotypeError
from genocompile.genotype.network import Skeleton, register_skeleton
from genocompile.ops.table import op_set, with_signature


@dataclass(frozen=True)
class BlockSlot:
    """One searchable position of a chain backbone."""

    index: int  # position in the genotype's choice list
    stage: int  # 1-based
    position: int  # 0-based within the stage
    c_in: int
    c_out: int
    stride: int

    def describe(self) -> str:
        return f"stage {self.stage} block {self.position + 1}: {self.c_in}->{self.c_out} channels, stride {self.stride}"


# --- network settings ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShuffleNetV2Network:
    """megvii ShuffleNetV2 one-shot backbone: first conv 3x3/2, stages of blocks (the first one of each
    stage strides 2), 1x1 conv_last, global pool, classifier. `stage_out_channels` = [first conv, one
    width per stage, conv_last] (megvii's list without its leading -1)."""

    skeleton: str
    stage_repeats: tuple[int, ...]
    stage_out_channels: tuple[int, ...]
    num_classes: int
    input_size: tuple[int, int]

    def slots(self) -> tuple[BlockSlot, ...]:
        out, c_in = [], self.stage_out_channels[0]
        for stage, repeats in enumerate(self.stage_repeats):
            c_out = self.stage_out_channels[stage + 1]
            for position in range(repeats):
                out.append(BlockSlot(len(out), stage + 1, position, c_in, c_out, 2 if position == 0 else 1))
                c_in = c_out
        return tuple(out)


@dataclass(frozen=True)
class ProxylessNetwork:
    """ProxylessNAS backbone: first conv 3x3/2 (`first_channels`), a fixed MBConv1 3x3 block
    (`first_block_channels`), searchable stages (width, repeats, stride of the first block), 1x1
    feature-mix conv (`last_channels`), global pool, classifier."""

    skeleton: str
    first_channels: int
    first_block_channels: int
    stage_widths: tuple[int, ...]
    stage_repeats: tuple[int, ...]
    stage_strides: tuple[int, ...]
    last_channels: int
    num_classes: int
    input_size: tuple[int, int]

    def slots(self) -> tuple[BlockSlot, ...]:
        out, c_in = [], self.first_block_channels
        for stage, (width, repeats, stride) in enumerate(zip(self.stage_widths, self.stage_repeats,
                                                             self.stage_strides)):
            for position in range(repeats):
                out.append(BlockSlot(len(out), stage + 1, position, c_in, width, stride if position == 0 else 1))
                c_in = width
        return tuple(out)


def _positive(where: str, name: str, values: tuple[int, ...], hint: str = "") -> None:
    if not values or any(v < 1 for v in values):
        raise GenotypeError(f"network: {where} {name} must be a non-empty list of positive integers, got "
                            f"{list(values)}{hint}")


def _check_input_multiple(where: str, input_size: tuple[int, int], factor: int) -> None:
    if any(side % factor for side in input_size):
        raise GenotypeError(f"network: {where} input_size {list(input_size)}: each side must be a multiple of "
                            f"{factor} (the backbone's total stride), e.g. [{7 * factor}, {7 * factor}]")


def _check_shufflenet(n: ShuffleNetV2Network) -> None:
    where = n.skeleton
    _positive(where, "stage_repeats", n.stage_repeats)
    _positive(where, "stage_out_channels", n.stage_out_channels,
              " (drop the leading -1 of megvii's stage_out_channels list)")
    if len(n.stage_out_channels) != len(n.stage_repeats) + 2:
        raise GenotypeError(f"network: {where} stage_out_channels {list(n.stage_out_channels)} needs "
                            f"{len(n.stage_repeats) + 2} values for {len(n.stage_repeats)} stages: the first conv, "
                            f"one width per stage and conv_last (megvii's list without its leading -1)")
    c_in = n.stage_out_channels[0]
    for stage, repeats in enumerate(n.stage_repeats):
        width = n.stage_out_channels[stage + 1]
        if width <= c_in:
            raise GenotypeError(f"network: {where} stage {stage + 1} width {width} must exceed its input width "
                                f"{c_in}: the stride-2 block concatenates its input with {width} - {c_in} new channels")
        if repeats > 1 and width % 2:
            raise GenotypeError(f"network: {where} stage {stage + 1} width {width} must be even: its stride-1 blocks "
                                f"split the channels in two halves")
        c_in = width
    _check_input_multiple(where, n.input_size, 2 ** (len(n.stage_repeats) + 1))


def _check_proxyless(n: ProxylessNetwork) -> None:
    where = n.skeleton
    for name in ("stage_widths", "stage_repeats", "stage_strides"):
        _positive(where, name, getattr(n, name))
    if not len(n.stage_widths) == len(n.stage_repeats) == len(n.stage_strides):
        raise GenotypeError(f"network: {where} stage_widths, stage_repeats and stage_strides must have one entry "
                            f"per stage, got {len(n.stage_widths)}, {len(n.stage_repeats)} and {len(n.stage_strides)}")
    if any(s not in (1, 2) for s in n.stage_strides):
        raise GenotypeError(f"network: {where} stage_strides {list(n.stage_strides)}: each stride must be 1 or 2")
    total = 2
    for s in n.stage_strides:
        total *= s
    _check_input_multiple(where, n.input_size, total)


SPOS_DEFAULTS = {"stage_repeats": [4, 4, 8, 4], "stage_out_channels": [16, 64, 160, 320, 640, 1024],
                 "num_classes": 1000, "input_size": [224, 224]}
DETNAS_1_3G_DEFAULTS = {"stage_repeats": [8, 8, 16, 8], "stage_out_channels": [48, 96, 240, 480, 960, 1024],
                        "num_classes": 1000, "input_size": [224, 224]}
PROXYLESS_DEFAULTS = {"first_channels": 32, "first_block_channels": 16, "stage_widths": [24, 40, 80, 96, 192, 320],
                      "stage_repeats": [4, 4, 4, 4, 4, 1], "stage_strides": [2, 2, 2, 1, 2, 1],
                      "last_channels": 1280, "num_classes": 1000, "input_size": [224, 224]}

register_skeleton(Skeleton(
    name="spos-imagenet", family="chain", settings=ShuffleNetV2Network, defaults=SPOS_DEFAULTS,
    check=_check_shufflenet, doc="megvii ShuffleNet-Series OneShot (Single Path One-Shot evaluation network)"))
register_skeleton(Skeleton(
    name="detnas-imagenet", family="chain", settings=ShuffleNetV2Network, defaults=DETNAS_1_3G_DEFAULTS,
    check=_check_shufflenet, doc="megvii ShuffleNet-Series DetNAS ImageNet backbone (defaults: DetNAS 1.3G)"))
register_skeleton(Skeleton(
    name="proxylessnas-imagenet", family="chain", settings=ProxylessNetwork, defaults=PROXYLESS_DEFAULTS,
    check=_check_proxyless, doc="mit-han-lab/proxylessnas ProxylessNASNets (search defaults, width 1.0)"))


# --- spaces ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Restriction:
    """Where an op may go: `allows(slot)` is False where it may not, `why` says so in the error."""

    allows: Callable[[BlockSlot], bool]
    why: str


@dataclass(frozen=True)
class ChainSpace:
    name: str
    blocks: tuple[str, ...]  # op names (signature `chain`); choice i = blocks[i]
    skeletons: tuple[str, ...]  # the networks it builds into; the first is the default
    doc: str
    channel_scales: tuple[float, ...] = ()  # allowed per-block hidden-width scales; () = none
    restrictions: Mapping[str, Restriction] = field(default_factory=dict)

    def listing(self) -> str:
        return ", ".join(f"{i} {op}" for i, op in enumerate(self.blocks))


CHAIN_SPACES: dict[str, ChainSpace] = {}


def register_chain_space(space: ChainSpace) -> ChainSpace:
    if space.name in CHAIN_SPACES:
        raise RuntimeError(f"chain space {space.name!r} registered twice")
    with_signature(op_set(*space.blocks), "chain")
    CHAIN_SPACES[space.name] = space
    return space


def get_chain_space(name: object) -> ChainSpace:
    if not isinstance(name, str) or name not in CHAIN_SPACES:
        raise GenotypeError(f"chain: unknown space {name!r}; known: {', '.join(sorted(CHAIN_SPACES))}")
    return CHAIN_SPACES[name]


# SPOS channel search candidates (ShuffleNet-Series OneShot / SPOS supernet: 0.2 ... 2.0 in steps of 0.2).
SPOS_CHANNEL_SCALES = (0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0)

register_chain_space(ChainSpace(
    name="shufflenetv2-oneshot",
    blocks=("shufflenet_3x3", "shufflenet_5x5", "shufflenet_7x7", "xception_3x3"),
    skeletons=("spos-imagenet", "detnas-imagenet"),
    channel_scales=SPOS_CHANNEL_SCALES,
    doc="Single Path One-Shot / DetNAS: one of four ShuffleNetV2 blocks per position"))

register_chain_space(ChainSpace(
    name="mbconv",
    blocks=("mbconv_3x3_e3", "mbconv_3x3_e6", "mbconv_5x5_e3", "mbconv_5x5_e6", "mbconv_7x7_e3", "mbconv_7x7_e6",
            "mbconv_skip"),
    skeletons=("proxylessnas-imagenet",),
    restrictions={"mbconv_skip": Restriction(
        allows=lambda slot: slot.stride == 1 and slot.c_in == slot.c_out,
        why="a block can be skipped only where its stride is 1 and its channels do not change")},
    doc="ProxylessNAS: MBConv kernel {3, 5, 7} x expansion {3, 6} per position, or skip where allowed"))
