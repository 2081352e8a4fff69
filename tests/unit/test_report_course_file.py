"""The course file of `lab workshop course FILE` (lab.workshop.course.parse/load): students and exercises,
every field checked, one line saying what is wrong."""

import pytest

from lab.errors import BadInput
from lab.front import cli
from lab.workshop.course import Seat, load, parse


def test_a_course_gives_each_student_a_lab_and_an_exercise():
    c = parse({"students": ["alice", {"name": "bob", "exercise": "mtu"}], "exercises": ["flow-90", "mtu"], "lang": "zh"})
    assert list(c.seats) == [Seat("alice", "flow-90"), Seat("bob", "mtu")] and c.lang == "zh"
    moved = parse({"students": ["alice", {"name": "bob", "exercise": "mtu"}], "exercises": ["flow-90", "mtu"]}, "mtu")
    assert [s.exercise for s in moved.seats] == ["mtu", "mtu"] and moved.lang == "en"


@pytest.mark.parametrize("data, says", [
    (["alice"], "a mapping with students"),
    ({"students": ["alice"], "exercises": ["flow-90"], "teacher": "x"}, "unknown field(s) teacher"),
    ({"students": "alice", "exercises": ["flow-90"]}, "students: a non-empty list"),
    ({"students": [], "exercises": ["flow-90"]}, "students: a non-empty list"),
    ({"students": [3], "exercises": ["flow-90"]}, "students[1]: 3 is not a name"),
    ({"students": ["Alice"], "exercises": ["flow-90"]}, "students[1]: 'Alice' is not a valid lab name"),
    ({"students": ["averyveryverylongname"], "exercises": ["flow-90"]}, "is not a valid lab name"),
    ({"students": ["alice", "alice"], "exercises": ["flow-90"]}, "'alice' listed twice"),
    ({"students": [{"name": "bob", "exercise": "mtu"}], "exercises": ["flow-90"]}, "exercise 'mtu' is not one of"),
    ({"students": [{"name": "bob", "seat": 2}], "exercises": ["flow-90"]}, "students[1]: unknown field(s) seat"),
    ({"students": ["alice"], "exercises": "flow-90"}, "exercises: a non-empty list"),
    ({"students": ["alice"], "exercises": [90]}, "exercises: a non-empty list"),
    ({"students": ["alice"], "exercises": ["flow-99"]}, "unknown exercise 'flow-99'"),
    ({"students": ["alice"], "exercises": ["mtu", "mtu"]}, "mtu listed twice"),
    ({"students": ["alice"], "exercises": ["mtu"], "lang": "fr"}, "lang: 'fr' is not one of en, zh"),
    ({"students": ["alice"], "exercises": ["mtu"], "lang": 1}, "lang: 1 is not one of"),
])
def test_a_bad_course_file_is_one_clear_line(data, says):
    with pytest.raises(BadInput) as e:
        parse(data, where="c.yaml")
    assert says in str(e.value) and str(e.value).startswith("c.yaml: ") and "\n" not in str(e.value)


def test_in_a_chinese_course_the_errors_are_chinese():
    with pytest.raises(BadInput, match="students：'alice' 重复列出"):
        parse({"students": ["alice", "alice"], "exercises": ["flow-90"], "lang": "zh"})
    with pytest.raises(BadInput, match="exercises：未知练习 'x'"):
        parse({"students": ["alice"], "exercises": ["x"]}, lang_hint="zh")


def test_exercise_flag_must_be_the_courses(tmp_path):
    with pytest.raises(BadInput, match="--exercise flow-90: not one of the course's exercises"):
        parse({"students": ["alice"], "exercises": ["mtu"]}, "flow-90")


def test_course_file_from_disk(tmp_path, capsys):
    f = tmp_path / "c.yaml"
    f.write_text("students: [alice, bob]\nexercises: [flow-90]\n")
    assert [s.student for s in load(str(f)).seats] == ["alice", "bob"]
    f.write_text("students: [alice\n")
    with pytest.raises(BadInput, match="not YAML"):
        load(str(f))
    f.write_text("students: [alice, alice]\nexercises: [flow-90]\n")
    assert cli.main(["workshop", "course", str(f)]) == 2  # before anything is started, root or not
    assert "'alice' listed twice" in capsys.readouterr().err
