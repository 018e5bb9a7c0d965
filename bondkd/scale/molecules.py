"""`analyze`, `report` and `targets` on Ray: molecules (or teacher targets) per chunk, back
to the driver in input order.

Each chunk runs the local loop (`Analyzer.screen` for analyze, `Analyzer.molecules`,
`distill.targets.build_targets`) over the local reader's records, so the documents are
the local run's. The lexical backend runs as plain tasks; the model backend as an actor
pool whose actors load the models once and keep them for every chunk they get. The
driver streams the results (molecule documents as JSON, targets pickled) and holds a
few blocks at a time, never the dataset.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from typing import Any

from bondkd.config import AnalyzeConfig
from bondkd.errors import BondkdError, InputError
from bondkd.pipeline import Analyzer
from bondkd.scale.chunks import Chunk, plan, records
from bondkd.scale.cluster import connected, pool
from bondkd.scale.config import EngineConfig

_VERDICT = {None: -1, False: 0, True: 1}
_analyzers: dict[str, Analyzer] = {}  # per worker process: models load once


class _Chunks:
    """One chunk per call → rows (line, kind, payload, verdict). A class, so that Ray runs
    it in an actor pool when models are involved."""

    def __init__(self, config_json: str, what: str, fmt: str | None, layout: str | None,
                 hashes: dict[str, str]):  # fmt: skip
        if config_json not in _analyzers:
            _analyzers[config_json] = Analyzer(AnalyzeConfig.model_validate_json(config_json))
        self.analyzer = _analyzers[config_json]
        self.what, self.fmt, self.layout, self.hashes = what, fmt, layout, hashes

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        out: dict[str, list] = {"line": [], "kind": [], "payload": [], "verdict": []}
        for spec in batch["chunk"]:
            for line, kind, payload, verdict in self._rows(Chunk.from_json(str(spec))):
                out["line"].append(line)
                out["kind"].append(kind)
                out["payload"].append(payload)
                out["verdict"].append(verdict)
        return out

    def _rows(self, chunk: Chunk) -> Iterator[tuple[int, str, bytes, int]]:
        items = records(chunk, self.what == "report", self.fmt, self.layout)
        if self.what == "analyze":  # `analyze` refuses traces over the bounds; the others don't
            items = self.analyzer.screen(items)
        if self.what == "targets":
            yield from self._targets(items)
            return
        for line, item, mol in self.analyzer.molecules(items, self.hashes):
            verdict = _VERDICT[getattr(item, "verdict", None)]
            if mol is None:
                yield line, "error", _error(item), verdict
            else:
                yield line, "mol", mol.to_json().encode("utf-8"), verdict

    def _targets(self, items: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, str, bytes, int]]:
        from bondkd.distill.targets import build_targets

        kept: list[tuple[int, Any]] = []
        for line, item in items:
            if isinstance(item, InputError):
                yield line, "error", _error(item), -1
            else:
                kept.append((line, item))
        built = build_targets((t for _, t in kept), self.analyzer)
        for (line, _), target in zip(kept, built, strict=True):
            yield line, "target", pickle.dumps(target, protocol=5), -1


def _error(e: InputError) -> bytes:
    return json.dumps([e.path, e.line, e.field, e.message]).encode("utf-8")


def _chunk_task(batch: dict[str, Any], **kwargs: Any) -> dict[str, list]:
    return _Chunks(**kwargs)(batch)


def stream(
    path: str,
    config: AnalyzeConfig,
    engine: EngineConfig,
    what: str = "analyze",
    fmt: str | None = None,
    layout: str | None = None,
    hashes: dict[str, str] | None = None,
) -> Iterator[tuple[int, Any, Any]]:
    """(line, item, result) in input order, as the local loops make them: `what` is
    "analyze" (item: a Trace's stand-in or InputError; result: Molecule or None),
    "report" (item carries the `filter` verdict) or "targets" (result: TeacherTarget)."""
    from bondkd.molecule.molecule import Molecule
    from bondkd.read.inputs import Record
    from bondkd.schema import MoleculeDoc

    every = -(-engine.chunk_lines // config.batch) * config.batch  # whole local batches
    chunks = plan(path, layout, every)
    kwargs = {"config_json": config.model_dump_json(), "what": what, "fmt": fmt,
              "layout": layout, "hashes": hashes or {}}  # fmt: skip
    verdicts = {-1: None, 0: False, 1: True}
    with connected(engine) as ray:
        model = config.backend == "model"
        ds = ray.data.from_items([{"chunk": c.to_json()} for c in chunks],
                                 override_num_blocks=len(chunks))  # fmt: skip
        if model:
            ds = ds.map_batches(_Chunks, batch_size=1, fn_constructor_kwargs=kwargs,
                                **pool(ray, engine, model=True))  # fmt: skip
        else:
            ds = ds.map_batches(_chunk_task, batch_size=1, fn_kwargs=kwargs, num_cpus=1)
        count = 0
        for batch in _batches(ds):
            for line, kind, payload, verdict in zip(*batch, strict=True):
                count += 1
                if kind == "error":
                    yield line, InputError(*json.loads(payload)), None
                elif kind == "target":
                    yield line, None, pickle.loads(payload)
                else:
                    doc = MoleculeDoc.model_validate_json(payload)
                    yield line, Record(molecule=doc, verdict=verdicts[verdict]), Molecule(doc)
    if count == 0:
        yield 0, InputError(path, None, None, "no records (empty input)"), None


def _batches(ds: Any) -> Iterator[tuple[list, ...]]:
    """The dataset's rows as column lists, block by block; a task's failure comes out as
    the BondkdError it raised (one line), not as Ray's wrapped traceback."""
    try:
        for b in ds.iter_batches(batch_size=None, batch_format="numpy"):
            cols = ("line", "kind", "payload", "verdict")
            yield tuple(b[c].tolist() for c in cols)
    except Exception as e:
        raise unwrap(e) from None


def unwrap(e: BaseException) -> BaseException:
    """The BondkdError inside a Ray task error, when there is one; else `e` itself."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, BondkdError):
            return cur
        cur = getattr(cur, "cause", None) or cur.__cause__
    return e
