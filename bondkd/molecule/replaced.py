"""What a correction replaces beyond the step it supersedes (bondkd.molecule.links):
the steps computed from the superseded values, which the correction redoes, and for the
step count of stability, the steps a corrected trace has beyond its clean twin."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from bondkd.molecule.content import Content


def tainted(contents: Sequence[Content], superseded: dict[int, int]) -> dict[int, int]:
    """Steps between a superseded step and its correction that compute with the
    superseded values (the wrong chain the correction redoes) -> that correction."""
    out: dict[int, int] = {}
    for i, j in superseded.items():
        bad = set(contents[i].results) | set(contents[j].rejected)
        bad -= contents[j].values - contents[j].rejected
        for k in range(i + 1, j):
            c = contents[k]
            if bad & (c.values - c.results) or (c.results & bad):
                out.setdefault(k, j)
                bad |= c.results
    return {k: j for k, j in out.items() if k not in superseded}


def redone(
    contents: Sequence[Content],
    superseded: dict[int, int],
    computed_from: dict[int, int],
    checks: Collection[int],
    behaviour: Sequence[str | None],
) -> dict[int, int]:
    """The steps a corrected trace has beyond its clean twin -> the correction, so that it
    counts the twin's steps (`Step.redone_by`): those computed from superseded values
    (`computed_from`: their redo counts); the superseded step when its correction computes
    nothing ("I misread: 45 hens, not 54", the redo after it counts); and else the step
    right after the correction that only restates it ("Wait, 90, not 80." "The price is
    90."), unless that closes the trace. `checks`: the steps that check or correct."""
    found = dict(computed_from)
    n = len(contents)
    for i, j in superseded.items():
        k = j + 1
        if not contents[j].results:
            found[i] = j
        elif (
            k < n - 1
            and behaviour[k] is None
            and k not in checks
            and (got := contents[k].results)
            and got <= contents[j].values
        ):
            found[k] = j
    return found
