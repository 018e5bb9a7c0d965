"""`bondkd eval`: a student and a teacher on held-out questions with reference answers."""

from __future__ import annotations

import argparse
import threading
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bondkd.errors import BondkdError, check_writable, output_path
from bondkd.evaluate.config import EvalConfig, load_eval_config

EXIT_OK, EXIT_PARTIAL = 0, 1


def add_parser(sub: Any) -> None:
    e = sub.add_parser("eval", help="Compare a student and a teacher on questions with answers.")
    e.add_argument(
        "questions", help="JSONL: {question, answer: '...#### N'} or {question, reference}."
    )
    e.add_argument(
        "--student",
        required=True,
        metavar="SPEC",
        help="local, an http(s) endpoint, a .gguf, an HF id/dir.",
    )
    e.add_argument("--student-model", metavar="NAME", help="Model name at the student endpoint.")
    e.add_argument(
        "--teacher",
        required=True,
        metavar="SPEC",
        help="local, an http(s) endpoint, a .gguf, an HF id/dir.",
    )
    e.add_argument("--teacher-model", metavar="NAME", help="Model name at the teacher endpoint.")
    e.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        metavar="VAR",
        help="Env var holding the API key.",
    )
    e.add_argument("--limit", type=int, metavar="N", help="Evaluate the first N questions only.")
    e.add_argument("--config", metavar="FILE", help="TOML or JSON overriding EvalConfig fields.")
    e.add_argument("--template", choices=["think", "zh_sections"], help="Prompt/reply format.")
    e.add_argument(
        "--max-tokens", type=int, metavar="N", help="Completion tokens per answer (384)."
    )
    e.add_argument(
        "--temperature", type=float, metavar="T", help="Sampling temperature (0: greedy)."
    )
    e.add_argument(
        "--constrained",
        action="store_true",
        default=None,
        help="Ask for a JSON {reasoning, answer} reply (a grammar, where supported).",
    )
    e.add_argument(
        "--concurrency", type=int, metavar="N", help="Requests in flight per endpoint (4)."
    )
    e.add_argument(
        "--timeout", type=float, metavar="S", help="Per-request timeout in seconds (120)."
    )
    e.add_argument("--retries", type=int, metavar="N", help="Retries on 429/5xx/timeouts (4).")
    e.add_argument(
        "--calls-per-month",
        type=int,
        metavar="N",
        help="Calls per month for the cost model (100000).",
    )
    e.add_argument("--student-cost", type=float, metavar="X", help="Cost of one student call.")
    e.add_argument("--teacher-cost", type=float, metavar="Y", help="Cost of one teacher call.")
    e.add_argument(
        "--distill-cost", type=float, metavar="Z", help="One-off distillation cost (break-even)."
    )
    e.add_argument(
        "--backend",
        choices=["model", "lexical"],
        help="Analysis backend for the structural distance (default: lexical).",
    )
    e.add_argument("--no-structure", action="store_true", help="Skip the structural distance.")
    e.add_argument(
        "--cache", metavar="DIR", help="Request cache directory: a re-run asks nothing twice."
    )
    e.add_argument("--json", dest="json_out", metavar="OUT", help="Write the summary as JSON here.")
    e.add_argument(
        "--rows", dest="rows_out", metavar="OUT", help="Write one JSON line per question here."
    )
    e.add_argument("--html", dest="html_out", metavar="OUT", help="Write an HTML page here.")
    e.add_argument("-q", "--quiet", action="store_true", help="No progress bar or table.")


def _config(args: argparse.Namespace) -> EvalConfig:
    return load_eval_config(
        args.config,
        backend=args.backend,
        template=args.template,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        constrained=args.constrained,
        concurrency=args.concurrency,
        timeout_s=args.timeout,
        retries=args.retries,
        api_key_env=args.api_key_env,
        structure=False if args.no_structure else None,
        cost__calls_per_month=args.calls_per_month,
        cost__student_cost=args.student_cost,
        cost__teacher_cost=args.teacher_cost,
        cost__distill_cost=args.distill_cost,
    )


def _in_process(spec: str) -> bool:
    """Local backends generate one request at a time on this machine's CPU."""
    return not spec.startswith(("http://", "https://"))


def run(args: argparse.Namespace) -> int:
    from bondkd.evaluate.output import print_table, write_html
    from bondkd.evaluate.runner import evaluate, read_questions
    from bondkd.teachers import make_teacher

    cfg = _config(args)
    for side in ("student", "teacher"):
        spec, model = getattr(args, side), getattr(args, f"{side}_model")
        if not _in_process(spec) and not model:
            raise BondkdError(f"--{side} {spec}: an endpoint needs --{side}-model NAME")
    for path in (args.json_out, args.rows_out, args.html_out):
        if path:
            check_writable(path)  # before any model loads
    # Questions first: a bad file should fail in a second, before any model loads.
    questions = read_questions(args.questions, args.limit)

    def make(spec: str, model: str | None) -> Any:
        return make_teacher(spec, model, client=cfg, cache_dir=args.cache)

    student = make(args.student, args.student_model)
    # Two instances even for one spec: a shared llama.cpp model would serve the second side
    # from the first side's prompt cache, making that side look several times faster.
    teacher = make(args.teacher, args.teacher_model)
    # A local backend serialises its calls behind a lock: more threads would only add queue
    # time to its measured latency. Two local models take turns (see `ask_both`).
    local = (_in_process(args.student), _in_process(args.teacher))
    workers = (1 if local[0] else cfg.concurrency, 1 if local[1] else cfg.concurrency)
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    with _Bar(console, len(questions), on=not args.quiet and console.is_terminal) as bar:
        result, rows = evaluate(
            questions,
            student,
            teacher,
            cfg,
            specs=(args.student, args.teacher),
            questions_file=args.questions,
            workers=workers,
            together=not all(local),
            done=bar.advance,
        )
    if args.json_out:
        with output_path(args.json_out) as tmp:
            tmp.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if args.rows_out:
        with output_path(args.rows_out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(row.model_dump_json() + "\n" for row in rows)
    if args.html_out:
        with output_path(args.html_out) as tmp:
            write_html(result, rows, tmp)
    if not args.quiet:
        print_table(result)
        for what, path in (
            ("JSON", args.json_out),
            ("rows", args.rows_out),
            ("HTML", args.html_out),
        ):
            if path:
                print(f"{what} written to {path}")
    failed = result.student.errors + result.teacher.errors
    if failed:
        console.print(
            f"bondkd: {failed} call(s) failed after retries; they count as wrong and non-compliant",
            markup=False,
        )
    return EXIT_PARTIAL if failed else EXIT_OK


class _Bar:
    """Progress over both sides' answers, on a terminal only."""

    def __init__(self, console: Console, n: int, on: bool) -> None:
        self.on = on
        self.progress = Progress(
            TextColumn("asking"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("student {task.fields[student]} · teacher {task.fields[teacher]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.counts = {"student": 0, "teacher": 0}
        self.n = n
        self._lock = threading.Lock()
        self.task: Any = None

    def __enter__(self) -> _Bar:
        if self.on:
            self.progress.start()
            self.task = self.progress.add_task("", total=2 * self.n, student=0, teacher=0)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.on:
            self.progress.stop()

    def advance(self, side: str) -> None:
        with self._lock:  # called from the worker threads
            self.counts[side] += 1
            if self.task is not None:
                c = self.counts
                self.progress.update(
                    self.task, advance=1, student=c["student"], teacher=c["teacher"]
                )
