"""genocompile.atomic: a failed write leaves the old file and no temp behind; a dead writer's temp is found."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from genocompile.atomic import replacing, save_figure, stale_temps, temp_path, write_text


def test_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "a.json"
    write_text(path, "old")
    write_text(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]


def test_failed_write_keeps_old_content(tmp_path):
    path = tmp_path / "a.json"
    write_text(path, "old")
    with pytest.raises(RuntimeError):
        with replacing(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert path.read_text() == "old"
    assert not temp_path(path).exists()


def test_figure_format_comes_from_the_final_name(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = save_figure(fig, tmp_path / "plot.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stale_temps_are_those_of_dead_writers(tmp_path):
    path = tmp_path / "lut.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_tmp = path.with_name(f".{path.name}.tmp-{int(dead.stdout)}")
    live_tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    for p in (dead_tmp, live_tmp):
        p.write_text("x")
    assert stale_temps(path) == [dead_tmp]
