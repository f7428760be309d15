"""Write one benchmark's section into benchmarks/RESULTS.md, leaving the other sections as they are.

Each script owns the text between `<!-- BEGIN name -->` and `<!-- END name -->`.
"""
from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = ("# Benchmark results\n\nEvery number here is written by the script named in its section; rerun it to "
          "refresh the section. Ratios hold across machines of one kind; absolute times only on the device named.\n")


def update_section(name: str, markdown: str, path: Path = RESULTS) -> None:
    text = path.read_text() if path.exists() else HEADER
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def versions_line(device: str = "cpu") -> str:
    from genocompile.env import device_name, library_versions

    libs = ", ".join(f"{k} {v}" for k, v in library_versions().items())
    return f"Device: {device_name(device)}. Versions: {libs}."
