"""`bondkd` command line: subcommands in one entry point.

`main(argv)` returns an exit code so tests call it directly; `run()` is the
console script. User errors print one line (file, line, field) and exit 2 with
no traceback; a JSONL run reports each bad line, analyses the rest and exits 1.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from itertools import chain, islice
from pathlib import Path
from typing import Any

from bondkd import __version__
from bondkd.config import AnalyzeConfig, ConfigError, load_config
from bondkd.errors import BondkdError, InputError, output_path, write_error
from bondkd.read.formats import FORMATS
from bondkd.read.tables import LAYOUTS
from bondkd.scale.config import add_engine_args, engine_config
from bondkd.schema import Trace

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


def _input_args(p: argparse.ArgumentParser) -> None:
    """Options of every subcommand that may analyse traces."""
    p.add_argument("--format", choices=FORMATS, help="Force the record layout (default: detect).")
    p.add_argument(
        "--input-format",
        choices=LAYOUTS,
        default="auto",
        help="File layout: jsonl, json, parquet (file or folder of shards), arrow, hf "
        "(a `datasets` save_to_disk folder). Default: detect.",
    )
    p.add_argument(
        "--backend", choices=["model", "lexical"], help="Energy backend (default: model)."
    )
    p.add_argument("--config", help="TOML or JSON file overriding AnalyzeConfig fields.")
    p.add_argument("--model", help="Causal LM for attention: 'smollm2', an HF id or a local path.")
    p.add_argument("--embedder", help="sentence-transformers model: HF id or local path.")
    p.add_argument("--device", help="torch device for both models (cpu, cuda, ...).")
    p.add_argument("-q", "--quiet", action="store_true", help="No terminal summary.")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bondkd", description="Reasoning-structure distillation: traces as molecules."
    )
    p.add_argument("--version", action="version", version=f"bondkd {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    a = sub.add_parser("analyze", help="Analyse trace(s) into reasoning molecules.")
    a.add_argument("path", help="Trace file: .json, .jsonl, .jsonl.gz, or - for stdin.")
    _input_args(a)
    add_engine_args(a)
    a.add_argument(
        "--json", dest="json_out", help="Write molecule document(s) here (- for stdout)."
    )
    a.add_argument("--html", dest="html_out", help="Write an interactive HTML graph (one trace).")
    a.add_argument("--graphml", dest="graphml_out", help="Write the graph as GraphML (one trace).")

    r = sub.add_parser("render", help="One trace or molecule document -> interactive HTML.")
    r.add_argument("path", help="A trace, or a molecule document from `analyze --json`.")
    r.add_argument("-o", "--out", required=True, help="HTML file to write.")
    r.add_argument("--id", dest="record_id", help="Pick this record from a file of several.")
    _input_args(r)

    rep = sub.add_parser("report", help="Dataset report: plots, trace table, molecule views.")
    rep.add_argument("path", help="Traces, molecule documents or `filter` output (JSONL).")
    rep.add_argument("-o", "--out", required=True, help="HTML file to write.")
    rep.add_argument("--png", dest="png_dir", help="Also write the plots as PNG files here.")
    rep.add_argument(
        "--views", type=int, default=200, help="Molecule pages for the first N traces (200)."
    )
    rep.add_argument("--json", dest="json_out", help="Write the dataset statistics as JSON.")
    _input_args(rep)
    add_engine_args(rep)

    from bondkd.gate.command import add_parser as add_filter

    add_filter(sub)
    add_engine_args(sub.choices["filter"])

    from bondkd.generate.command import add_parser as add_generate
    from bondkd.synth.command import add_guide_args

    add_guide_args(add_generate(sub))

    from bondkd.evaluate.command import add_parser as add_eval

    add_eval(sub)

    t = sub.add_parser("targets", help="Teacher targets for training (molecules computed once).")
    t.add_argument("path", help="Traces: .json, .jsonl, .jsonl.gz, or - for stdin.")
    t.add_argument("--out", required=True, help="Directory to write (index.jsonl + shards).")
    t.add_argument("--shard-size", type=int, default=1024, help="Traces per .npz shard.")
    t.add_argument("--overwrite", action="store_true", help="Replace an earlier targets run.")
    _input_args(t)
    add_engine_args(t)

    st = sub.add_parser(
        "structure",
        help="Target behaviour structure of a dataset (-o), or distances to one (--target).",
        description="With -o: the role-transition matrix, bond-type mix per position, "
        "step-count and reflection-distance distributions of the molecules of PATHS, as a "
        "versioned JSON document for `bondkd generate --structure`. With --target: each "
        "file's JS distances to that target, answer accuracy and plan following.",
    )
    st.add_argument("paths", nargs="+", help="Traces, molecule documents or generated JSONL.")
    st.add_argument("-o", "--out", help="Write the target structure of all PATHS here.")
    st.add_argument("--target", help="Measure each of PATHS against this structure document.")
    st.add_argument("--json", dest="json_out", help="Write the measurement as JSON here.")
    st.add_argument("--html", dest="html_out", help="Write a page with the transition plots.")
    st.add_argument("--png", dest="png_dir", help="Also write the transition plot as PNG here.")
    _input_args(st)

    c = sub.add_parser("compare", help="Compare the structure of molecules or datasets.")
    c.add_argument("a", help="Molecule document(s) (`analyze --json`): the reference.")
    c.add_argument("b", help="Molecule document(s) to compare with it.")
    c.add_argument("--json", dest="json_out", help="Write the comparison as JSON here.")
    c.add_argument(
        "--datasets", action="store_true", help="Compare as datasets even for one molecule each."
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    # A long trace makes millions of small acyclic objects (tuples, bonds, pydantic models).
    # At CPython's default first-generation threshold (700) the cycle collector then runs
    # thousands of times over a growing heap: a quarter of `filter` on a 1 MB trace
    # (docs/benchmarks.md, "Hostile input"). Restored after, for callers in the same process.
    threshold = gc.get_threshold()
    gc.set_threshold(50_000, 20, 20)
    try:
        return _dispatch(argv)
    finally:
        gc.set_threshold(*threshold)


def _dispatch(argv: Sequence[str] | None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits on --help/--version/usage errors
        return int(e.code or 0)
    try:
        if args.command == "analyze":
            return _analyze(args)
        if args.command == "render":
            return _render(args)
        if args.command == "report":
            return _report(args)
        if args.command == "targets":
            return _targets(args)
        if args.command == "compare":
            return _compare(args)
        if args.command == "filter":
            from bondkd.gate.command import run as run_filter

            engine = engine_config(args)
            if engine.engine == "ray":
                from functools import partial

                from bondkd.scale.gate import filter_file

                return run_filter(args, partial(filter_file, engine=engine))
            return run_filter(args)
        if args.command == "generate":
            from bondkd.synth.command import refuse_without_structure, run_guided

            if args.guide_structure is not None:
                return run_guided(args)
            refuse_without_structure(args)
            from bondkd.generate.command import run as run_generate

            return run_generate(args)
        if args.command == "structure":
            from bondkd.synth.command import run_structure

            return run_structure(args, _config(args))
        if args.command == "eval":
            from bondkd.evaluate.command import run as run_eval

            return run_eval(args)
    except (BondkdError, ConfigError) as e:
        print(f"bondkd: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("bondkd: interrupted", file=sys.stderr)
        return 130
    return EXIT_USAGE


def run() -> None:
    sys.exit(main())


def _config(args: argparse.Namespace) -> AnalyzeConfig:
    dev = args.device
    return load_config(
        args.config,
        backend=args.backend,
        attention__model=args.model,
        attention__device=dev,
        embedder__model=args.embedder,
        embedder__device=dev,
    )


def _analyze(args: argparse.Namespace) -> int:
    from bondkd.pipeline import Analyzer
    from bondkd.read.files import iter_traces
    from bondkd.read.table_out import is_table_out, scratch_jsonl, write_table
    from bondkd.views import terminal

    config = _config(args)
    analyzer = Analyzer(config)
    items = analyzer.screen(
        iter_traces(args.path, fmt=args.format, layout=args.input_format)
    )  # over max_chars: an error
    first = list(islice(items, 2))
    single = len(first) == 1 and not _is_many(args.path, args.input_format)
    if single and isinstance(first[0][1], InputError):
        raise first[0][1]
    if (args.html_out or args.graphml_out) and not single:
        raise BondkdError("--html and --graphml take a single trace; use `bondkd report` for many")
    # stdin bytes are buffered by the reader, so hashing "-" does not consume them
    hashes = {_display_name(args.path): _file_hash(args.path)}
    errors = 0
    with ExitStack() as files:
        # Every output is checked before the models load, and written whole or not at all.
        tmp = {
            k: str(files.enter_context(output_path(p)))
            for k, p in (
                ("json", args.json_out),
                ("html", args.html_out),
                ("gml", args.graphml_out),
            )
            if p and not (k == "json" and (p == "-" or is_table_out(p)))
        }
        if args.json_out and args.json_out != "-" and is_table_out(args.json_out):
            tmp["json"] = str(files.enter_context(scratch_jsonl(args.json_out)))
        out = terminal.Output(args.json_out, quiet=args.quiet, path=tmp.get("json"))
        with out:
            if single:
                mol = analyzer.analyze(first[0][1], hashes)  # type: ignore[arg-type]
                out.molecule(mol, detailed=True)
                if args.html_out:
                    from bondkd.views.render import write_molecule_html

                    write_molecule_html(mol, tmp["html"])
                if args.graphml_out:
                    mol.to_graphml(tmp["gml"])
            else:
                engine = engine_config(args)
                stream = (
                    _ray_stream(args, config, engine, "analyze", hashes)
                    if engine.engine == "ray"
                    else analyzer.molecules(chain(first, items), hashes)
                )
                for _line, item, got in out.progress(stream):
                    if got is None:
                        errors += 1
                        out.error(str(item))
                    else:
                        out.molecule(got, detailed=False)
                out.finish(errors)
        if "json" in tmp and not out.count:  # not one molecule: no document to write
            Path(tmp["json"]).unlink()
        elif "json" in tmp and is_table_out(args.json_out):
            write_table(tmp["json"], args.json_out)
    for what, path in (("HTML", args.html_out), ("GraphML", args.graphml_out)):
        if path:
            out.note(f"{what} written to {path}")
    return EXIT_PARTIAL if errors else EXIT_OK


def _render(args: argparse.Namespace) -> int:
    from bondkd.molecule.molecule import Molecule
    from bondkd.pipeline import Analyzer
    from bondkd.read.inputs import iter_inputs
    from bondkd.views.render import write_molecule_html

    record = _pick(
        iter_inputs(args.path, fmt=args.format, layout=args.input_format), args.path, args.record_id
    )
    with output_path(args.out) as tmp:  # checked before the models load
        if record.molecule is not None:
            mol = Molecule(record.molecule)
        else:
            hashes = {_display_name(args.path): _file_hash(args.path)}
            mol = Analyzer(_config(args)).analyze(record.trace, hashes)
        write_molecule_html(mol, tmp)
    if not args.quiet:
        print(f"{mol.doc.id}: {len(mol.steps)} steps, {len(mol.bonds)} bonds -> {args.out}")
    return EXIT_OK


def _pick(items: Iterable[tuple[int, Any]], path: str, record_id: str | None) -> Any:
    """The one record of a file, or the record with `record_id`."""
    seen = 0
    for _line, item in items:
        if record_id is None:
            if isinstance(item, InputError):
                raise item
            if seen:
                raise BondkdError(f"{path}: holds more than one record; pick one with --id")
            seen, found = 1, item
        elif not isinstance(item, InputError) and item.id == record_id:
            return item
    if record_id is not None:
        raise BondkdError(f"{path}: no record with id {record_id!r}")
    return found


def _report(args: argparse.Namespace) -> int:
    import json

    from bondkd.pipeline import Analyzer
    from bondkd.read.inputs import iter_inputs
    from bondkd.views.report import ReportBuilder

    if args.views < 0:
        raise BondkdError("--views must be >= 0")
    if args.png_dir and Path(args.png_dir).exists() and not Path(args.png_dir).is_dir():
        raise BondkdError(f"{args.png_dir}: --png needs a directory; this is a file")
    report = ReportBuilder(args.out, views=args.views, title=_display_name(args.path))
    hashes = {_display_name(args.path): _file_hash(args.path)}
    try:  # the report's folder is made, as its molecule pages go beside it
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(args.out, e) from None
    with ExitStack() as files:  # outputs checked before any work, written whole or not at all
        html = files.enter_context(output_path(args.out))
        stats = files.enter_context(output_path(args.json_out)) if args.json_out else None
        analyzer = Analyzer(_config(args))  # loads no model unless a record is a trace
        items = iter_inputs(args.path, fmt=args.format, layout=args.input_format)
        engine = engine_config(args)
        stream = (
            _ray_stream(args, analyzer.config, engine, "report", hashes)
            if engine.engine == "ray"
            else analyzer.molecules(items, hashes)
        )
        for line, item, mol in stream:
            if mol is None:
                report.error(str(item))
                print(f"bondkd: skipped: {item}", file=sys.stderr)
            else:
                report.add(mol.doc, item.verdict, line)
        pngs = report.write(args.png_dir, to=html)
        if stats is not None:
            text = json.dumps(report.summary(), indent=2, allow_nan=False) + "\n"
            stats.write_text(text, encoding="utf-8")
    if not args.quiet:
        v = {k: len(x) for k, x in report.stats.stability.items()}
        print(
            f"{report.stats.n} traces ({v['accepted']} accepted, {v['rejected']} rejected), "
            f"{len(report.errors)} unreadable -> {args.out}; "
            f"{report.n_views} molecule views in {report.view_dir.name}/"
            + (f"; {len(pngs)} PNG plots in {args.png_dir}" if pngs else "")
        )
    return EXIT_PARTIAL if report.errors else EXIT_OK


def _targets(args: argparse.Namespace) -> int:
    from bondkd.distill.targets import TargetWriter, build_targets
    from bondkd.pipeline import Analyzer
    from bondkd.read.files import iter_traces

    analyzer = Analyzer(_config(args))
    errors = 0

    def traces() -> Iterator[Trace]:
        nonlocal errors
        for _line, item in iter_traces(args.path, fmt=args.format, layout=args.input_format):
            if isinstance(item, InputError):
                errors += 1
                print(f"bondkd: skipped: {item}", file=sys.stderr)
            else:
                yield item

    def ray_targets() -> Iterator[Any]:
        nonlocal errors
        for _line, item, target in _ray_stream(args, analyzer.config, engine, "targets", {}):
            if target is None:
                errors += 1
                print(f"bondkd: skipped: {item}", file=sys.stderr)
            else:
                yield target

    engine = engine_config(args)
    with TargetWriter(
        args.out, analyzer, shard_size=args.shard_size, overwrite=args.overwrite
    ) as writer:
        ray = engine.engine == "ray"
        count = writer.write_all(ray_targets() if ray else build_targets(traces(), analyzer))
    if not args.quiet:
        print(f"{count} teacher targets -> {args.out} ({errors} records skipped)")
    return EXIT_PARTIAL if errors else EXIT_OK


def _ray_stream(args: argparse.Namespace, config: AnalyzeConfig, engine: Any, what: str,
                hashes: dict[str, str]) -> Iterator[tuple[int, Any, Any]]:  # fmt: skip
    from bondkd.scale.molecules import stream

    return stream(args.path, config, engine, what, args.format, args.input_format, hashes)


def _compare(args: argparse.Namespace) -> int:
    from bondkd.measure.compare import compare_datasets, compare_molecules, load_molecules
    from bondkd.views.terminal import comparison

    with ExitStack() as files:
        out = files.enter_context(output_path(args.json_out)) if args.json_out else None
        a, b = load_molecules(args.a), load_molecules(args.b)
        same = len(a) == len(b) == 1 and a[0].reasoning == b[0].reasoning
        pair = same and not args.datasets
        result = compare_molecules(a[0], b[0]) if pair else compare_datasets(a, b)
        if out is not None:
            out.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    comparison(result)
    return EXIT_OK


def _display_name(path: str) -> str:
    return "<stdin>" if path == "-" else Path(path).name


def _is_many(path: str, layout: str = "auto") -> bool:
    """A file of many records (JSONL or a table), even when it holds one."""
    from bondkd.read.tables import TABLES
    from bondkd.read.tables import layout as detect

    try:
        return ".jsonl" in Path(path).name or detect(path, layout) in (*TABLES, "jsonl")
    except BondkdError:
        return False


def _file_hash(path: str) -> str:
    from bondkd.read.files import file_hash

    return file_hash(path)
