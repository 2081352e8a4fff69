"""The wrong-fix catalogues without a lab: every exercise has one, its answers name real questions, every
question gets a wrong answer in verify (the catalogue's or a generated one); and the helpers the
catalogue-split verify tests (test_verify_part*.py) share."""

import subprocess
import sys

import pytest

from lab import paths
from lab.cleanup import leftovers
from lab.workshop.catalogue import CATALOGUE
from lab.workshop.verify import catalogue_answers, ids_in, wrong_value

pytestmark = pytest.mark.rootless
PARTS = 4  # test_verify_part0..3.py: pytest-xdist (--dist loadfile) spreads the files over its workers


def part(k: int) -> list:
    """Every PARTS-th exercise of the catalogue from the k-th: whatever the catalogue holds when merged."""
    return [ex_id for i, ex_id in enumerate(CATALOGUE) if i % PARTS == k]


def verify_cli(ex_id: str, suffix: str, timeout: float = 600) -> str:
    """`lab workshop verify EX` as a teacher runs it; asserts it passed and left nothing; its output."""
    name = (paths.lab_name()[:8] + suffix)[:12]
    try:
        r = subprocess.run([sys.executable, "-m", "lab", "workshop", "verify", ex_id, "--name", name],
                           capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    finally:
        subprocess.run([sys.executable, "-m", "lab", "clean", name], capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert ids_in(r.stdout) == {ex_id: True}, r.stdout
    fixes = [ln for ln in r.stdout.splitlines() if ln.startswith(f"PASS  {ex_id} ~ ")]
    assert len(fixes) == len(CATALOGUE[ex_id].wrong_fixes) >= 1, r.stdout
    assert not any(leftovers(name).values())
    return r.stdout


def _questions(ex):
    return [q for st in ex.stages for q in st.questions] + list(ex.questions)


def test_the_parts_cover_the_catalogue_once():
    assert sorted(sum((part(k) for k in range(PARTS)), [])) == sorted(CATALOGUE)


@pytest.mark.parametrize("ex", CATALOGUE.values(), ids=list(CATALOGUE))
def test_every_exercise_has_a_catalogue_of_wrong_fixes(ex):
    assert len(ex.wrong_fixes) >= 1, f"{ex.id}: no wrong fixes for verify to try"
    names = [wf.name for wf in ex.wrong_fixes]
    assert len(set(names)) == len(names), f"{ex.id}: two wrong fixes named alike"
    keys = {q.key for q in _questions(ex)}
    for wf in ex.wrong_fixes:
        assert callable(wf.apply)
        for key, value in wf.answers:
            assert key in keys, f"{ex.id} ~ {wf.name}: answers {key!r}, not a question of the exercise"
            assert value.strip(), f"{ex.id} ~ {wf.name}: an empty answer is not a wrong answer"


@pytest.mark.parametrize("ex", CATALOGUE.values(), ids=list(CATALOGUE))
def test_every_question_is_answered_wrongly_in_verify(ex):
    """From the catalogue, else generated from the truth seen on the lab (wrong_value): never left empty."""
    given = catalogue_answers(ex)
    for q in _questions(ex):
        if q.key in given:
            continue
        for truth in ("0,20,21,30,70,80", "10.128.0.2", "veth1a2b3c4d", "KUBE-SVC-ABC", "container:3f9a", "4", ""):
            if not q.normalize(truth):
                continue  # not a value this question's truth can take (digits only, say)
            wrong = wrong_value(truth)
            assert wrong.strip() and q.normalize(wrong) != q.normalize(truth), (ex.id, q.key, truth, wrong)


def test_wrong_values_differ_after_normalising():
    assert wrong_value("0,20,21") == "0,20,22"
    assert wrong_value("172.16.1.19") == "172.16.1.10"
    assert wrong_value("KUBE-SVC-ABC") == "KUBE-SVC-ABC not-this"
    assert wrong_value("").strip()


def test_a_staged_exercise_keeps_its_questions_and_criteria_in_its_stages():
    staged = [ex for ex in CATALOGUE.values() if ex.stages]
    assert "flannel-fdb" in [ex.id for ex in staged]
    for ex in staged:
        assert not ex.questions and not ex.criteria, ex.id
        assert all(st.questions or st.criteria for st in ex.stages), ex.id
