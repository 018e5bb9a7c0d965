"""`bondkd filter --engine ray`: the local gate's two passes as Ray stages.

Pass 1 reads each chunk (`chunks`) and makes the index entries of its records (plain
tasks); `index` turns them into per-record annotations with groupbys. Pass 2 groups each
chunk's descriptor with its annotations and gates the chunk's records with the local
`Gate` (an actor pool for the model backend: models load once per actor). A chunk's
output is staged beside the accepted output, in ``<accepted>.ray/``: its accepted and
rejected lines, then a ``.done`` file naming their input lines, written last and by
rename, so a retried task (a killed worker) rewrites the chunk whole and a chunk is
either done or not. The driver then appends the chunks in input order to the outputs
(JSONL journals, Parquet at the end: `gate.outputs`) and removes the staging folder.

`--resume` after a killed driver keeps the done chunks, rebuilds the index (derived,
never stored) and gates only the rest; lines already in the outputs (a local run's, or
an append cut short) are skipped by line number, so nothing is lost or written twice.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import IO, Any

from bondkd.errors import BondkdError, write_error
from bondkd.gate import outputs
from bondkd.gate.config import GateConfig
from bondkd.gate.files import Summary, _batched, _parse, done_lines, dump
from bondkd.gate.runner import Gate, index_entry
from bondkd.read.table_out import TableOutConfig
from bondkd.scale.chunks import Chunk, plan, values
from bondkd.scale.cluster import connected, pool, shuffle_blocks
from bondkd.scale.config import EngineConfig
from bondkd.scale.index import ViewIndex, entry_row, index_rows, views
from bondkd.scale.molecules import unwrap

_gates: dict[str, Gate] = {}


def _entries(
    batch: dict[str, Any], config_json: str, layout: str | None, parts: int
) -> dict[str, list]:
    config = GateConfig.model_validate_json(config_json)
    out: dict[str, list] = {"part": [], "data": []}
    for spec in batch["chunk"]:
        chunk = Chunk.from_json(str(spec))
        for batch_items in _batched(values(chunk, layout), config.batch):
            for n, v in batch_items:
                e = index_entry(_parse(n, v), config)
                if e is not None:
                    for k, x in entry_row(e, parts).items():
                        out[k].append(x)
    return out


class _Judge:
    """Pass 2 on one chunk: its records gated and staged. A class, so the model backend
    runs it in an actor pool (the Gate and its models are made once per actor)."""

    def __init__(self, config_json: str, layout: str | None, staging: str):
        if config_json not in _gates:
            _gates[config_json] = Gate(GateConfig.model_validate_json(config_json))
        self.gate, self.layout, self.staging = _gates[config_json], layout, Path(staging)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        out: dict[str, list] = {"chunk": [], "records": []}
        for packed in batch["group"]:
            group = json.loads(str(packed))
            spec, found = views(group["kind"], group["data"])
            if spec is not None:  # else: annotations of a chunk already done
                k, n = self._chunk(spec, found)
                out["chunk"].append(k)
                out["records"].append(n)
        return out

    def _chunk(self, spec: dict, found: dict[int, dict]) -> tuple[int, int]:
        chunk, skip = Chunk.from_json(spec["chunk"]), set(spec["skip"])
        index = ViewIndex(found)
        self.gate.index = self.gate.context.index = index  # type: ignore[assignment]
        lines: dict[str, list[int]] = {"a": [], "r": []}
        texts: dict[str, list[str]] = {"a": [], "r": []}
        summary = Summary()
        todo = ((n, v) for n, v in values(chunk, self.layout) if n not in skip)
        for items in _batched(todo, self.gate.config.batch):
            for rec in self.gate.run([_parse(n, v) for n, v in items]):
                side = "a" if rec["bondkd"]["verdict"] == "accepted" else "r"
                lines[side].append(rec["bondkd"]["line"])
                texts[side].append(dump(rec))
                summary.total += 1
                summary.add(rec)
        _stage(self.staging, chunk.index, lines, texts, summary)
        return chunk.index, summary.total


def _judge_task(batch: dict[str, Any], **kwargs: Any) -> dict[str, list]:
    return _Judge(**kwargs)(batch)


def _pack(group: dict[str, Any]) -> dict[str, list]:
    """A chunk's descriptor and annotation rows as one row, for a plain map to judge."""
    kinds, datas = [str(k) for k in group["kind"]], [str(d) for d in group["data"]]
    return {"group": [json.dumps({"kind": kinds, "data": datas})]}


def _stage(staging: Path, k: int, lines: dict, texts: dict, summary: Summary) -> None:
    for side in ("a", "r"):
        tmp = staging / f".chunk-{k:06d}.{side}.{os.getpid()}"
        tmp.write_text("".join(texts[side]), encoding="utf-8")
        os.replace(tmp, staging / f"chunk-{k:06d}.{side}.jsonl")
    done = {"lines": lines, "summary": _summary_json(summary)}
    tmp = staging / f".chunk-{k:06d}.done.{os.getpid()}"
    tmp.write_text(json.dumps(done), encoding="utf-8")
    os.replace(tmp, staging / f"chunk-{k:06d}.done")  # last: the chunk is complete


def _summary_json(s: Summary) -> dict:
    d = {k: v for k, v in vars(s).items() if k != "checks"}
    return d | {"checks": [[*k, v] for k, v in s.checks.items()]}


def _add(total: Summary, part: dict) -> None:
    for k, v in part.items():
        if k != "checks":
            setattr(total, k, getattr(total, k) + v)
    total.checks.update(Counter({(n, st): v for n, st, v in part["checks"]}))


def filter_file(
    path: str,
    accepted: str,
    rejected: str,
    config: GateConfig,
    resume: bool = False,
    workers: int = 1,
    progress: Any = None,
    layout: str | None = None,
    table: TableOutConfig | None = None,
    engine: EngineConfig | None = None,
) -> Summary:
    """`gate.files.filter_file` on Ray (`workers` is the cluster's business: unused)."""
    engine = engine or EngineConfig(engine="ray")
    outs = outputs.sinks(accepted, rejected)
    with outputs.opened(path, outs, resume) as files:
        journals = [s.journal for s in outs]
        staging = Path(f"{journals[0]}.ray")
        every = _staging(staging, resume, -(-engine.chunk_lines // config.batch) * config.batch)
        done = set().union(*(done_lines(p) for p in journals)) if resume else set()
        chunks = plan(path, layout, every)
        finished = {k for k in range(len(chunks)) if (staging / f"chunk-{k:06d}.done").exists()}
        try:
            _run(chunks, finished, done, config, engine, layout, staging, progress)
        except Exception as e:
            raise unwrap(e) from None
        summary = _append(chunks, staging, done, files)
        summary.resumed = len(done)
        outputs.finish(outs, files, table)
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _staging(staging: Path, resume: bool, every: int) -> int:
    """The staging folder, made or (with --resume) taken up again; returns the chunk size
    its chunks were cut with, so a resumed run cuts the input the same way."""
    meta = staging / "plan.json"
    if staging.exists() and any(staging.glob("chunk-*.done")) and not resume:
        raise BondkdError(f"{staging}: chunks of an interrupted run; pass --resume, or remove it")
    try:
        if resume and meta.exists():
            return int(json.loads(meta.read_text("utf-8"))["chunk_lines"])
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        meta.write_text(json.dumps({"chunk_lines": every}), encoding="utf-8")
    except OSError as e:
        raise write_error(staging, e) from None
    return every


def _run(chunks: list[Chunk], finished: set[int], done: set[int], config: GateConfig,
         engine: EngineConfig, layout: str | None, staging: Path, progress: Any) -> None:  # fmt: skip
    starts = [c.first for c in chunks]
    todo = [c for c in chunks if c.index not in finished]
    if not todo:
        return
    with connected(engine) as ray:
        cfg = config.model_dump_json()
        specs = ray.data.from_items([{"chunk": c.to_json()} for c in chunks],
                                    override_num_blocks=len(chunks))  # fmt: skip
        # A few tens of thousands of records per shuffle partition: Ray's default of 200
        # partitions costs seconds on a small input, one partition would not spread.
        lines = sum(c.count for c in chunks) or 1
        parts = max(2, min(4096, -(-lines // 20_000)))
        entries = specs.map_batches(_entries, batch_size=1, num_cpus=1, fn_kwargs={
            "config_json": cfg, "layout": layout, "parts": parts}).materialize()  # fmt: skip
        rows = [{"chunk": c.index, "kind": "chunk", "data": json.dumps(
            {"chunk": c.to_json(), "skip": sorted(n for n in done if c.first <= n < c.first + c.count)
             if c.kind != "whole" else sorted(done)})} for c in todo]  # fmt: skip
        rows_ds = ray.data.from_items(rows, override_num_blocks=len(rows))
        blocks = shuffle_blocks(ray, parts)
        if entries.count():
            rows_ds = rows_ds.union(index_rows(entries, starts, parts, blocks))
        kwargs = {"config_json": cfg, "layout": layout, "staging": str(staging)}
        packed = (
            rows_ds.repartition(blocks)
            .groupby("chunk", num_partitions=max(2, min(parts, len(todo))))
            .map_groups(_pack, batch_format="numpy")
        )
        # One chunk per block again: a judging task per chunk, on as many CPUs as chunks.
        packed = packed.repartition(len(todo))
        if config.backend == "model":
            # The shuffle runs to the end first: the pool's actors hold their CPUs (or GPUs)
            # from the start, and the shuffle's tasks would wait on them for ever.
            packed = packed.materialize()
            judged = packed.map_batches(_Judge, batch_size=1, batch_format="numpy",
                                        fn_constructor_kwargs=kwargs, **pool(ray, engine, model=True))  # fmt: skip
        else:
            judged = packed.map_batches(_judge_task, batch_size=1, batch_format="numpy",
                                        fn_kwargs=kwargs, num_cpus=1)  # fmt: skip
        if progress is not None:
            progress.start(sum(c.count for c in todo) or 1)
        for b in judged.iter_batches(batch_size=None, batch_format="numpy"):
            if progress is not None:
                progress.advance(int(sum(b["records"].tolist())))


def _append(chunks: list[Chunk], staging: Path, done: set[int], files: list[IO[str]]) -> Summary:
    """Staged chunks → the outputs, in input order; lines already there are skipped."""
    summary = Summary()
    acc, rej = files
    for c in chunks:
        meta = json.loads((staging / f"chunk-{c.index:06d}.done").read_text("utf-8"))
        partial = any(n in done for side in ("a", "r") for n in meta["lines"][side])
        for side, fh in (("a", acc), ("r", rej)):
            # read as bytes, line by line: only "\n" ends a record (text mode would also
            # split at a "\r" inside one), and one line is held at a time
            with open(staging / f"chunk-{c.index:06d}.{side}.jsonl", "rb") as staged:
                try:
                    for n, raw in zip(meta["lines"][side], staged, strict=True):
                        if n not in done:
                            rec = raw.decode("utf-8")
                            fh.write(rec)
                            if partial:
                                summary.total += 1
                                summary.add(json.loads(rec))
                    fh.flush()
                except OSError as e:
                    raise write_error(fh.name, e) from None
        if not partial:
            _add(summary, meta["summary"])
    return summary
