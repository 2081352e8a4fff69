"""The catalogue of exercises, in the order a course takes them: every plane's own (lab.planes), the
planes in course order."""

from __future__ import annotations

from typing import Dict

from lab import planes
from lab.errors import BadInput
from lab.workshop.exercise import Exercise

CATALOGUE: Dict[str, Exercise] = {e.id: e for plane in planes.every() for e in plane.exercises()}


def exercise(ex_id: str) -> Exercise:
    if ex_id not in CATALOGUE:
        raise BadInput(f"unknown exercise {ex_id!r} (known: {', '.join(CATALOGUE)}; see `lab workshop list`)")
    return CATALOGUE[ex_id]
