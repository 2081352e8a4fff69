"""The catalogue of exercises, in the order a course takes them."""

from __future__ import annotations

from typing import Dict

from lab.errors import BadInput
from lab.workshop.exercise import Exercise
from lab.planes.openshift.exercises import egress as openshift_egress, faults as openshift_faults, live as openshift_live, paths as openshift_paths
from lab.planes.flannel import exercises as overlays

CATALOGUE: Dict[str, Exercise] = {e.id: e for e in (
    openshift_paths.EXERCISES + openshift_faults.EXERCISES + openshift_live.EXERCISES + openshift_egress.EXERCISES
    + overlays.EXERCISES)}


def exercise(ex_id: str) -> Exercise:
    if ex_id not in CATALOGUE:
        raise BadInput(f"unknown exercise {ex_id!r} (known: {', '.join(CATALOGUE)}; see `lab workshop list`)")
    return CATALOGUE[ex_id]
