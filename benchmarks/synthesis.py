"""Structure-guided synthesis with a real teacher: guided vs unguided on GSM8K dev questions.

The target structure is that of the QwQ-style step-by-step solutions of
../shared/data/longcot/prmbench_qwq.dev.jsonl (lexical backend): a reflective behaviour
graph (reflections in about one step of ten). The same teacher answers the first N GSM8K
dev questions (../shared/data/gsm8k/model_solutions.dev.jsonl) three ways: plainly
(`bondkd generate`), driven step by step (`--structure --guide steps`) and with the plan
in one prompt (`--guide plan`). Every output is measured against the target with
`bondkd structure --target` (JS distances over role transitions, bond-type and role mixes,
accuracy against the GSM8K answer, mean plan following). All through the CLI, so the
numbers are those a user gets.

    python benchmarks/synthesis.py --n 50 --out out/synthesis              # local SmolLM2
    python benchmarks/synthesis.py --n 50 --out out/synth-srv \\
        --teacher http://127.0.0.1:8000/v1 --teacher-model smollm2         # a llama-cpp server

    python benchmarks/synthesis.py --plans --n 50    # the plans alone: JS of iid vs balanced

Greedy decoding (temperature 0, fixed seeds), JSON-constrained plain and plan-prompt
replies (`--constrain on`, which `local` has by default); each run keeps its request cache
under --out, so re-running the same command answers from the cache (and prints the wall
times of that cached run).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bondkd.cli import main as bondkd

ROOT = Path(__file__).resolve().parents[1]
GSM8K = ROOT / ".." / "shared/data/gsm8k/model_solutions.dev.jsonl"
TARGET_DATA = ROOT / ".." / "shared/data/longcot/prmbench_qwq.dev.jsonl"


def write_questions(src: Path, n: int, out: Path) -> None:
    """The first n dev questions, with the GSM8K solution as the reference (its `A: N`)."""
    rows = []
    with src.open(encoding="utf-8") as fh:
        for k, line in enumerate(fh):
            if k == n:
                break
            row = json.loads(line)
            rows.append({"id": f"gsm8k-dev-{k}", "question": row["question"],
                         "reference": row["ground_truth"]})  # fmt: skip
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def plan_distances(target: Path, n: int, max_steps: int, seeds: int = 20) -> None:
    """How far n plans alone sit from the target (transition JS), iid vs balanced, over
    `seeds` seeds: the floor any teacher starts from."""
    import numpy as np

    from bondkd.measure.compare import compare_sides, side_from_counts
    from bondkd.synth.plan import PlanConfig, make_plans, planned_transitions
    from bondkd.synth.structure import load_structure

    t = load_structure(target)
    for sampling in ("iid", "balanced"):
        cfg = PlanConfig(max_steps=max_steps, sampling=sampling)  # type: ignore[arg-type]
        js = []
        for seed in range(seeds):
            used = planned_transitions(make_plans(t, n, cfg, seed))
            js.append(compare_sides(t.side(), side_from_counts(n, {}, {}, used)).transition_js)
        print(f"{sampling:>8}: {n} plans, transition JS to the target mean {np.mean(js):.3f} "
              f"(min {np.min(js):.3f}, max {np.max(js):.3f}, {seeds} seeds)")  # fmt: skip


def run(argv: list[str]) -> float:
    t0 = time.monotonic()
    rc = bondkd(argv)
    if rc not in (0, 1):
        raise SystemExit(f"bondkd {argv[0]} exited {rc}")
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=50, help="GSM8K dev questions (50).")
    ap.add_argument("--out", type=Path, default=Path("out/synthesis"))
    ap.add_argument("--teacher", default="local")
    ap.add_argument("--teacher-model")
    ap.add_argument("--guides", default="steps,plan", help="Guided modes to run (steps,plan).")
    ap.add_argument("--max-tokens", type=int, default=160, help="Unguided and plan replies.")
    ap.add_argument("--step-tokens", type=int, default=40)
    ap.add_argument("--max-steps", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plans", action="store_true", help="Only the plans' own distance.")
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    questions, target = out / "questions.jsonl", out / "target.json"
    write_questions(GSM8K, args.n, questions)
    times = {
        "target": run(
            ["structure", str(TARGET_DATA), "--backend", "lexical", "-o", str(target), "-q"]
        )
    }
    if args.plans:
        plan_distances(target, args.n, args.max_steps)
        return
    teacher = ["--teacher", args.teacher] + (
        ["--teacher-model", args.teacher_model] if args.teacher_model else []
    )
    common = ["--questions", str(questions), *teacher, "--temperature", "0", "--seed", str(args.seed),
              "--concurrency", "1", "--max-tokens", str(args.max_tokens), "--constrain", "on",
              "-q"]  # fmt: skip
    files = [out / "unguided.jsonl"]
    times["unguided"] = run(["generate", *common, "--out", str(files[0])])
    for mode in [m for m in args.guides.split(",") if m]:
        path = out / f"guided_{mode}.jsonl"
        files.append(path)
        times[f"guided_{mode}"] = run(["generate", *common, "--out", str(path), "--structure", str(target),
                                       "--guide", mode, "--max-steps", str(args.max_steps),
                                       "--step-tokens", str(args.step_tokens)])  # fmt: skip
    measured = out / "measure.json"
    run(["structure", *map(str, files), "--target", str(target), "--backend", "lexical",
         "--json", str(measured), "--html", str(out / "structure.html"), "--png", str(out / "plots")])  # fmt: skip
    result = json.loads(measured.read_text(encoding="utf-8"))
    # accuracy over all n questions: a reply that did not parse answered none of them
    print("\n| output | traces (of n) | transition JS | bond-type JS | role JS | correct (of n) "
          "| plan following | wall s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for d, f in zip(result["datasets"], files, strict=True):
        plan = "–" if d["plan_following"] is None else f"{d['plan_following']:.3f}"
        print(f"| {f.stem} | {d['molecules']} / {args.n} | {d['transition_js']:.3f} | "
              f"{d['bond_type_js']:.3f} | {d['role_js']:.3f} | {d['correct']} / {args.n} | "
              f"{plan} | {times[f.stem]:.0f} |")  # fmt: skip
    (out / "times.json").write_text(json.dumps(times, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
