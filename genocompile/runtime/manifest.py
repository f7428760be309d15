"""The bundle manifest: canonical JSON holding the sha256 of every file and of itself.

`manifest.json` is written in one canonical form (sorted keys, 2-space indent, newline-terminated) and
carries `manifest_sha256`, the sha256 of that canonical text without the field. Reading re-serialises
and re-hashes, so a changed byte anywhere in the manifest is caught, as is a changed byte in any file
it lists (`files`: {relative path: sha256}).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from genocompile.errors import GenocompileError

MANIFEST = "manifest.json"
BUNDLE_FORMAT = 1


class BundleError(GenocompileError):
    """A bundle that is incomplete, tampered with, or of an unknown format."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, indent=2) + "\n"


def _self_hash(data: dict[str, Any]) -> str:
    body = {k: v for k, v in data.items() if k != "manifest_sha256"}
    return hashlib.sha256(_canonical(body).encode()).hexdigest()


def write_manifest(directory: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Hash every file under `directory` into `files`, then write the self-hashed manifest."""
    files = {p.relative_to(directory).as_posix(): sha256_file(p)
             for p in sorted(directory.rglob("*")) if p.is_file() and p.name != MANIFEST}
    data = {**data, "format": BUNDLE_FORMAT, "files": files}
    data["manifest_sha256"] = _self_hash(data)
    (directory / MANIFEST).write_text(_canonical(data))
    return data


def read_manifest(directory: Path, verify_files: bool = True) -> dict[str, Any]:
    """The manifest of a bundle, after checking itself and (by default) every file it lists."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise BundleError(f"no bundle at {directory}: build one with `genocompile build GENOTYPE --out {directory}`")
    if not path.is_file():
        raise BundleError(f"{directory} has no {MANIFEST}: not a bundle, or an incomplete one; rebuild it")
    text = path.read_bytes()
    try:
        data = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BundleError(f"{path} is not valid JSON: the bundle is damaged; rebuild it") from None
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path}: unknown bundle format {data.get('format') if isinstance(data, dict) else None!r}; "
                          f"this genocompile reads format {BUNDLE_FORMAT}")
    if _canonical(data).encode() != text or data.get("manifest_sha256") != _self_hash(data):
        raise BundleError(f"{path} was modified after the build (its checksum does not match); rebuild the bundle")
    if verify_files:
        for rel, digest in data["files"].items():
            f = directory / rel
            if not f.is_file():
                raise BundleError(f"bundle {directory} is incomplete: {rel} is missing; rebuild it")
            if sha256_file(f) != digest:
                raise BundleError(f"bundle {directory}: {rel} does not match its sha256 in {MANIFEST} (tampered "
                                  f"or damaged); rebuild it")
    return data
