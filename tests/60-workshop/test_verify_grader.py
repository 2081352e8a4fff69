"""verify itself catches a bad grader, on a real lab (vxlan-p2p, under a second to build): a criterion
that always passes, a question whose check accepts anything, a wrong fix the criteria cannot tell from
the solution. The fake exercises are the real vxlan-by-hand with one thing spoiled."""

import dataclasses

import pytest

from lab import paths
from lab.cleanup import leftovers
from lab.workshop.catalogue import CATALOGUE
from lab.workshop.exercise import Criterion, Outcome, Question, WrongFix, text
from lab.workshop.verify import verify_exercise

pytestmark = pytest.mark.root
BY_HAND = CATALOGUE["vxlan-by-hand"]


def verify_fake(monkeypatch, **changes):
    """verify the exercise with `changes`, registered in the catalogue for the run (the lab's record names it)."""
    ex = dataclasses.replace(BY_HAND, **changes)
    monkeypatch.setitem(CATALOGUE, ex.id, ex)
    name = (paths.lab_name()[:8] + "vg")[:12]
    lines = verify_exercise(ex, name)
    for ln in lines:
        print(ln)
    assert not any(leftovers(name).values())
    return lines


def test_the_real_grader_passes(monkeypatch):
    lines = verify_fake(monkeypatch, id="fake-real", wrong_fixes=BY_HAND.wrong_fixes[:1])
    assert [ln.ok for ln in lines] == [True, True], lines


def test_a_criterion_that_always_passes_fails_verify(monkeypatch):
    always = Criterion(text("the overlay works", "覆盖网络正常"), lambda lab: Outcome(True, "nothing observed"))
    start, _fix = verify_fake(monkeypatch, id="fake-always", criteria=BY_HAND.criteria + (always,),
                              wrong_fixes=BY_HAND.wrong_fixes[:1])
    assert not start.ok and "passes at its start: the overlay works" in start.why, start
    assert "after reset still passing: the overlay works" in start.why


def test_a_question_that_accepts_anything_fails_verify(monkeypatch):
    """Answered wrongly in verify (a generated value), never left empty: a check that accepts any text shows."""
    vni = Question("vni", text("the VNI", "VNI"), lambda lab: "20", normalize=lambda s: "")
    start, _fix = verify_fake(monkeypatch, id="fake-anything", questions=(vni,), wrong_fixes=BY_HAND.wrong_fixes[:1])
    assert not start.ok and "passes at its start: answer vni" in start.why, start


def test_a_wrong_fix_that_passes_every_criterion_fails_verify(monkeypatch):
    """The catalogue says this fix is wrong; the criteria see nothing wrong with it (only the links and
    the pings are checked, not the VNI on the wire): verify names it."""
    blind = tuple(c for c in BY_HAND.criteria if "capture" not in c.name["en"])
    decoy = next(wf for wf in BY_HAND.wrong_fixes if "vni-21" in wf.name)
    start, fix = verify_fake(monkeypatch, id="fake-blind", criteria=blind, wrong_fixes=(decoy,))
    assert start.ok, start
    assert not fix.ok and fix.wrong_fix == decoy.name and "NOT caught" in fix.why, fix


def test_a_solution_offered_as_a_wrong_fix_fails_verify(monkeypatch):
    lines = verify_fake(monkeypatch, id="fake-solution", wrong_fixes=(WrongFix("the-solution-itself", BY_HAND.solve),))
    assert lines[0].ok and not lines[1].ok and "NOT caught" in lines[1].why, lines
