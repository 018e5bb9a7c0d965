"""What `render` and `report` read: traces, molecule documents or `filter` output.

Each record is told apart on its own, so one file may mix them:

- a molecule document (`analyze --json`) has ``schema_version`` and ``bonds``; it is
  validated against `MoleculeDoc` and shown as is, with no model run;
- a `filter` output line is the input record plus a ``bondkd`` block whose
  ``verdict`` is the gate's; the rest of the record is read as a trace;
- anything else is a trace in any layout `formats` knows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import ValidationError

from bondkd.errors import InputError
from bondkd.read.files import iter_records
from bondkd.read.formats import RecordError, parse_record
from bondkd.schema import MoleculeDoc, Trace

VERDICTS = {"accepted": True, "rejected": False}


@dataclass
class Record:
    """One input record: a trace to analyse or a molecule already analysed."""

    trace: Trace | None = None
    molecule: MoleculeDoc | None = None
    verdict: bool | None = None  # from a `filter` block; None when the record has none

    @property
    def id(self) -> str:
        if self.molecule is not None:
            return self.molecule.id
        assert self.trace is not None and self.trace.id is not None
        return self.trace.id


def is_molecule(obj: dict) -> bool:
    return "schema_version" in obj and "bonds" in obj


def molecule_doc(obj: dict) -> MoleculeDoc:
    """Validate a molecule document; the first problem becomes a RecordError with its field."""
    try:
        return MoleculeDoc.model_validate(obj)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        raise RecordError(field, f"not a valid molecule document: {err['msg']}") from None


def parse_input(
    obj: object,
    *,
    fmt: str | None = None,
    source: str | None = None,
    default_id: str | None = None,
) -> Record:
    if not isinstance(obj, dict):
        return Record(trace=parse_record(obj))  # raises the usual "expected an object"
    verdict = None
    if "bondkd" in obj:
        block = obj["bondkd"]
        if not isinstance(block, dict):
            raise RecordError("bondkd", "expected the object `bondkd filter` writes")
        v = block.get("verdict")
        if v is not None and v not in VERDICTS:
            raise RecordError("bondkd.verdict", f"expected 'accepted' or 'rejected', got {v!r}")
        if "raw" in obj:
            reasons = "; ".join(map(str, block.get("reasons", []))) or "unparsable line"
            raise RecordError("raw", f"a line `bondkd filter` could not read ({reasons})")
        verdict = None if v is None else VERDICTS[v]
        obj = {k: val for k, val in obj.items() if k != "bondkd"}
    if is_molecule(obj):
        return Record(molecule=molecule_doc(obj), verdict=verdict)
    trace = parse_record(obj, fmt=fmt, source=source, default_id=default_id)
    return Record(trace=trace, verdict=verdict)


def iter_inputs(
    path: str, fmt: str | None = None, layout: str | None = None
) -> Iterator[tuple[int, Record | InputError]]:
    """Every record of `path` as a Record or an InputError, in input order; `layout`
    forces the file layout (`tables.LAYOUTS`)."""
    parse: Any = partial(parse_input, fmt=fmt)
    return iter_records(path, parse, layout)
