"""What every checker returns: the step of a refuted claim and what the claim gets wrong."""

from __future__ import annotations

Check = tuple[int, str]  # (step, what the claim gets wrong)
