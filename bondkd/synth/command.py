"""The CLI of structure-guided synthesis: `bondkd structure` (build a target, or measure
datasets against one) and the `--structure` options of `bondkd generate`."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from bondkd.config import AnalyzeConfig
from bondkd.errors import BondkdError, output_path, write_error
from bondkd.generate.command import EXIT_FAILED, EXIT_OK, _Bars, config_from_args, summary_text
from bondkd.generate.run import generate
from bondkd.generate.tree import load_questions
from bondkd.measure.compare import compare_sides, dataset_side
from bondkd.measure.stats import DatasetStats
from bondkd.read.files import file_hash
from bondkd.read.inputs import iter_inputs
from bondkd.schema import MoleculeDoc
from bondkd.synth.config import GuideConfig
from bondkd.synth.guide import GuidedAnswers
from bondkd.synth.measure import StructureMeasure, measure, plan_scores, table, write_outputs
from bondkd.synth.structure import load_structure, structure_of
from bondkd.teachers import make_teacher

EXIT_PARTIAL = 1
# flag -> GuideConfig field, for the options `generate` takes with --structure
_GUIDE_FLAGS = {
    "--structure": "structure",
    "--guide": "guide",
    "--min-steps": "min_steps",
    "--max-steps": "max_steps",
    "--plan-sampling": "sampling",
    "--step-tokens": "step_tokens",
    "--answer-tokens": "answer_tokens",
    "--lang": "lang",
    "--guide-backend": "backend",
}


def add_guide_args(g: argparse.ArgumentParser) -> None:
    """The `generate` options of guided synthesis; help and defaults from GuideConfig."""
    fields = GuideConfig.model_fields
    grp = g.add_argument_group("structure-guided synthesis (with --structure)")
    types: dict[str, Any] = {"min_steps": int, "max_steps": int, "step_tokens": int,
                             "answer_tokens": int}  # fmt: skip
    for flag, name in _GUIDE_FLAGS.items():
        info = fields[name]
        shown = "" if info.is_required() else f" (default: {info.default})"
        kw: dict[str, Any] = {"type": types[name]} if name in types else {}
        choices = getattr(info.annotation, "__args__", None)
        if name in ("guide", "sampling", "lang", "backend") and choices:
            kw["choices"] = list(choices)
        grp.add_argument(flag, dest=f"guide_{name}", help=f"{info.description}{shown}", **kw)


def guide_config(args: argparse.Namespace) -> GuideConfig:
    given = {
        name: v
        for name in _GUIDE_FLAGS.values()
        if (v := getattr(args, f"guide_{name}", None)) is not None
    }
    try:
        return GuideConfig(**given)
    except ValidationError as e:
        err = e.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else ""
        flag = next((f for f, n in _GUIDE_FLAGS.items() if n == name), "--max-steps")
        msg = err["msg"].removeprefix("Value error, ")
        raise BondkdError(f"generate: {flag}: {msg}") from None


def refuse_without_structure(args: argparse.Namespace) -> None:
    """A guided option given to a plain `generate` would be silently ignored: refuse it."""
    for flag, name in _GUIDE_FLAGS.items():
        if getattr(args, f"guide_{name}", None) is not None:
            raise BondkdError(f"generate: {flag} needs --structure TARGET.json")


def run_guided(args: argparse.Namespace) -> int:
    """`bondkd generate --structure T`: plain generation with a plan per answer."""
    cfg = config_from_args(args)
    guide = guide_config(args)
    target = load_structure(guide.structure)  # a bad target fails before a model loads
    questions = load_questions(cfg.questions) if cfg.questions is not None else None
    teacher = make_teacher(cfg.teacher, cfg.teacher_model, client=cfg, cache_dir=str(cfg.cache_dir))
    answerer = GuidedAnswers(cfg, guide, target, file_hash(str(guide.structure)))
    bars = _Bars(Console(stderr=True, highlight=False, soft_wrap=True), args.quiet)
    try:
        summary = generate(cfg, teacher, bars, questions, answerer)
    finally:
        bars.stop()
    if not args.quiet:
        print(summary_text(cfg, teacher.id, summary))
        print(guided_text(answerer))
    return EXIT_FAILED if summary.failed else EXIT_OK


def guided_text(a: GuidedAnswers) -> str:
    """The guided lines of the summary: distance of the output to the target, plan
    following, accuracy."""
    if not a.docs:
        return f"guided ({a.guide.guide}): no trace written"
    cmp = compare_sides(a.target.side(), dataset_side(a.docs))
    mean = sum(a.scores) / len(a.scores)
    line = (
        f"guided ({a.guide.guide}, {a.guide.backend}): transition JS {cmp.transition_js:.3f}, "
        f"bond-type JS {cmp.bond_type_js:.3f} to {a.guide.structure}; plan following {mean:.3f}"
    )
    if a.correct:
        line += f"; accuracy {sum(a.correct)}/{len(a.correct)}"
    return line


def run_structure(args: argparse.Namespace, config: AnalyzeConfig) -> int:
    """`bondkd structure FILE... -o T` builds a target; `--target T` measures against it."""
    from bondkd.pipeline import Analyzer

    if (args.out is None) == (args.target is None):
        raise BondkdError("structure: give exactly one of -o/--out (build) and --target (measure)")
    if args.out is not None and (args.html_out or args.png_dir):
        raise BondkdError("structure: --html and --png go with --target")
    if args.png_dir and Path(args.png_dir).exists() and not Path(args.png_dir).is_dir():
        raise BondkdError(f"{args.png_dir}: --png needs a directory; this is a file")
    target = load_structure(args.target) if args.target else None
    analyzer = Analyzer(config)  # loads no model unless a record is a trace
    errors = 0

    def docs(path: str) -> Any:
        nonlocal errors
        hashes = {Path(path).name: file_hash(path)}
        for _line, item, mol in analyzer.molecules(
            iter_inputs(path, fmt=args.format, layout=getattr(args, "input_format", None)), hashes
        ):
            if mol is None:
                errors += 1
                print(f"bondkd: skipped: {item}", file=sys.stderr)
            else:
                yield mol.doc

    with ExitStack() as files:  # outputs checked before any work, written whole or not at all
        if target is None:
            out = files.enter_context(output_path(args.out))
            stats, backends = DatasetStats(), set()
            for path in args.paths:
                for doc in docs(path):
                    stats.add(doc, accepted=None)
                    backends.add(doc.provenance.backend)
            if not stats.n:  # a target of nothing would plan nothing but plain steps
                raise BondkdError(f"structure: no molecule in {', '.join(args.paths)}")
            built = structure_of(stats, ", ".join(Path(p).name for p in args.paths), backends)
            out.write_text(built.model_dump_json(indent=2) + "\n", encoding="utf-8")
            if not args.quiet:
                print(_built_text(built, args.out, errors))
            return EXIT_PARTIAL if errors else EXIT_OK
        tmp = {
            k: files.enter_context(output_path(p)) if p else None
            for k, p in (("json", args.json_out), ("html", args.html_out))
        }
        measured = []
        for path in args.paths:
            got: list[MoleculeDoc] = list(docs(path))
            measured.append(measure(target, got, path, plan_scores(path)))
        result = StructureMeasure(
            target=str(args.target),
            target_molecules=target.molecules,
            target_transition_counts=target.transition_counts,
            datasets=measured,
        )
        try:
            write_outputs(
                result, tmp["json"], tmp["html"], Path(args.png_dir) if args.png_dir else None
            )
        except OSError as e:
            raise write_error(args.html_out or args.json_out, e) from None
    if not args.quiet:
        print(table(result))
    return EXIT_PARTIAL if errors else EXIT_OK


def _built_text(t: Any, out: str, errors: int) -> str:
    steps = sum(t.step_counts.values())
    mean = sum(k * v for k, v in t.step_counts.items()) / steps if steps else 0.0
    roles = ", ".join(f"{k} {v}" for k, v in t.role_counts.items())
    return (
        f"{t.molecules} molecules ({errors} unreadable records), {mean:.1f} steps on average; "
        f"roles: {roles} -> {out}"
    )
