"""`genocompile search`: the --json final line, resume through the CLI, one-line errors."""
import json

import pytest

from genocompile.cli.main import main
from genocompile.cli.search_cmd import parse_extra
from genocompile.errors import SearchError
from genocompile.genotype import load_genotype
from search_helpers import TINY_EXTRA

TINY = [arg for key, value in TINY_EXTRA.items() for arg in ("--" + key.replace("_", "-"), value)]


def search(capsys, *args):
    code = main(["search", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_line_and_resume(tmp_path, capsys):
    out = str(tmp_path / "s")
    code, stdout, _ = search(capsys, "--space", "darts-cifar", "--budget", "2", "--out", out, "--json",
                             "--max-multiadds", "300000000", *TINY)
    assert code == 0
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert (summary["evaluated"], summary["resumed"]) == (2, 0)
    assert summary["best"]["costs"]["multiadds"] <= 300_000_000 and 0 <= summary["best"]["fitness"] <= 1
    assert load_genotype(out).to_dict()["normal"] == summary["best"]["genotype"]["normal"]
    code, stdout, _ = search(capsys, "--space", "darts-cifar", "--budget", "3", "--out", out, "--json",
                             "--max-multiadds", "300000000", *TINY)
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert code == 0 and (summary["evaluated"], summary["resumed"]) == (3, 2)


@pytest.mark.parametrize("args, fragment", [
    (["--space", "nope"], "unknown search space 'nope'; known: darts-cifar"),
    (["--searcher", "nope"], "unknown searcher 'nope'; known: evolution"),
    (["--bogus", "3"], "searcher 'evolution' has no option --bogus; its options: --ea"),
    (["--ea", "nope"], "--ea 'nope': unknown; known: aging, detnas"),
    (["--population", "many"], "--population 'many': expected an integer"),
    (["--budget", "0"], "--budget must be a positive integer"),
    (["--max-multiadds", "-5"], "--max-multiadds must be a positive number"),
    (["--executor", "nope"], "unknown executor 'nope'; known: local, ray"),
])
def test_errors_are_one_line(tmp_path, capsys, args, fragment):
    code, stdout, stderr = search(capsys, "--out", str(tmp_path / "s"), "--budget", "1", *TINY, *args)
    assert code == 2, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("genocompile: error: ") and fragment in lines[-1], stderr
    assert "Traceback" not in stderr


def test_parse_extra():
    assert parse_extra(["--ea", "detnas", "--flag", "--top-k=4"]) == {"ea": "detnas", "flag": "true", "top_k": "4"}
    with pytest.raises(SearchError, match="unexpected argument 'stray'"):
        parse_extra(["stray"])
