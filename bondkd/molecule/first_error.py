"""First unresolved error: the earliest step whose claim fails and that no later step
corrects (ProcessBench's "earliest error step").

Evidence, in the order it is trusted: a standing conflict (a wrong calculation, a failed
check, a value that clashes with an earlier one), then a dataflow break. A conflict
resolved by a later correction is not an error of the trace: the correction is the
behaviour we distil.
"""

from __future__ import annotations

from bondkd.schema import Conflict, FirstError, FlowIssue


def locate(conflicts: list[Conflict], flow: list[FlowIssue]) -> FirstError | None:
    found: list[tuple[int, str, str]] = []
    for c in conflicts:
        if c.resolved_by is None and c.steps:
            found.append((max(c.steps), c.kind, c.description))
    for f in flow:
        if f.step is not None and f.value > 0:
            found.append((f.step, f.kind, f.description))
    if not found:
        return None
    step, kind, description = min(found, key=lambda x: x[0])
    return FirstError(step=step, kind=kind, description=description)
