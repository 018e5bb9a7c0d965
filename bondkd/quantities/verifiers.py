"""Claims a step makes that can be checked without arithmetic: a list called sorted, a
stack of brackets, the state after a swap. Each verifier returns (step, description,
right answer) for every claim it refutes; conflicts turns them into `check_failed`."""

from __future__ import annotations

from collections.abc import Sequence


def failed_checks(texts: Sequence[str]) -> list[tuple[int, str]]:
    """(step, description) of each refuted claim, in step order."""
    return []
