"""`bondkd generate`: the CLI over `generate()`, with a progress bar per stage."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bondkd.errors import BondkdError
from bondkd.generate.config import GenerateConfig
from bondkd.generate.run import GenerateSummary, generate
from bondkd.generate.tree import load_questions
from bondkd.teachers import make_teacher
from bondkd.teachers.prompts import TEMPLATES

EXIT_OK, EXIT_FAILED = 0, 1
STAGES = ("tags", "questions", "answers")


def add_parser(sub: Any) -> argparse.ArgumentParser:
    fields = GenerateConfig.model_fields

    def opt(flag: str, name: str | None = None, **kw: Any) -> None:
        """A flag whose help and default come from the GenerateConfig field."""
        name = name or flag.lstrip("-").replace("-", "_")
        info = fields[name]
        shown = "" if info.is_required() or info.default is None else f" (default: {info.default})"
        g.add_argument(flag, dest=name, help=f"{info.description}{shown}", **kw)

    g = sub.add_parser(
        "generate",
        help="Teacher traces from a topic or a questions file (canonical JSONL).",
        description="Build a tag tree from --topic and generate questions at its leaves, or "
        "read --questions; the teacher answers each with visible reasoning. Re-running the "
        "same command resumes from the request cache.",
    )
    source = g.add_mutually_exclusive_group(required=True)
    source.add_argument("--topic", help=fields["topic"].description)
    source.add_argument("--questions", help=fields["questions"].description)
    opt("--out", required=True)
    opt("--teacher")
    opt("--teacher-model")
    opt("--api-key-env")
    opt("--levels", type=int)
    opt("--tags-per-level", type=int)
    opt("--questions-per-tag", type=int)
    opt("--samples", type=int)
    opt("--temperature", type=float)
    opt("--sample-temperature", type=float)
    opt("--tree-temperature", type=float)
    opt("--max-tokens", type=int)
    opt("--template", choices=list(TEMPLATES))
    opt("--constrain", choices=["auto", "on", "off"])
    opt("--seed", type=int)
    opt("--concurrency", type=int)
    opt("--timeout", "timeout_s", type=float)
    opt("--retries", type=int)
    opt("--rejected")
    opt("--cache")
    g.add_argument("-q", "--quiet", action="store_true", help="No progress bars or summary.")
    return g


def config_from_args(args: argparse.Namespace) -> GenerateConfig:
    given = {
        k: v for k, v in vars(args).items() if k in GenerateConfig.model_fields and v is not None
    }
    try:
        return GenerateConfig(**given)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        flag = f"--{where.replace('_', '-')}: " if where else ""
        raise BondkdError(f"generate: {flag}{err['msg'].removeprefix('Value error, ')}") from None


class _Bars:
    """One rich bar per stage on a terminal; one line per finished stage elsewhere."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.console, self.quiet = console, quiet
        self.live = not quiet and console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console, transient=False,
        )  # fmt: skip
        self.tasks: dict[str, TaskID] = {}
        self.t0: dict[str, float] = {}
        if self.live:
            self.progress.start()

    def start(self, stage: str, total: int) -> None:
        self.t0[stage] = time.monotonic()
        self.tasks[stage] = self.progress.add_task(stage, total=total, visible=self.live)

    def total(self, stage: str, total: int) -> None:
        self.progress.update(self.tasks[stage], total=total)

    def advance(self, stage: str) -> None:
        self.progress.advance(self.tasks[stage])

    def finish(self, stage: str) -> None:
        task = self.progress.tasks[self.tasks[stage]]
        self.progress.update(self.tasks[stage], total=task.completed)
        if not self.live and not self.quiet:
            seconds = time.monotonic() - self.t0[stage]
            print(f"{stage}: {int(task.completed)} done in {seconds:.1f} s", file=sys.stderr)

    def stop(self) -> None:
        if self.live:
            self.progress.stop()


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    # a bad questions file should fail before a model is loaded
    questions = load_questions(cfg.questions) if cfg.questions is not None else None
    teacher = make_teacher(cfg.teacher, cfg.teacher_model, client=cfg, cache_dir=str(cfg.cache_dir))
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    bars = _Bars(console, args.quiet)
    try:
        summary = generate(cfg, teacher, bars, questions)
    finally:
        bars.stop()
    if not args.quiet:
        print(summary_text(cfg, teacher.id, summary))
    return EXIT_FAILED if summary.failed else EXIT_OK


def summary_text(cfg: GenerateConfig, teacher_id: str, s: GenerateSummary) -> str:
    source = f"topic {cfg.topic!r}" if cfg.topic is not None else f"questions {cfg.questions}"
    lines = [f"{source}, teacher {teacher_id}"]
    made = {
        "tags": f"{s.tags} tags, {s.leaves} leaves",
        "questions": f"{s.questions} questions",
        "answers": f"{s.traces} traces",
    }
    for stage in STAGES:
        c = s.counts.get(stage)
        if c is None:
            continue
        lines.append(
            f"{stage:<9} {c.requests:>4} replies ({c.cached} from cache), {c.unparsed} "
            f"unparsed, {c.failed} failed -> {made[stage]}"
        )
    lines.append(f"traces:   {s.out} ({s.traces})")
    lines.append(f"rejected: {s.rejected_path} ({s.rejected})")
    lines.append(f"cache:    {cfg.cache_dir}")
    if s.failed:
        lines.append(f"{s.failed} requests got no reply; run the same command again to retry them")
    lines.append(f"{s.seconds:.1f} s")
    return "\n".join(lines)
