"""The journal: rows committed one by one, read back in order, meta in the same transaction, foreign DIRs refused."""
import sqlite3

import pytest

from genocompile.errors import SearchError
from genocompile.genotype import genotype_hash, zoo_genotype
from genocompile.searchers.journal import JOURNAL_NAME, Journal

IDENTITY = {"space": "darts-cifar", "searcher": "evolution", "seed": 0}


def test_commit_and_read_back(tmp_path):
    g1, g2 = zoo_genotype("darts_v1"), zoo_genotype("darts_v2")
    with Journal(tmp_path, IDENTITY) as journal:
        journal.commit(g1, "ok", fitness=0.5, metrics={"seed": 7}, costs={"multiadds": 1}, seconds=1.5, seed=7,
                       worker="w:1", meta={"searcher_state": {"rng": [1]}})
        journal.commit(g2, "ok", fitness=0.7, meta={"searcher_state": {"rng": [2]}})
    # a second connection (as after a crash and rerun) sees both rows and the last state
    with Journal(tmp_path, IDENTITY) as journal:
        rows = journal.evaluated()
        assert [r.hash for r in rows] == [genotype_hash(g1), genotype_hash(g2)]
        assert rows[0].load_genotype() == g1 and rows[0].fitness == 0.5 and rows[0].seed == 7
        assert rows[0].metrics == {"seed": 7} and rows[0].costs == {"multiadds": 1} and rows[0].worker == "w:1"
        assert journal.get_meta("searcher_state") == {"rng": [2]}
        assert journal.count("ok") == 2
    # WAL mode: readers do not block the writer
    assert sqlite3.connect(tmp_path / JOURNAL_NAME).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_directory_of_another_search_is_refused(tmp_path):
    Journal(tmp_path, IDENTITY).close()
    with pytest.raises(SearchError, match="holds a search with space 'darts-cifar', not 'darts-imagenet'; use a new "
                                          "--out"):
        Journal(tmp_path, {**IDENTITY, "space": "darts-imagenet"})
    with pytest.raises(SearchError, match="seed 0, not 1"):
        Journal(tmp_path, {**IDENTITY, "seed": 1})


def test_a_failed_transaction_leaves_no_row(tmp_path):
    with Journal(tmp_path, IDENTITY) as journal:
        with pytest.raises(sqlite3.IntegrityError):
            journal.commit(zoo_genotype("darts_v2"), "bogus-status", fitness=1.0, meta={"rejected": 5})
        assert journal.count("ok") == 0 and journal.rows() == [] and journal.get_meta("rejected") is None
