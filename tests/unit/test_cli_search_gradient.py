"""`genocompile search --searcher gradient`: the real registry and CLI, --json line, resume, one-line errors."""
import json

import pytest

from genocompile.cli.main import main
from genocompile.cost.counting import count_multiadds
from genocompile.genotype import load_genotype
from genocompile.models import build_reference

TINY = ["--channels", "4", "--layers", "3", "--nodes", "4", "--input-size", "8", "--batch-size", "32",
        "--steps-per-epoch", "2", "--train-samples", "256", "--eval-samples", "64"]


def search(capsys, *args):
    code = main(["search", "--searcher", "gradient", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.slow
def test_gradient_search_through_the_cli_under_a_multiadds_bound(tmp_path, capsys):
    out = str(tmp_path / "s")
    args = ["--space", "darts-cifar", "--budget", "1", "--json", "--out", out, "--max-multiadds", "250000000",
            "--order", "2", *TINY]
    code, stdout, stderr = search(capsys, *args)
    assert code == 0, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert (summary["evaluated"], summary["resumed"]) == (1, 0) and summary["order"] == 2
    genotype = load_genotype(out)
    assert genotype.to_dict() == summary["best"]["genotype"]
    assert count_multiadds(build_reference(genotype, seed=0), (1, 3, 32, 32)).total <= 250_000_000
    code, stdout, stderr = search(capsys, *[a if a != "1" else "2" for a in args])
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert code == 0 and (summary["evaluated"], summary["resumed"]) == (2, 1), stderr


def test_gradient_errors_are_one_line(tmp_path, capsys):
    for args, fragment in ((["--order", "3"], "--order must be 1 or 2"),
                           (["--space", "shufflenetv2-oneshot"], "searches DARTS cells"),
                           (["--bogus", "1"], "searcher 'gradient' has no option --bogus")):
        code, _, stderr = search(capsys, "--out", str(tmp_path / "s"), "--budget", "1", *TINY, *args)
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert code == 2 and lines[-1].startswith("genocompile: error: ") and fragment in lines[-1], stderr
