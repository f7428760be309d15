"""The latency lookup table file: per-block timings keyed by where they were measured.

```json
{"genocompile_lut": 1,
 "key": {"device": "<CPU model> (1 threads)", "versions": {"torch": "2.13.0", ...}, "target": "torch", "batch": 1},
 "space": "darts-cifar", "network": {...deploy network settings...},
 "call_overhead_ms": 0.004,              # an empty compiled module's call, subtracted from every entry
 "entries": {"<block key>": {"ms": 0.41, "nodes": 5, "label": "sep_conv_3x3 s1 on 36x32x32 -> ..."}},
 "calibration": {"features": ["lut_ms", "nodes", "cells", "one"], "coef": [...], "samples": [...]},
 "complete": true}
```

A table is only valid on the device, thread count, library versions, target and batch it was measured
with (the `key`; nn-Meter and Once-for-All likewise keep one table per hardware): `check_key` refuses any
other with one line. Every write goes to a temporary file that is renamed over the table, so a killed
profile leaves the last complete state and a rerun continues from it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genocompile.atomic import write_text
from genocompile.errors import CostModelError

FORMAT = 1
# Library versions that decide speed: a table measured under others is stale.
KEY_LIBRARIES = ("torch", "onnxruntime", "tensorrt", "triton")


def lut_key(device: str, target: str, batch: int) -> dict[str, Any]:
    from genocompile.env import device_name, library_versions

    versions = library_versions()
    return {"device": device_name(device), "versions": {k: versions[k] for k in KEY_LIBRARIES if k in versions},
            "target": target, "batch": batch}


@dataclass
class LUT:
    key: dict[str, Any]
    space: str
    network: dict[str, Any]
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    call_overhead_ms: float | None = None
    calibration: dict[str, Any] = field(default_factory=dict)
    complete: bool = False
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"genocompile_lut": FORMAT, "key": self.key, "space": self.space, "network": self.network,
                "call_overhead_ms": self.call_overhead_ms, "entries": self.entries, "calibration": self.calibration,
                "complete": self.complete}

    def save(self, path: str | Path | None = None) -> None:
        """Atomic: write a sibling temp file, fsync, rename over the table."""
        path = Path(path or self.path)
        write_text(path, json.dumps(self.to_dict(), indent=1, sort_keys=True))
        self.path = path

    def ms(self, key: str, label: str = "") -> float:
        entry = self.entries.get(key)
        if entry is None:
            raise CostModelError(f"{self.where}: no entry for block {label or key} (the table covers the "
                                 f"{self.space} space at {_network_text(self.network)}); profile that network "
                                 f"with `genocompile profile`")
        return float(entry["ms"])

    @property
    def where(self) -> str:
        return str(self.path) if self.path else "latency table"

    def check_key(self, expected: dict[str, Any]) -> None:
        """Refuse a table measured elsewhere (device, threads, versions, target or batch differ)."""
        for field_name in ("device", "target", "batch"):
            if self.key.get(field_name) != expected.get(field_name):
                raise CostModelError(f"{self.where} was measured with {field_name} {self.key.get(field_name)!r}, "
                                     f"not {expected.get(field_name)!r} as here; profile this device with "
                                     f"`genocompile profile --out NEW.json`")
        theirs, ours = self.key.get("versions", {}), expected.get("versions", {})
        for lib in sorted(set(theirs) | set(ours)):
            if theirs.get(lib) != ours.get(lib):
                raise CostModelError(f"{self.where} was measured with {lib} {theirs.get(lib) or 'absent'}, this "
                                     f"machine has {ours.get(lib) or 'none'}; profile again with `genocompile profile`")


def _network_text(network: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in network.items())


def read_lut(path: str | Path) -> LUT:
    """Load and validate a table's structure (not its key: see `LUT.check_key`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise CostModelError(f"latency table {path} does not exist; make one with `genocompile profile`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CostModelError(f"latency table {path} is not valid JSON ({e}); profile again") from None
    if not isinstance(data, dict) or data.get("genocompile_lut") != FORMAT:
        raise CostModelError(f"{path} is not a genocompile latency table (format {FORMAT}); make one with "
                             f"`genocompile profile`")
    try:
        key, entries = data["key"], data["entries"]
        ok = (isinstance(key, dict) and all(k in key for k in ("device", "versions", "target", "batch"))
              and isinstance(entries, dict)
              and all(isinstance(e, dict) and isinstance(e.get("ms"), (int, float)) and e["ms"] >= 0
                      for e in entries.values()))
        if not ok:
            raise KeyError("key or entries")
        return LUT(key=key, space=str(data["space"]), network=dict(data["network"]), entries=entries,
                   call_overhead_ms=data.get("call_overhead_ms"), calibration=dict(data.get("calibration") or {}),
                   complete=bool(data.get("complete")), path=path)
    except (KeyError, TypeError, ValueError) as e:
        raise CostModelError(f"latency table {path} is malformed ({e} missing or wrong); profile again with "
                             f"`genocompile profile`") from None
