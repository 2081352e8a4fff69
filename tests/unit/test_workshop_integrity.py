"""Integrity without a lab: the journal (0600, appended, counted), hints counted from it across resets, the
grade's record in the table, JSON and JUnit, both languages aligned, no fault verb and no solve in a workshop
lab's CLI; stages with a stand-in lab (checkpoints are the real-lab tests' part)."""

import json
import os
import stat
import types
import xml.etree.ElementTree as ET

import pytest

from lab import paths
from lab.errors import BadInput
from lab.front import faults
from lab.workshop import checkpoint, journal, session
from lab.workshop.exercise import Criterion, Exercise, Outcome, Question, Stage, hints, text
from lab.workshop.grading import Grade, Result, format_grade, grade, junit_xml, to_json, width

NAME = "student1"


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "RUN_DIR", str(tmp_path))
    os.makedirs(tmp_path / NAME)
    return tmp_path / NAME


class FakeLab:
    name = NAME

    def __init__(self, state):
        self.state = state  # what the stand-in "kernel" has: criterion name -> passes
        self.record = {"exercise": "staged", "lang": "en", "hints_shown": 0, "answers": {}, "stage": 0}

    @property
    def answers(self):
        return self.record["answers"]

    def save(self):
        with paths.open_private(os.path.join(paths.run_dir(NAME), "workshop.json")) as f:
            json.dump(self.record, f)


def holds(key: str) -> Criterion:
    return Criterion(text(f"{key} holds", f"{key} 成立"), lambda lab: Outcome(lab.state.get(key, False), key))


STAGED = Exercise(
    "staged", "openshift", (), 5, text("Staged", "分阶段"), text("do both", "两步都做"),
    hints(["a", "b", "c"], ["甲", "乙", "丙"]),
    stages=(Stage(text("find", "查找"), text("find the table", "找到流表"),
                  questions=(Question("table", text("table", "表"), lambda lab: "90"),)),
            Stage(text("fix", "修复"), text("fix it", "修好它"), criteria=(holds("fixed"),),
                  solve=lambda lab: lab.state.update(fixed=True))))


@pytest.fixture
def fake(run_dir, monkeypatch):
    lab = FakeLab({})
    lab.save()
    monkeypatch.setattr(session, "opened", lambda name: (lab, STAGED))
    taken = [0]  # begin took stage 1's
    monkeypatch.setattr(checkpoint, "take", lambda lab, stage=0: taken.append(stage) or {"time": 0, "hosts": {}})
    monkeypatch.setattr(checkpoint, "load", lambda name, stage=0: {"time": 0, "hosts": {}} if stage in taken else None)
    monkeypatch.setattr(checkpoint, "restore", lambda lab, cp: ([], []))
    lab.taken = taken
    return lab


def test_the_journal_is_private_appended_and_counted(run_dir):
    journal.note(NAME, "hint", n=1)
    journal.note(NAME, "fault-status", fault="")
    journal.note(NAME, "solve", stage=0)
    path = journal.journal_path(NAME)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.chmod(path, 0o644)  # someone loosened it: the next entry makes it 0600 again
    journal.note(NAME, "hint", n=2)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    events = journal.events(NAME)
    assert [e["event"] for e in events] == ["hint", "fault-status", "solve", "hint"]
    assert all(e["time"] > 0 and e["uid"] == os.getuid() for e in events)
    counts = journal.summary(NAME)
    assert (counts["hint"], counts["solve"], journal.teacher_faults(counts)) == (2, 1, 1)


def test_reset_does_not_set_the_hint_count_back(fake):
    assert session.next_hint(NAME) == "hint 1/3: a"
    assert session.next_hint(NAME) == "hint 2/3: b"
    fake.record["hints_shown"] = 0  # what main's reset did (and what a student could write in the record)
    session.reset(NAME)
    assert session.next_hint(NAME) == "hint 3/3: c"
    assert journal.summary(NAME)["hint"] == 3 and journal.summary(NAME)["reset"] == 1


def test_stage_next_only_when_the_stage_passes_then_a_checkpoint(fake):
    assert "stage 1/2: find" in session.stage_text(NAME)
    with pytest.raises(BadInput, match="stage 1 of staged is not done yet"):
        session.advance(NAME)
    session.answer(NAME, "table", "90")
    assert "on to stage 2/2: fix" in session.advance(NAME)
    assert fake.taken == [0, 1] and session.current_stage(NAME) == 1 and fake.answers == {}
    g = session.check(NAME)
    assert (g.stage, g.stages, g.stage_title, g.passed) == (1, 2, "fix", False)
    assert format_grade(g).splitlines()[0] == "stage 2/2: fix"
    with pytest.raises(BadInput, match="last one"):
        session.advance(NAME)
    session.solve(NAME)
    assert session.check(NAME).passed
    assert "reset to stage 1" in session.reset(NAME, 1) and session.current_stage(NAME) == 0
    with pytest.raises(BadInput, match="stage 3 has not been reached"):
        session.reset(NAME, 3)
    kinds = [(e["event"], e.get("stage")) for e in journal.events(NAME) if e["event"] in ("stage", "reset", "solve")]
    assert kinds == [("stage", 1), ("solve", 1), ("reset", 0)]


def test_the_cli_verbs_have_stage_and_reset_stage_but_no_solve(fake, capsys):
    verbs = session.cli_verbs(NAME)
    assert {"task", "hint", "answer", "check", "stage", "reset"} == set(verbs) and "solve" not in verbs
    verbs["stage"][0]("")
    assert "stage 1/2" in capsys.readouterr().out
    with pytest.raises(Exception, match=r"usage: stage \[next\]"):
        verbs["stage"][0]("jump")
    with pytest.raises(Exception, match=r"usage: reset \[--stage N\]"):
        verbs["reset"][0]("--stage two")
    assert "stage [next] | reset [--stage N]" in session.task_text(STAGED, "en", NAME)


def test_a_workshop_labs_cli_has_no_fault_verb_that_works(fake, capsys):
    net = types.SimpleNamespace(name=NAME)
    do_fault, helptext = faults.fault_verb(net)["fault"]
    assert "not in a workshop lab" in helptext
    for line in ("status", "repair --all", "list", "repair masquerade", ""):
        with pytest.raises(BadInput, match="not part of a workshop lab's CLI"):
            do_fault(line)
    fake.record["lang"] = "zh"
    fake.save()
    with pytest.raises(BadInput, match="练习实验的命令行不提供"):
        do_fault("status")
    assert capsys.readouterr().out == ""


def zh_grade() -> Grade:
    return Grade("alice", "mtu", [Result("pod1 能 ping 通 pod2（1400 字节负载）", True, "answered", 0.1),
                                   Result("answer mtu", False, "'1500': 与实验环境不符", 0.0)],
                 journal={"hint": 2, "reset": 1, "solve": 1, "fault-inject": 1, "fault-status": 1},
                 stage=1, stages=3, stage_title="修复", lang="zh")


def test_the_grade_shows_the_record_in_both_languages_aligned_for_wide_characters():
    out = format_grade(zh_grade()).splitlines()
    assert out[0] == "阶段 2/3：修复"
    table = out[1:4]
    assert table[0].split() == ["结果", "评分项", "观察到"]
    seen_at = [width(row[:row.index(cell)]) for row, cell in zip(table, ("观察到", "answered", "'1500'"), strict=True)]
    assert len(set(seen_at)) == 1, table  # the SEEN column starts at the same terminal column in every row
    assert out[4] == "得分 1/2" and out[5] == "记录：已用提示 2 次，重置 1 次，参考答案 1 次，教师故障命令 2 次"
    en = Grade("bob", "mtu", zh_grade().results, journal={"hint": 1})
    assert format_grade(en).splitlines()[-1] == ("record: hints used 1, resets 0, reference solutions 0, "
                                                  "teacher fault commands 0")


def test_json_and_junit_carry_hints_resets_solves_and_fault_commands():
    lab = to_json([zh_grade()])["labs"][0]
    assert (lab["hints"], lab["resets"], lab["solves"], lab["fault_commands"], lab["stage"], lab["stages"]) == \
        (2, 1, 1, 2, 2, 3)
    suite = ET.fromstring(junit_xml([zh_grade()])).find("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props == {"hints": "2", "resets": "1", "solves": "1", "fault_commands": "2", "stage": "2", "stages": "3"}


def test_grade_of_a_stage_names_it():
    lab = FakeLab({})
    lab.record["answers"] = {"table": "90"}
    g = grade(lab, STAGED, "zh", 0)
    assert (g.stage_title, g.stages, g.passed) == ("查找", 2, True)


def test_every_message_of_a_session_and_a_grade_exists_in_english_and_chinese():
    import re

    from lab.workshop.grading import WORDS
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for table in (session.MESSAGES, WORDS):
        assert set(table["en"]) == set(table["zh"])
        for key, zh in table["zh"].items():
            en = table["en"][key]
            assert set(re.findall(r"{(\w+)", str(en))) == set(re.findall(r"{(\w+)", str(zh))), key
            assert cjk.search(str(zh)), key
