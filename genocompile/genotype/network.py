"""Deploy-network descriptions: which skeleton a genotype is built into, and with what settings.

A skeleton is registered once here as plain data (its family, its settings type, defaults and
checks); the model builders in `genocompile.models` register a builder under the same name.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any, Callable, ClassVar, Mapping

from genocompile.errors import GenotypeError


@dataclass(frozen=True)
class DartsNetwork:
    """Settings of the DARTS evaluation networks (quark0/darts NetworkCIFAR / NetworkImageNet)."""

    skeleton: str
    init_channels: int
    layers: int
    num_classes: int
    input_size: tuple[int, int]
    auxiliary: bool = False


@dataclass(frozen=True)
class Skeleton:
    name: str
    family: str
    settings: type  # frozen dataclass whose first field is `skeleton`
    defaults: Mapping[str, Any]
    check: Callable[[Any], None]  # raises GenotypeError naming the problem and the fix
    doc: str


SKELETONS: dict[str, Skeleton] = {}


def register_skeleton(skeleton: Skeleton) -> Skeleton:
    if skeleton.name in SKELETONS:
        raise RuntimeError(f"skeleton {skeleton.name!r} registered twice")
    SKELETONS[skeleton.name] = skeleton
    return skeleton


def get_skeleton(name: Any, family: str | None = None) -> Skeleton:
    known = sorted(s.name for s in SKELETONS.values() if family in (None, s.family))
    if not isinstance(name, str) or name not in SKELETONS or (family and SKELETONS[name].family != family):
        raise GenotypeError(f"network: unknown skeleton {name!r}; known for this family: {', '.join(known)}")
    return SKELETONS[name]


# --- typed fields -------------------------------------------------------------------------------

def _check_field(where: str, name: str, annotation: Any, value: Any) -> Any:
    """Check one JSON value against a settings field's type; returns the value in its frozen form."""
    ann = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    if ann == "bool":
        if not isinstance(value, bool):
            raise GenotypeError(f"{where}: {name} must be true or false, got {value!r}")
        return value
    if ann == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise GenotypeError(f"{where}: {name} must be a positive integer, got {value!r}")
        return value
    if ann == "str":
        if not isinstance(value, str) or not value:
            raise GenotypeError(f"{where}: {name} must be a non-empty string, got {value!r}")
        return value
    if ann.startswith("tuple[int, int]"):
        if (not isinstance(value, (list, tuple)) or len(value) != 2
                or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value)):
            raise GenotypeError(f"{where}: {name} must be [height, width] as two positive integers, got {value!r}")
        return (int(value[0]), int(value[1]))
    if ann.startswith("tuple[int, ...]"):
        if not isinstance(value, (list, tuple)) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            raise GenotypeError(f"{where}: {name} must be a list of integers, got {value!r}")
        return tuple(value)
    raise TypeError(f"no JSON rule for settings field type {ann}")


def network_from_dict(data: Any, family: str, default_skeleton: str) -> Any:
    """Parse the `network` object of a genotype: missing keys take the skeleton's defaults."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise GenotypeError(f"network must be an object like {{\"skeleton\": \"{default_skeleton}\"}}, got {data!r}")
    skeleton = get_skeleton(data.get("skeleton", default_skeleton), family)
    fields = {f.name: f for f in dataclasses.fields(skeleton.settings)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise GenotypeError(f"network: unknown key(s) {', '.join(map(repr, unknown))} for skeleton "
                            f"{skeleton.name!r}; known: {', '.join(fields)}")
    values: dict[str, Any] = {"skeleton": skeleton.name}
    for name, f in fields.items():
        if name == "skeleton":
            continue
        raw = data.get(name, skeleton.defaults.get(name))
        values[name] = _check_field("network", name, f.type, raw)
    settings = skeleton.settings(**values)
    skeleton.check(settings)
    return settings


def network_to_dict(settings: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def with_network(settings: Any, family: str, skeleton: str | None = None, **changes: Any) -> Any:
    """The same settings with some fields changed; a new skeleton starts from its own defaults."""
    base = {} if skeleton and skeleton != settings.skeleton else network_to_dict(settings)
    base.update({k: v for k, v in changes.items() if v is not None})
    base["skeleton"] = skeleton or settings.skeleton
    return network_from_dict(base, family, base["skeleton"])


class NetworkedGenotype:
    """What every family shares: the `network` settings and `name` fields, normalised and validated in one place.

    A family class (a frozen dataclass with `network` and `name` fields) inherits this and calls
    `_freeze_network_and_name()` from its `__post_init__`."""

    family: ClassVar[str]
    default_skeleton: ClassVar[str]

    def _freeze_network_and_name(self) -> None:
        network = self.network  # type: ignore[attr-defined]
        if network is None or isinstance(network, Mapping):  # None -> the skeleton's defaults
            object.__setattr__(self, "network", network_from_dict(network, self.family, self.default_skeleton))
        elif get_skeleton(getattr(network, "skeleton", None), self.family).settings is not type(network):
            raise GenotypeError(f"network: {network!r} is not a {self.family}-family network description")
        if not isinstance(self.name, str) or not self.name:  # type: ignore[attr-defined]
            raise GenotypeError(f"name must be a non-empty string, got {self.name!r}")  # type: ignore[attr-defined]

    def with_network(self, skeleton: str | None = None, **changes: Any):
        """The same architecture in another network (a new skeleton starts from its defaults) or settings."""
        return replace(self, network=with_network(self.network, self.family, skeleton, **changes))  # type: ignore

    def renamed(self, name: str):
        return replace(self, name=name)  # type: ignore[type-var]


# --- the DARTS skeletons --------------------------------------------------------------------------

def darts_reduction_cells(layers: int) -> frozenset[int]:
    """Which cells of a DARTS network of `layers` cells reduce: L//3 and 2L//3 (one cell if they meet)."""
    return frozenset((layers // 3, 2 * layers // 3))


def darts_reductions(layers: int) -> int:
    """How many reduction cells a DARTS network of `layers` cells has."""
    return len(darts_reduction_cells(layers))


def _check_darts_cifar(n: DartsNetwork) -> None:
    # Each reduction halves the map, and FactorizedReduce needs an even map there (its halves must line up).
    factor = 2 ** darts_reductions(n.layers)
    for side in n.input_size:
        if side % factor:
            raise GenotypeError(f"network: darts-cifar input_size {list(n.input_size)} must be divisible by {factor} "
                                f"({factor.bit_length() - 1} FactorizedReduce halvings need even maps), e.g. [32, 32]")


def _check_darts_imagenet(n: DartsNetwork) -> None:
    if n.init_channels % 2:
        raise GenotypeError(f"network: darts-imagenet init_channels must be even (the stem starts with C/2 "
                            f"and cell 0 factor-reduces to C), got {n.init_channels}")
    # The stem divides by 8, each reduction by 2; the final AvgPool2d(7) must then leave 1x1.
    factor = 8 * 2 ** darts_reductions(n.layers)
    for side in n.input_size:
        if side % factor or not 7 <= side // factor <= 13:
            raise GenotypeError(f"network: darts-imagenet input_size {list(n.input_size)}: each side must be a "
                                f"multiple of {factor} between {7 * factor} and {13 * factor} (the final 7x7 "
                                f"average pool must give 1x1), e.g. [{7 * factor}, {7 * factor}]")


register_skeleton(Skeleton(
    name="darts-cifar", family="cell", settings=DartsNetwork,
    defaults={"init_channels": 36, "layers": 20, "num_classes": 10, "input_size": [32, 32], "auxiliary": False},
    check=_check_darts_cifar, doc="quark0/darts NetworkCIFAR: 3x3 stem (3C), reductions at L/3 and 2L/3"))
register_skeleton(Skeleton(
    name="darts-imagenet", family="cell", settings=DartsNetwork,
    defaults={"init_channels": 48, "layers": 14, "num_classes": 1000, "input_size": [224, 224], "auxiliary": False},
    check=_check_darts_imagenet, doc="quark0/darts NetworkImageNet (mobile setting): /8 stem, 7x7 average pool"))
