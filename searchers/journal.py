"""The search journal: one SQLite file in DIR, one row per finished evaluation, committed as it finishes.

Why SQLite: each commit is atomic and durable (WAL, synchronous=FULL), so `kill -9` at any moment loses at
most the evaluations in flight, and a rerun reads exactly what finished. The journal also records what the
search is (space, searcher, seed and the searcher's result-changing settings); a DIR holding another search
is refused, because mixing two searches' results would make both wrong.

Rows: genotype (canonical JSON) and its hash, status (`ok`: evaluated; `rejected` is reserved for callers
that journal constraint rejections one by one: the driver only counts them, since a tight limit can reject
thousands), fitness, metrics and costs (JSON), start time and seconds, the evaluation seed and who ran it.
Meta values given to `commit` (the searcher's `state_dict()`, counters) are saved in the same transaction
as the row, so the row and the state that follows from it never disagree.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from genocompile.errors import SearchError
from genocompile.genotype import Genotype, genotype_from_dict, genotype_hash

JOURNAL_NAME = "journal.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hash TEXT NOT NULL,
    genotype TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'rejected')),
    fitness REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    costs TEXT NOT NULL DEFAULT '{}',
    started REAL NOT NULL,
    seconds REAL NOT NULL,
    seed INTEGER,
    worker TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS evaluations_hash ON evaluations (hash);
"""


@dataclass(frozen=True)
class Row:
    id: int
    hash: str
    genotype: dict
    status: str
    fitness: float | None
    metrics: dict
    costs: dict
    started: float
    seconds: float
    seed: int | None
    worker: str

    def load_genotype(self) -> Genotype:
        return genotype_from_dict(self.genotype)


class Journal:
    """`Journal(DIR, identity)` opens (or creates) DIR/journal.sqlite for the search `identity` describes.

    `identity` is plain JSON-able data, e.g. {"space": "darts-cifar", "searcher": "evolution", "seed": 0, ...};
    opening a journal written under another identity raises SearchError naming the first difference;
    `identity=None` opens whatever search DIR holds (for reading it: reports, tests, benchmarks)."""

    def __init__(self, out_dir: str | Path, identity: Mapping[str, Any] | None):
        self.path = Path(out_dir) / JOURNAL_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        if identity is not None:
            self._check_identity(dict(identity))

    # --- identity ------------------------------------------------------------------------------
    def _check_identity(self, identity: dict) -> None:
        stored = self.get_meta("identity")
        if stored is None:
            self.set_meta("identity", identity)
            return
        for key in list(stored) + [k for k in identity if k not in stored]:  # space and searcher first
            if stored.get(key) != identity.get(key):
                raise SearchError(f"{self.path.parent} holds a search with {key} {stored.get(key)!r}, not "
                                  f"{identity.get(key)!r}; use a new --out directory (or the original settings "
                                  f"to resume it)")

    def get_meta(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # --- rows ----------------------------------------------------------------------------------
    def commit(self, genotype: Genotype, status: str, fitness: float | None = None, metrics: Mapping | None = None,
               costs: Mapping | None = None, started: float | None = None, seconds: float = 0.0,
               seed: int | None = None, worker: str = "", meta: Mapping[str, Any] | None = None) -> int:
        """Append one row and set the `meta` values in one transaction; returns the row id."""
        started = time.time() if started is None else started
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO evaluations (hash, genotype, status, fitness, metrics, costs, started, seconds, seed,"
                " worker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (genotype_hash(genotype), json.dumps(genotype.to_dict()), status, fitness,
                 json.dumps(dict(metrics or {})), json.dumps(dict(costs or {})), started, seconds, seed, worker))
            for key, value in (meta or {}).items():
                self.set_meta(key, value)
            return int(cursor.lastrowid)

    def _transaction(self):
        db = self._db

        class _Tx:
            def __enter__(self):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind, *_):
                db.execute("COMMIT" if kind is None else "ROLLBACK")

        return _Tx()

    def rows(self, status: str | None = None) -> list[Row]:
        query = "SELECT id, hash, genotype, status, fitness, metrics, costs, started, seconds, seed, worker " \
                "FROM evaluations" + (" WHERE status = ?" if status else "") + " ORDER BY id"
        return [Row(r[0], r[1], json.loads(r[2]), r[3], r[4], json.loads(r[5]), json.loads(r[6]), r[7], r[8], r[9],
                    r[10]) for r in self._db.execute(query, (status,) if status else ())]

    def evaluated(self) -> list[Row]:
        return self.rows("ok")

    def count(self, status: str = "ok") -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM evaluations WHERE status = ?", (status,)).fetchone()[0])

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows())

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()
