"""trace -> steps -> energies -> bonds -> molecule -> stability -> verdict.

`Analyzer` loads each model once (lazily, on first use) and is reused for every
trace of a run; `bondkd.analyze()` keeps one Analyzer per config.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import Any

import numpy as np

from bondkd import __version__
from bondkd.config import AnalyzeConfig
from bondkd.energy import coherence, semantic
from bondkd.energy.combine import PairEnergies, combine
from bondkd.energy.pairs import candidate_pairs
from bondkd.errors import BondkdError, InputError
from bondkd.molecule import bonds, conflicts, episodes, first_error, molecule
from bondkd.molecule.evidence import Evidence, gather
from bondkd.molecule.molecule import Molecule
from bondkd.quantities import dataflow
from bondkd.read.formats import RecordError
from bondkd.read.spans import locate_steps
from bondkd.schema import STEP_JOINER, MoleculeDoc, Provenance, Step, Trace
from bondkd.steps.segment import segment, segment_steps


@dataclass
class TraceEnergies:
    text: str  # the reasoning text the spans index
    spans: list[tuple[int, int]]
    texts: list[str]
    features: list[coherence.StepFeatures]
    energy: PairEnergies  # candidate pairs, their components and combined energies
    evidence: Evidence  # what each step's content points at
    behaviour: list[bonds.Behaviour]  # what each step's cues say it does
    windows: int = 1
    notes: list[str] = field(default_factory=list)


_FIELDS = ("question", "reasoning", "answer", "reference")


def _steps(trace: Trace, cfg: AnalyzeConfig) -> tuple[str, list[tuple[int, int]]]:
    if trace.steps is not None:
        if trace.reasoning != STEP_JOINER.join(trace.steps):
            return trace.reasoning, locate_steps(trace.reasoning, trace.steps)
        return segment_steps(trace.steps)
    return trace.reasoning, segment(trace.reasoning, cfg.segment)


def _sizes(trace: Trace) -> dict[str, int]:
    return {f: len(getattr(trace, f) or "") for f in _FIELDS}


def bounds_error(trace: Trace, config: AnalyzeConfig) -> RecordError | None:
    """Why `trace` is over `config.max_chars` (or, on the model backend,
    `config.max_attention_steps`), naming its longest field; None when within bounds."""
    sizes = _sizes(trace)
    total, field_ = sum(sizes.values()), max(sizes, key=sizes.__getitem__)
    if total > config.max_chars:
        return RecordError(field_, f"{total:,} characters in the trace (question, reasoning, "
                           f"answer and reference), over max_chars = {config.max_chars:,}: not "
                           "analysed (raise max_chars in the config; memory grows with it)")  # fmt: skip
    if config.backend == "model":
        n = len(_steps(trace, config)[1])
        if n > config.max_attention_steps:
            return RecordError(field_, f"{n:,} steps, over max_attention_steps = "
                               f"{config.max_attention_steps:,} of the model backend (its "
                               "attention holds steps × steps matrices): not analysed")  # fmt: skip
    return None


def _input_error(trace: Trace, e: RecordError) -> InputError:
    name, _, line = (trace.source or trace.id or "<trace>").rpartition(":")
    if not (name and line.isdigit()):
        return InputError(trace.source or trace.id or "<trace>", None, e.field, e.message)
    return InputError(name, int(line), e.field, e.message)


class Analyzer:
    def __init__(self, config: AnalyzeConfig | None = None):
        self.config = config or AnalyzeConfig()
        self._reader = None
        self._embedder = None

    # -- models, loaded on first use -------------------------------------------------
    @property
    def reader(self):
        if self._reader is None:
            from bondkd.energy.attention import StepAttentionReader
            from bondkd.energy.models import load_causal_lm

            a = self.config.attention
            self._reader = StepAttentionReader(load_causal_lm(a.model, a.device, a.dtype), a)
        return self._reader

    @property
    def embedder(self):
        if self._embedder is None:
            from bondkd.energy.models import load_embedder

            e = self.config.embedder
            self._embedder = load_embedder(e.model, e.device)
        return self._embedder

    def model_ids(self) -> dict[str, str]:
        if self.config.backend != "model":
            return {}
        return {"attention": self.reader.lm.model_id, "embedder": self.embedder.model_id}

    # -- analysis ---------------------------------------------------------------------
    def analyze(self, trace: Trace, file_hashes: dict[str, str] | None = None) -> Molecule:
        return next(iter(self.analyze_many([trace], file_hashes)))

    def screen(self, items: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
        """(line, item) as `iter_traces` yields them, a trace over the configured bounds
        (`bounds_error`) replaced by an InputError naming its file, line and field."""
        for line, item in items:
            e = bounds_error(item, self.config) if isinstance(item, Trace) else None
            yield line, item if e is None else _input_error(item, e)

    def analyze_many(
        self, traces: Iterable[Trace], file_hashes: dict[str, str] | None = None
    ) -> Iterator[Molecule]:
        """Molecules in input order. Traces are taken `config.batch` at a time (`_chunks`),
        so a huge stream stays in bounded memory while the models see batches (the
        attention reader buckets each batch by length)."""
        for chunk in self._chunks(traces):
            for trace, te in zip(chunk, self.energies_many(chunk), strict=True):
                yield self._assemble(trace, te, file_hashes or {})

    def molecules(
        self, stream: Iterable[tuple[int, Any]], file_hashes: dict[str, str] | None = None
    ) -> Iterator[tuple[int, Any, Molecule | None]]:
        """(line, item, molecule or None for an InputError) in input order, for a stream of
        `iter_traces` / `iter_inputs` items: traces go through the models one batch at a
        time, molecule documents (`inputs.Record.molecule`) are taken as they are."""

        def trace(item: Any) -> Trace | None:
            return item if isinstance(item, Trace) else getattr(item, "trace", None)

        stream = iter(stream)
        while chunk := list(islice(stream, self.config.batch)):
            traces = [t for _, item in chunk if (t := trace(item)) is not None]
            mols = iter(self.analyze_many(traces, file_hashes) if traces else ())
            for line, item in chunk:
                if isinstance(item, InputError):
                    yield line, item, None
                elif trace(item) is not None:
                    yield line, item, next(mols)
                else:
                    yield line, item, Molecule(item.molecule)

    def _chunks(self, traces: Iterable[Trace]) -> Iterator[list[Trace]]:
        """`config.batch` traces at a time, fewer when they hold more than `max_chars`
        characters together: a batch's energies are held at once, and 16 traces of 2 MB
        would need 16 times the memory of one."""
        chunk: list[Trace] = []
        size = 0
        for trace in traces:
            n = sum(_sizes(trace).values())
            if chunk and (len(chunk) >= self.config.batch or size + n > self.config.max_chars):
                yield chunk
                chunk, size = [], 0
            chunk.append(trace)
            size += n
        if chunk:
            yield chunk

    def energies(self, trace: Trace) -> TraceEnergies:
        """Steps and the energies of every candidate pair (before bonds are typed)."""
        return self.energies_many([trace])[0]

    def energies_many(self, traces: list[Trace]) -> list[TraceEnergies]:
        cfg = self.config
        steps: list[tuple[str, list[tuple[int, int]], list[str]]] = []
        feats, pairs, comps, evs = [], [], [], []
        for trace in traces:
            if (e := bounds_error(trace, cfg)) is not None:  # callers screen; a last guard
                raise BondkdError(str(_input_error(trace, e)))
            text, spans = _steps(trace, cfg)
            texts = [text[s:e] for s, e in spans]
            f = coherence.step_features(trace.question, texts)
            ev = gather(trace.question, texts)
            p = candidate_pairs(
                [x.terms | x.numbers for x in f], cfg.energy.local_window, cfg.energy.long_range
            )
            behaviour = bonds.behaviours(texts, ev)
            if extra := episodes.pairs(
                ev, behaviour
            ):  # content links get energies wherever they point
                p = np.unique(np.concatenate([p, np.asarray(extra, dtype=np.int64)]), axis=0)
            c: dict[str, np.ndarray | None] = {"coherence": coherence.coherence(f, p)}
            if cfg.backend == "lexical":
                lo, hi = cfg.energy.lexical_cosine
                c["semantic"] = semantic.rescale(semantic.lexical_cosine(texts, p), lo, hi)
                c["attention"] = None
            steps.append((text, spans, texts))
            evs.append((ev, behaviour))
            feats.append(f)
            pairs.append(p)
            comps.append(c)
        reads: list[tuple[int, list[str]]] = [(1, [])] * len(traces)
        if cfg.backend == "model":
            reads = self._model_components(traces, steps, pairs, comps)
        out = []
        for k, (text, spans, texts) in enumerate(steps):
            pe = combine(pairs[k], comps[k], cfg.weights())
            out.append(TraceEnergies(text, spans, texts, feats[k], pe, *evs[k], *reads[k]))
        return out

    def _model_components(self, traces, steps, pairs, comps) -> list[tuple[int, list[str]]]:
        """Fill the semantic and attention components of a batch in place (one embedding
        call for all steps, one batched attention read); return (windows, notes) per trace."""
        lo, hi = self.config.energy.model_cosine
        all_texts = [s for _, _, texts in steps for s in texts]
        vecs = self.embedder.encode(all_texts) if all_texts else np.zeros((0, 1))
        reads = self.reader.read_batch(
            [(t.question, text, spans) for t, (text, spans, _) in zip(traces, steps, strict=True)]
        )
        out: list[tuple[int, list[str]]] = []
        start = 0
        for (_, _, texts), p, c, att in zip(steps, pairs, comps, reads, strict=True):
            mine = vecs[start : start + len(texts)]
            start += len(texts)
            c["semantic"] = semantic.rescale(semantic.embedding_cosine(mine, p), lo, hi)
            c["attention"] = att.energy[p[:, 0], p[:, 1]] if len(p) else np.zeros(0)
            notes = []
            if att.windows > 1:
                notes.append(
                    f"{att.tokens} tokens read in {att.windows} overlapping attention windows of "
                    f"{self.reader.window} tokens; pairs never in one window have no attention "
                    "component"
                )
            out.append((att.windows, notes))
        return out

    def _assemble(self, trace: Trace, te: TraceEnergies, hashes: dict[str, str]) -> Molecule:
        cfg = self.config
        text, spans, texts, pe = te.text, te.spans, te.texts, te.energy
        bond_list, behaviour, lk = bonds.link_and_bond(
            pe, te.behaviour, te.evidence, cfg.bands(), cfg.bonds.max_per_step
        )
        roles = bonds.roles(len(texts), behaviour, bond_list)
        replaced = lk.replaced()
        found = conflicts.find_conflicts(
            texts, behaviour, trace.answer, pe.pairs, cfg.stability, trace.question
        )
        found = conflicts.resolve_replaced(found, replaced, cfg.stability)
        arithmetic = dataflow.is_arithmetic(trace.question, texts)
        checks = {k for k, r in enumerate(roles) if r == "reflection"}
        flow = (
            dataflow.find_flow_issues(
                trace.question, texts, trace.answer, cfg.stability.flow, replaced.keys() | checks
            )
            if arithmetic
            else []
        )
        givens = dataflow.givens(trace.question)
        redone = lk.redone
        uncounted = [k in redone for k in range(len(texts))]
        if molecule.past_fit(molecule.working_steps(roles, uncounted), len(text), cfg.stability):
            # recorded, not costed
            flow = [f.model_copy(update={"value": 0.0}) for f in flow]
        features = molecule.stability_features(
            roles,
            bond_list,
            found,
            flow,
            givens,
            cfg.stability,
            uncounted,
            len(text),
        )
        value = round(molecule.stability(features, cfg.stability), 6)
        accepted, reasons = molecule.verdict(value, found, flow, cfg.stability)
        doc = MoleculeDoc(
            id=trace.id or "line-1",
            question=trace.question,
            reasoning=text,
            answer=trace.answer,
            reference=trace.reference,
            steps=[
                Step(
                    index=k,
                    text=texts[k],
                    start=s,
                    end=e,
                    role=roles[k],
                    kind=lk.kinds.get(k) if roles[k] == "reflection" else None,  # type: ignore[arg-type]
                    superseded_by=lk.superseded.get(k),
                    redone_by=redone.get(k),
                )
                for k, (s, e) in enumerate(spans)
            ],
            bonds=bond_list,
            stability=value,
            accepted=accepted,
            reasons=reasons,
            conflicts=found,
            dataflow=flow,
            givens=givens,
            arithmetic=arithmetic,
            first_error=first_error.locate(found),
            weak_points=molecule.weak_points(len(texts), bond_list, cfg.stability),
            provenance=Provenance(
                bondkd_version=__version__,
                backend=cfg.backend,
                models=self.model_ids(),
                file_hashes=hashes,
                config_hash=cfg.hash(),
                source=trace.source,
                windows=te.windows,
                notes=te.notes,
            ),
        )
        return Molecule(doc)


@lru_cache(maxsize=4)
def _analyzer(config_json: str) -> Analyzer:
    return Analyzer(AnalyzeConfig.model_validate_json(config_json))


def analyze(trace: Trace | dict | str, config: AnalyzeConfig | None = None) -> Molecule:
    """Analyse one trace: a `Trace`, a record in any supported layout, or reasoning text."""
    from bondkd.read.formats import parse_record

    if isinstance(trace, str):
        trace = Trace(reasoning=trace)
    elif isinstance(trace, dict):
        trace = parse_record(trace)
    cfg = config or AnalyzeConfig()
    return _analyzer(cfg.model_dump_json()).analyze(trace)
