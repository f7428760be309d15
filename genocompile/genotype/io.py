"""Loading, canonical JSON and content hashing, for every genotype family.

A genotype source may be: a genotype object, a dict, a JSON string, the DARTS `Genotype(...)` text,
`zoo:NAME`, a path to a file holding JSON or DARTS text, or a bundle directory (its genotype.json).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping, Union

from genocompile.errors import GenotypeError
from genocompile.genotype.darts_text import parse_darts_text
from genocompile.genotype.registry import FAMILIES

FORMAT_VERSION = 1

Genotype = Any  # an instance of any registered family class (see genocompile.genotype.registry)
GenotypeSource = Union[Genotype, Mapping[str, Any], str, Path]


def genotype_from_dict(data: Any) -> Genotype:
    if not isinstance(data, Mapping):
        raise GenotypeError(f"a genotype must be a JSON object, got {type(data).__name__}")
    if "genocompile" not in data:
        raise GenotypeError('missing format version: add "genocompile": 1 as the first key')
    version = data["genocompile"]
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise GenotypeError(f"unsupported genotype format version {version!r}; this genocompile reads version "
                            f"{FORMAT_VERSION} (upgrade genocompile to read newer files)")
    family = data.get("family")
    if family not in FAMILIES:
        raise GenotypeError(f"unknown genotype family {family!r}; known: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[family].from_dict(data)


def to_json(genotype: Genotype) -> str:
    """The canonical JSON text: fixed key order, one top-level key per line, newline-terminated."""
    items = [f"{json.dumps(k)}: {json.dumps(v, separators=(', ', ': '))}" for k, v in genotype.to_dict().items()]
    return "{" + ",\n ".join(items) + "}\n"


def genotype_hash(genotype: Genotype) -> str:
    """sha256 of the canonical JSON, `name` excluded: equal architectures and networks hash equal."""
    data = {k: v for k, v in genotype.to_dict().items() if k != "name"}
    return hashlib.sha256(json.dumps(data, separators=(",", ":")).encode()).hexdigest()


def parse_genotype_text(text: str, default_name: str | None = None) -> Genotype:
    stripped = text.strip()
    if not stripped:
        raise GenotypeError("empty genotype text; give JSON or the Genotype(...) line from a DARTS log")
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as e:
            raise GenotypeError(f"invalid genotype JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
        if isinstance(data, dict) and default_name and "name" not in data:
            data["name"] = default_name
        return genotype_from_dict(data)
    name, fields = parse_darts_text(stripped)
    data = {"genocompile": FORMAT_VERSION, "family": "cell", "name": (name or default_name or "genotype").lower()}
    for key in ("normal", "normal_concat", "reduce", "reduce_concat"):
        if key not in fields:
            raise GenotypeError(f"DARTS genotype text: missing field {key!r}; Genotype(...) needs normal, "
                                f"normal_concat, reduce and reduce_concat")
        data[key] = fields.pop(key)
    if fields:
        raise GenotypeError(f"DARTS genotype text: unknown field(s) {', '.join(sorted(fields))}; "
                            f"known: normal, normal_concat, reduce, reduce_concat")
    return genotype_from_dict(data)


def load_genotype(source: GenotypeSource) -> Genotype:
    """Load and validate a genotype from any accepted source (see the module docstring)."""
    if isinstance(source, tuple(FAMILIES.values())):
        return source  # type: ignore[return-value]
    if isinstance(source, Mapping):
        return genotype_from_dict(source)
    if isinstance(source, Path):
        return _load_path(source)
    if not isinstance(source, str):
        raise GenotypeError(f"cannot load a genotype from a {type(source).__name__}")
    if source.startswith("zoo:"):
        from genocompile.genotype.zoo import zoo_genotype

        return zoo_genotype(source[4:])
    stripped = source.strip()
    if stripped.startswith("{") or "Genotype(" in stripped:
        return parse_genotype_text(stripped)
    path = Path(source)
    if path.exists():
        return _load_path(path)
    raise GenotypeError(f"no genotype at {source!r}: give a genotype JSON file, a bundle directory, zoo:NAME "
                        f"(list them with `genocompile zoo`), or the JSON / Genotype(...) text itself")


def _load_path(path: Path) -> Genotype:
    if path.is_dir():
        inner = path / "genotype.json"
        if not inner.is_file():
            raise GenotypeError(f"{path} is a directory without genotype.json; give a genotype file or a bundle "
                                f"directory written by `genocompile build` or `genocompile search`")
        path = inner
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise GenotypeError(f"cannot read genotype file {path}: {e}") from None
    try:
        return parse_genotype_text(text, default_name=path.stem)
    except GenotypeError as e:
        raise GenotypeError(f"{path}: {e}") from None
