"""The CLI's first commands and its error contract (one line on stderr, non-zero exit, no traceback)."""
import json
import os
import subprocess
import sys

import pytest

from genocompile.cli.main import main


def run(*args):
    env = {**os.environ, "GENOCOMPILE_DEBUG": ""}
    return subprocess.run([sys.executable, "-m", "genocompile", *args], capture_output=True, text=True, env=env)


def test_inspect_json(capsys):
    assert main(["inspect", "zoo:darts_v2", "--skeleton", "darts-imagenet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["params"] == 4_718_752 and report["multiadds"] == 538_190_592
    assert report["multiadds_by_op"]["conv"] == 529_143_552
    assert report["network"]["skeleton"] == "darts-imagenet"
    assert report["unsupported_ops"]["aten::max_pool2d"] == 10


def test_inspect_input_size_changes_the_count(capsys):
    main(["inspect", "zoo:darts_v2", "--json"])
    at_32 = json.loads(capsys.readouterr().out)["multiadds"]
    main(["inspect", "zoo:darts_v2", "--input-size", "64x64", "--json"])
    at_64 = json.loads(capsys.readouterr().out)["multiadds"]
    assert 3.9 * at_32 < at_64 < 4.1 * at_32


def test_inspect_table_and_zoo(capsys):
    assert main(["inspect", "zoo:pnasnet"]) == 0
    out = capsys.readouterr().out
    assert "4,481,110" in out and "MultiAdds" in out
    assert main(["zoo", "--json"]) == 0
    assert {r["name"] for r in json.loads(capsys.readouterr().out)} >= {"zoo:darts_v2", "zoo:nasnet"}


@pytest.mark.parametrize("name,exact", [("spos", True), ("proxylessnas_mobile", True), ("nekrasov_arch1", False)])
def test_inspect_json_reports_fused_multiadds(name, exact, capsys):
    assert main(["inspect", f"zoo:{name}", "--input-size", "64x64", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    fused, total, by_op = report["multiadds_fused"], report["multiadds"], report["multiadds_by_op"]
    assert 0 < fused < total
    if exact:  # a chain's compiled module drops exactly fvcore's BatchNorm count (the convs keep theirs)
        assert fused == total - by_op["batch_norm"]
    else:  # the segmenter also loses its pooled branch's upsampling (a broadcast there)
        assert fused <= total - by_op["batch_norm"]


@pytest.mark.parametrize("args,fragment", [
    (["inspect", "zoo:nope"], "no zoo genotype 'nope'"),
    (["inspect", "missing.json"], "no genotype at 'missing.json'"),
    (["inspect", "zoo:darts_v2", "--input-size", "big"], "--input-size 'big': write HxW"),
    (["inspect", "zoo:darts_v2", "--skeleton", "vgg"], "unknown skeleton 'vgg'"),
    (["inspect", "zoo:darts_v2", "--bogus"], "No such option: --bogus"),
])
def test_errors_are_one_line_with_exit_2(args, fragment):
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genocompile: error:") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_debug_variable_shows_the_traceback():
    env = {**os.environ, "GENOCOMPILE_DEBUG": "1"}
    result = subprocess.run([sys.executable, "-m", "genocompile", "inspect", "zoo:nope"], capture_output=True,
                            text=True, env=env)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_version():
    from genocompile import __version__

    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"genocompile {__version__}"
