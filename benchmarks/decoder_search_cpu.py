"""Decoder search on the CPU: `genocompile search --searcher rl --space nas-segm` for a few minutes.

Runs the auxiliary-cell decoder search (PPO controller, two-stage training with early stopping, auxiliary
cells, knowledge distillation from a teacher trained once, Polyak-averaged decoder weights) on the generated
shapes at 32x32, then compiles the best layout (torch + ONNX, parity checked by the build). Reports each
candidate's reward and whether the gate stopped it, the compute the gate saved, the best layout with its
proxy mIoU and deploy-network MultiAdds, the teacher's mIoU and the wall time.

One CPU thread on a shared machine: times are noisy.

    python benchmarks/decoder_search_cpu.py            # writes the `decoder_search_cpu` section of RESULTS.md
    python benchmarks/decoder_search_cpu.py --quick    # tiny settings, prints only (the smoke test)
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from results import update_section, versions_line  # noqa: E402

QUICK = {"stage1_steps": 2, "stage2_steps": 2, "teacher_steps": 2, "train": 16, "valid": 8, "batch_size": 4,
         "agg": 8, "teacher_agg": 8, "rl_batch": 2, "deploy_input": 64}


def candidates(out: Path) -> list[tuple]:
    import json

    with sqlite3.connect(out / "journal.sqlite") as db:
        rows = db.execute("SELECT hash, fitness, metrics, costs, seconds FROM evaluations WHERE status = 'ok' "
                          "ORDER BY id").fetchall()
    return [(h, f, json.loads(m), json.loads(c), s) for h, f, m, c, s in rows]


def compile_best(out: Path) -> dict:
    from genocompile.build import BuildOptions, build
    from genocompile.genotype import load_genotype

    manifest = build(load_genotype(out / "genotype.json"), out / "build",
                     BuildOptions(targets=("torch", "onnx"), measure_latency=False, verify_samples=1))
    return {t: manifest["targets"][t]["parity"]["rel_err"] for t in ("torch", "onnx")}


def main(argv: list[str] | None = None) -> str:
    from genocompile.searchers.registry import SearchOptions, get_searcher

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 candidates on tiny settings, nothing written")
    parser.add_argument("--budget", type=int, default=16)
    parser.add_argument("--early-p0", type=float, default=0.5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    budget = 3 if args.quick else args.budget
    extra = {"early_p0": args.early_p0, **(QUICK if args.quick else {})}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "search"
        start = time.perf_counter()
        summary = get_searcher("rl")(SearchOptions(space="nas-segm", out_dir=out, budget=budget, seed=0,
                                                   extra=extra))
        seconds = time.perf_counter() - start
        rows = candidates(out)
        parity = compile_best(out)
    from genocompile.searchers.rl.decoder_run import PROXY_FIELDS
    from genocompile.searchers.rl.decoder_evaluation import DecoderProxySettings
    from genocompile.searchers.rl.searcher import RLSettings

    p = DecoderProxySettings(**{k: v for k, v in extra.items() if k in PROXY_FIELDS})
    deploy = extra.get("deploy_input", 512)
    rl = summary.extra["rl"]
    es, teacher = rl["early_stopping"], rl["teacher"]
    best = summary.best
    table = [f"| {i + 1} | {h[:10]} | {f:.3f} | {m['miou']:.3f} | {m['early_reward']:.3f} | "
             f"{'yes' if m['stopped_early'] else 'no'} | {c['multiadds'] / 1e9:.2f}G | {s:.1f} |"
             for i, (h, f, m, c, s) in enumerate(rows)]
    best_metrics = next(m for h, _, m, _, _ in rows if h == best["hash"])
    layout = best["genotype"]
    body = "\n".join([
        "## Decoder search on the CPU (`benchmarks/decoder_search_cpu.py`)", "",
        f"`genocompile search --searcher rl --space nas-segm --budget {budget} --early-p0 {args.early_p0}` "
        f"(PPO, batch {extra.get('rl_batch', RLSettings.batch)}): each candidate layout in a {p.input}x{p.input} "
        f"segmenter (full-width MobileNetV2 encoder initialised from the teacher's, {p.agg} decoder channels, "
        f"auxiliary cells on every block) trained on {p.train} generated shapes ({p.classes} classes): stage 1 "
        f"{p.stage1_steps} Adam steps (batch {p.batch_size}) on the decoder with the encoder frozen, the gate, "
        f"stage 2 {p.stage2_steps} steps on everything; loss CE + {p.aux_weight} aux CE + {p.kd_weight} KD; "
        f"reward = geometric mean of foreground mIoU, mean accuracy and fwIoU (nas-segm) of the Polyak-averaged "
        f"(EMA {p.polyak_decay}) decoder on {p.valid} validation images; mIoU below: all classes. MultiAdds: fvcore, deploy network (21 classes, "
        f"{deploy}x{deploy}).", "",
        "| # | layout | reward | mIoU | stage-1 reward | stopped early | deploy MultiAdds | seconds |",
        "|---|---|---|---|---|---|---|---|", *table, "",
        f"- Best layout `{best['hash'][:10]}`: reward {best['fitness']:.3f}, proxy mIoU {best_metrics['miou']:.3f}, "
        f"deploy {best['costs']['multiadds'] / 1e9:.2f}G MultiAdds, {best['costs']['params'] / 1e6:.2f}M params; "
        f"nas-segm layout `{_nas_segm(layout)}`.",
        f"- Compiled (torch, ONNX at {deploy}x{deploy}): parity rel err torch {parity['torch']:.1e}, onnx {parity['onnx']:.1e}.",
        f"- Early stopping: {es['stopped_early']} of {len(rows)} candidates stopped after stage 1, "
        f"{es['saved_fraction']:.0%} of the training steps saved ({es['steps_run']} of {es['steps_full']}).",
        f"- KD teacher (the nekrasov_arch0 layout, {p.teacher_agg} decoder channels, {p.teacher_steps} steps): mIoU "
        f"{teacher['miou']:.3f}, reward {teacher['reward']:.3f}, trained in {teacher['seconds']:.0f} s.",
        f"- Controller: {rl['policy_updates']} PPO updates, mean reward first quarter {rl['mean_reward_first']:.3f}, "
        f"last quarter {rl['mean_reward_last']:.3f}.",
        f"- Wall time: {seconds:.0f} s for the search (teacher included), shared 2-core CPU, one thread: noisy.", "",
        versions_line("cpu")])
    print(body)
    if not args.quick:
        update_section("decoder_search_cpu", body)
    return body


def _nas_segm(layout: dict) -> list:
    from genocompile.genotype import genotype_from_dict

    return genotype_from_dict(layout).to_nas_segm()


if __name__ == "__main__":
    main()
