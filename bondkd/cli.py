"""`bondkd` command line: subcommands in one entry point.

`main(argv)` returns an exit code so tests call it directly; `run()` is the
console script. User errors print one line (file, line, field) and exit 2 with
no traceback; a JSONL run reports each bad line, analyses the rest and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from itertools import chain, islice
from pathlib import Path

from bondkd import __version__
from bondkd.config import ConfigError, load_config
from bondkd.errors import BondkdError, InputError
from bondkd.formats import FORMATS

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bondkd", description="Reasoning-structure distillation: traces as molecules."
    )
    p.add_argument("--version", action="version", version=f"bondkd {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    a = sub.add_parser("analyze", help="Analyse trace(s) into reasoning molecules.")
    a.add_argument("path", help="Trace file: .json, .jsonl, .jsonl.gz, or - for stdin.")
    a.add_argument("--format", choices=FORMATS, help="Force the input layout (default: detect).")
    a.add_argument(
        "--backend", choices=["model", "lexical"], help="Energy backend (default: model)."
    )
    a.add_argument("--config", help="TOML or JSON file overriding AnalyzeConfig fields.")
    a.add_argument("--model", help="Causal LM for attention: 'smollm2', an HF id or a local path.")
    a.add_argument("--embedder", help="sentence-transformers model: HF id or local path.")
    a.add_argument("--device", help="torch device for both models (cpu, cuda, ...).")
    a.add_argument(
        "--json", dest="json_out", help="Write molecule document(s) here (- for stdout)."
    )
    a.add_argument("--html", dest="html_out", help="Write an interactive HTML graph (one trace).")
    a.add_argument("--graphml", dest="graphml_out", help="Write the graph as GraphML (one trace).")
    a.add_argument("-q", "--quiet", action="store_true", help="No terminal summary.")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits on --help/--version/usage errors
        return int(e.code or 0)
    try:
        if args.command == "analyze":
            return _analyze(args)
    except (BondkdError, ConfigError) as e:
        print(f"bondkd: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("bondkd: interrupted", file=sys.stderr)
        return 130
    return EXIT_USAGE


def run() -> None:
    sys.exit(main())


def _analyze(args: argparse.Namespace) -> int:
    from bondkd import terminal
    from bondkd.pipeline import Analyzer
    from bondkd.reader import iter_traces

    dev = args.device
    config = load_config(
        args.config,
        backend=args.backend,
        attention__model=args.model,
        attention__device=dev,
        embedder__model=args.embedder,
        embedder__device=dev,
    )
    analyzer = Analyzer(config)
    items = iter_traces(args.path, fmt=args.format)
    first = list(islice(items, 2))
    single = len(first) == 1 and not _is_jsonl(args.path)
    if single and isinstance(first[0][1], InputError):
        raise first[0][1]
    if (args.html_out or args.graphml_out) and not single:
        raise BondkdError("--html and --graphml take a single trace; use `bondkd report` for many")
    name = "<stdin>" if args.path == "-" else Path(args.path).name
    hashes = {name: _file_hash(args.path)}  # stdin bytes are buffered by the reader
    out = terminal.Output(args.json_out, quiet=args.quiet)
    errors = 0
    with out:
        if single:
            mol = analyzer.analyze(first[0][1], hashes)  # type: ignore[arg-type]
            out.molecule(mol, detailed=True)
            if args.html_out:
                from bondkd.render import write_molecule_html

                write_molecule_html(mol, args.html_out)
                out.note(f"HTML written to {args.html_out}")
            if args.graphml_out:
                mol.to_graphml(args.graphml_out)
                out.note(f"GraphML written to {args.graphml_out}")
            return EXIT_OK
        stream = out.progress(chain(first, items))
        while chunk := list(islice(stream, config.batch)):
            # One batch through the models, then results and errors in input order.
            traces = [item for _, item in chunk if not isinstance(item, InputError)]
            mols = analyzer.analyze_many(traces, hashes)  # type: ignore[arg-type]
            for _line, item in chunk:
                if isinstance(item, InputError):
                    errors += 1
                    out.error(str(item))
                else:
                    out.molecule(next(mols), detailed=False)
        out.finish(errors)
    return EXIT_PARTIAL if errors else EXIT_OK


def _is_jsonl(path: str) -> bool:
    return ".jsonl" in Path(path).name


def _file_hash(path: str) -> str:
    from bondkd.reader import file_hash

    return file_hash(path)
