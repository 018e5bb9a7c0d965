"""`bondkd filter`: the gate on a JSONL file, or `--calibrate` to fit its weights."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bondkd.errors import BondkdError
from bondkd.gate.config import GateConfig, load_gate_config, to_toml
from bondkd.gate.files import Summary, _Raw, filter_file, read_lines
from bondkd.read.tables import LAYOUTS


def add_parser(sub: Any) -> None:
    f = sub.add_parser("filter", help="Gate a JSONL dataset: accepted and rejected files.")
    f.add_argument(
        "path",
        nargs="?",
        help="Input: JSONL (.gz, .zst), Parquet (file or folder), `datasets` folder.",
    )
    f.add_argument(
        "--accepted", help="Accepted records: JSONL, or Parquet (x.parquet, or DIR/ for shards)."
    )
    f.add_argument("--rejected", help="Rejected (and unreadable) records, as --accepted.")
    f.add_argument(
        "--input-format",
        choices=LAYOUTS,
        default="auto",
        help="Input file layout (default: detect).",
    )
    f.add_argument("--config", help="Gate config, TOML or JSON (GateConfig fields).")
    f.add_argument("--backend", choices=["model", "lexical"], help="Default: lexical.")
    f.add_argument("--threshold", type=float, help="Accept when score >= this.")
    f.add_argument("--no-reference", action="store_true", help="Skip the reference check.")
    f.add_argument("--resume", action="store_true", help="Continue an interrupted run.")
    f.add_argument("--workers", type=int, default=1, help="Parallel gate processes.")
    f.add_argument("--calibrate", metavar="LABELLED", help="Fit the score weights on this file.")
    f.add_argument("--label-field", default="is_correct", help="Boolean label (--calibrate).")
    f.add_argument("--save-config", help="Write the fitted config here (--calibrate).")
    f.add_argument("-q", "--quiet", action="store_true", help="No progress bar or summary.")


def _config(args: argparse.Namespace) -> GateConfig:
    return load_gate_config(
        args.config,
        backend=args.backend,
        threshold=args.threshold,
        reference__enabled=False if args.no_reference else None,
    )


class _Bar:
    def __init__(self, console: Console, quiet: bool):
        self.on = not quiet and console.is_terminal
        self.progress = Progress(
            TextColumn("gating"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rec/s"), TimeRemainingColumn(),
            console=console, transient=True,
        )  # fmt: skip
        self.task: Any = None
        self.t0 = time.perf_counter()
        self.done = 0

    def start(self, total: int) -> None:
        if self.on:
            self.progress.start()
            self.task = self.progress.add_task("", total=total, rate="-")

    def advance(self, n: int) -> None:
        self.done += n
        if self.task is not None:
            rate = self.done / max(time.perf_counter() - self.t0, 1e-9)
            self.progress.update(self.task, advance=n, rate=f"{rate:.1f}")

    def stop(self) -> None:
        if self.task is not None:
            self.progress.stop()


def run(args: argparse.Namespace, runner: Any = None) -> int:
    """`runner`: what gates the file (default `filter_file`; `bondkd.scale.gate.filter_file`
    for --engine ray), called with filter_file's arguments."""
    if args.calibrate:
        return _calibrate(args)
    if not (args.path and args.accepted and args.rejected):
        raise BondkdError("filter needs PATH, --accepted and --rejected (or --calibrate)")
    if args.workers < 1:
        raise BondkdError("--workers must be >= 1")
    config = _config(args)
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    bar = _Bar(console, args.quiet)
    t0 = time.perf_counter()
    try:
        s = (runner or filter_file)(args.path, args.accepted, args.rejected, config, args.resume,
                        args.workers, bar, layout=args.input_format)  # fmt: skip
    finally:
        bar.stop()
    if not args.quiet:
        _funnel(console, s, time.perf_counter() - t0, args)
    return 0


def _funnel(console: Console, s: Summary, seconds: float, args: argparse.Namespace) -> None:
    t = Table(title="checks (records that failed each; vetoes reject outright)")
    for col in ("check", "failed", "vetoed", "abstained", "errors"):
        t.add_column(col, justify="left" if col == "check" else "right")
    for n in dict.fromkeys(name for name, _ in s.checks):
        t.add_row(n, *(str(s.checks[n, k]) for k in ("fail", "veto", "abstain", "error")))
    console.print(t)
    readable = s.total - s.unreadable
    console.print(
        f"{s.total} records gated ({s.resumed} already done before --resume) -> "
        f"{s.unreadable} unreadable{f' ({s.blank} blank lines)' if s.blank else ''} -> "
        f"{readable} readable -> {s.vetoed} vetoed -> "
        f"{s.below} below the score threshold -> {s.accepted} accepted "
        f"({s.total / max(seconds, 1e-9):.1f} records/s)",
        markup=False,
    )
    if s.replaced:
        console.print(f"{s.replaced} records had a 'bondkd' block; it was replaced", markup=False)
    console.print(f"accepted: {args.accepted}\nrejected: {args.rejected}", markup=False)


def _calibrate(args: argparse.Namespace) -> int:
    from bondkd.gate.calibrate import check_scores, fit, grouped_cv_auroc, predict
    from bondkd.gate.runner import filter_records
    from bondkd.measure.metrics import auroc

    if not args.save_config:
        raise BondkdError("--calibrate needs --save-config OUT.toml")
    config = _config(args)
    records, labels = [], []
    for n, obj in read_lines(args.calibrate):
        if isinstance(obj, _Raw):
            raise BondkdError(f"{args.calibrate}:{n}: {obj.reason.removeprefix('parse_error: ')}")
        label = obj.get(args.label_field) if isinstance(obj, dict) else None
        if not isinstance(label, bool):
            raise BondkdError(
                f"{args.calibrate}:{n}: field '{args.label_field}': expected true or false"
            )
        records.append(obj)
        labels.append(label)
    blocks = [r["bondkd"] for r in filter_records(records, config)]
    y = np.array(labels)
    if len(set(labels)) < 2:
        raise BondkdError(f"{args.calibrate}: needs both true and false labels")
    scores = check_scores(blocks)
    neutral = config.neutral()
    weights = fit(scores, y, neutral)
    groups = [json.dumps(r.get("group", r.get("question", i))) for i, r in enumerate(records)]
    cv = grouped_cv_auroc(scores, y, groups, neutral, folds=min(5, len(set(groups))))
    setattr(config, config.backend, weights)
    data = config.model_dump(mode="json")
    with open(args.save_config, "w", encoding="utf-8") as fh:
        fh.write(f"# fitted by bondkd filter --calibrate {args.calibrate}\n")
        fh.write(to_toml(data))
    fitted = auroc(predict(weights, scores), y)
    print(
        f"{len(y)} records ({int(y.sum())} positive); score AUROC {fitted:.3f} in-sample, "
        f"{cv['auroc']:.3f} grouped {min(5, len(set(groups)))}-fold CV "
        f"(95% CI {cv['ci95'][0]:.3f}-{cv['ci95'][1]:.3f}); config -> {args.save_config}",
        file=sys.stdout,
    )
    return 0
