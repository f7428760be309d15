"""Parameters and MultiAdds of Auto-DeepLab-S/M/L at 1024x2048 beside the paper's (Table 3 / shared/REFERENCE.md).

    python benchmarks/autodeeplab_counts.py      # ~2 min on 2 CPU cores; prints the table, writes its RESULTS.md section

Counted with genocompile's `reference_costs` (fvcore on the reference network, eval, batch 1), and, to show how
much of the gap is TensorFlow's 4k+1 evaluation crop (1025x2049), with the closed-form counter of
tests/autodeeplab_oracle.py on TF's map sizes (the tests check it equals fvcore on exact sizes). The fused
column is the same fvcore count on the compiled module (`fused_multiadds`: BatchNorm folded into the convs,
duplicate resizes of one map shared), what a deployed artifact computes.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests"))
from autodeeplab_oracle import count as closed_form  # noqa: E402
from results import update_section, versions_line  # noqa: E402

from genocompile.cost import fused_multiadds, reference_costs  # noqa: E402
from genocompile.genotype import zoo_genotype  # noqa: E402

# Auto-DeepLab paper (arXiv 1901.02985) Table 3: params (M), Multi-Adds (B) at 1024x2048, ASPP + decoder included.
PUBLISHED = {"S": (20, 10.15, 333.25), "M": (32, 21.62, 460.93), "L": (48, 44.42, 695.03)}


def _fit(values: dict[int, float]) -> tuple[float, float, float]:
    """(a, b, c) of a + b F + c F^2 through three (F, value) points: constant, F-linear and cell (F^2) parts."""
    (f1, v1), (f2, v2), (f3, v3) = sorted(values.items())
    s12, s13 = (v2 - v1) / (f2 - f1), (v3 - v1) / (f3 - f1)
    c = (s13 - s12) / (f3 - f2)
    b = s12 - c * (f1 + f2)
    return v1 - b * f1 - c * f1 * f1, b, c


def measure() -> list[dict]:
    rows = []
    for variant, (f, params_pub, multiadds_pub) in PUBLISHED.items():
        g = zoo_genotype("autodeeplab").with_network(filter_multiplier=f, input_size=(1024, 2048))
        costs = reference_costs(g)
        _, tf_crop = closed_form(g.to_dict(), tf_sizes=True)
        rows.append({"variant": variant, "f": f, "params": costs.params, "multiadds": costs.multiadds,
                     "conv": costs.multiadds_by_op.get("conv", 0), "fused": fused_multiadds(g), "tf_crop": tf_crop,
                     "params_pub": params_pub,
                     "multiadds_pub": multiadds_pub, "by_block": costs.multiadds_by_block})
    return rows


def table(rows: list[dict]) -> str:
    out = ["| model | F | params (M) | published | MultiAdds (B), fvcore | conv only | fused (compiled) "
           "| at TF's 1025x2049 | published | gap (fvcore / 1025x2049) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        gap = f"{100 * (r['multiadds'] / 1e9 / r['multiadds_pub'] - 1):+.1f}% / " \
              f"{100 * (r['tf_crop'] / 1e9 / r['multiadds_pub'] - 1):+.1f}%"
        out.append(f"| Auto-DeepLab-{r['variant']} | {r['f']} | {r['params'] / 1e6:.2f} | {r['params_pub']:.2f} | "
                   f"{r['multiadds'] / 1e9:.2f} | {r['conv'] / 1e9:.2f} | {r['fused'] / 1e9:.2f} | {r['tf_crop'] / 1e9:.2f} | "
                   f"{r['multiadds_pub']:.2f} | {gap} |")
    return "\n".join(out)


def explanation(rows: list[dict]) -> str:
    ours = _fit({r["f"]: r["tf_crop"] / 1e9 for r in rows})
    paper = _fit({r["f"]: r["multiadds_pub"] for r in rows})
    s = rows[0]
    crop_share = [(r["tf_crop"] - r["multiadds"]) / (r["multiadds_pub"] * 1e9 - r["multiadds"]) for r in rows]
    gaps = [100 * (1 - r["multiadds"] / (r["multiadds_pub"] * 1e9)) for r in rows]
    agree = max(abs(ours[0] / paper[0] - 1), abs(ours[2] / paper[2] - 1))
    share = ", ".join(f"{block} {100 * v / s['multiadds']:.0f}%" for block, v in list(s["by_block"].items())[:6])
    return (
        f"Parameters match the paper to its two decimals for all three models: the head the paper does not spell out "
        f"is DeepLabv3+'s with regular (not separable) 3x3 convs in ASPP (image pooling, 1x1, rates 6/12/18 at "
        f"stride 16) and decoder (48-channel projection of layer 2, two 256-filter 3x3 convs).\n\n"
        f"MultiAdds are {min(gaps):.1f}-{max(gaps):.1f}% below the paper's. Writing each total as a + b F + c F^2 (a: stem, decoder, logits; "
        f"b F: ASPP on the 10F-channel rate-8 features and other F-linear terms; c F^2: the cells), our counts on "
        f"TF's 1025x2049 crop give a = {ours[0]:.1f}B, b = {ours[1]:.3f}B, c = {ours[2]:.4f}B and the paper's "
        f"a = {paper[0]:.1f}B, b = {paper[1]:.3f}B, c = {paper[2]:.4f}B. TF's 4k+1 evaluation crop (maps of "
        f"(H/r + 1) x (W/r + 1)) explains {100 * min(crop_share):.0f}-{100 * max(crop_share):.0f}% of the gap; the "
        f"constant and cell parts then agree within {100 * agree:.1f}%, and what remains (~{paper[1] - ours[1]:.2f}B per unit of F) sits in the F-linear part, whose "
        f"convention we could not identify (it is not a missing layer: the parameters match). We report fvcore's "
        f"count and do not tune to the paper's.\n\n"
        f"Where Auto-DeepLab-S spends its MultiAdds (fvcore, 1024x2048): {share}.")


def main() -> None:
    rows = measure()
    body = table(rows)
    notes = ("Counted by `benchmarks/autodeeplab_counts.py`: `zoo:autodeeplab` (the published cell and path "
             "[4, 4, 4, 8, 16, 8, 16, 16, 32, 32, 16, 8]) in the `autodeeplab` skeleton, 19 classes, 1024x2048 input; "
             "params without anything training-only; MultiAdds = fvcore `FlopCountAnalysis` total in eval mode at "
             "batch 1 (conv + BatchNorm 2 x numel + bilinear resize 4 x output numel + adaptive pooling); "
             "'conv only' is its conv part; 'fused' is fvcore on the compiled module (BatchNorm folded, duplicate "
             "resizes shared: conv + resizes + pooling); 'at TF's 1025x2049' is the closed-form count (tests/autodeeplab_oracle.py) "
             "on the map sizes TensorFlow's DeepLab gives its 4k+1 Cityscapes crop. Published: Auto-DeepLab paper "
             "Table 3 as quoted in shared/REFERENCE.md.")
    section = (f"## Auto-DeepLab: parameters and MultiAdds at 1024x2048\n\n{body}\n\n{notes}\n\n{explanation(rows)}"
               f"\n\n{versions_line()}")
    update_section("autodeeplab_counts", section)
    print(body)
    print()
    print(explanation(rows))


if __name__ == "__main__":
    main()
