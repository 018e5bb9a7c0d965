"""First unresolved error: the earliest step whose claim fails and that no later step
corrects (ProcessBench's "earliest error step"), or None.

Only evidence that marks a wrong step is used. Measured on the human first-error labels
of the BIG-Bench Mistake and ProcessBench dev files (`benchmarks/first_error.py
--evidence`, lexical backend, 944 traces): where the earliest unresolved piece of each kind
in a trace falls against the label.

| evidence | at the labelled step | before it, or on a clean trace | after it |
|---|---|---|---|
| `check_failed` (quantities.verifiers) | 485 | 7 | 72 |
| `calc_mismatch` | 88 | 3 | 6 |
| `value_clash` | 73 | 2 | 3 |
| dataflow `unsourced` | 5 | 0 | 2 |
| dataflow `dead_end` | 8 | 14 | 6 |
| `answer_mismatch` | 0 | 0 | 16 |
| `negation` | 0 | 0 | 2 |

A failed check, a wrong calculation and a value that changes with no correction are
errors of the step that states them. Dataflow breaks are not: a "dead end" is a result the
trace did not need (as often before the labelled error as at it), and an "unsourced"
number is mostly domain knowledge; its few hits are ProcessBench items whose first
paragraph both brings in a known constant and holds the labelled error. An answer mismatch
or a negation points at a step after the first error, never at it. They still lower
stability; they never name the first error.
"""

from __future__ import annotations

from bondkd.schema import Conflict, FirstError

# Conflict kinds that mark the step stating them as wrong, most specific first: where two
# fall on one step, the description of the first kind here is given.
ERROR_KINDS: tuple[str, ...] = ("check_failed", "calc_mismatch", "value_clash")


def locate(conflicts: list[Conflict]) -> FirstError | None:
    """The earliest step with an unresolved conflict of an `ERROR_KINDS` kind; None when
    there is none. A conflict a later correction resolved never counts; dataflow breaks
    are no evidence of an error (module doc)."""
    found = [
        (max(c.steps), ERROR_KINDS.index(c.kind), c)
        for c in conflicts
        if c.resolved_by is None and c.steps and c.kind in ERROR_KINDS
    ]
    if not found:
        return None
    step, _, c = min(found, key=lambda x: (x[0], x[1]))
    return FirstError(step=step, kind=c.kind, description=c.description)
