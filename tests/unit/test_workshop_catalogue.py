"""The workshop without a lab: the catalogue (texts in both languages, functions), grading with a
stand-in lab, the JSON and JUnit writers, `lab workshop` mistakes, `lab draw -f` (no root)."""

import json
import re
import xml.etree.ElementTree as ET

import pytest

import topologies
from lab import planes
from lab.front import cli
from lab.run import run_parser
from lab.workshop import session
from lab.workshop.catalogue import CATALOGUE
from lab.workshop.command import _run_args
from lab.workshop.exercise import Criterion, Exercise, Outcome, Question, hints, text
from lab.workshop.grading import Grade, Result, format_grade, grade, junit_xml, to_json, write_json, write_junit

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_at_least_fifteen_exercises_with_unique_ids():
    assert len(CATALOGUE) >= 15
    assert all(re.fullmatch(r"[a-z0-9-]+", ex_id) for ex_id in CATALOGUE)


@pytest.mark.parametrize("ex", CATALOGUE.values(), ids=list(CATALOGUE))
def test_every_exercise_speaks_english_and_chinese(ex):
    for what in ("title", "task"):
        assert getattr(ex, what)["en"].strip() and not CJK.search(getattr(ex, what)["en"])
        assert CJK.search(getattr(ex, what)["zh"]), f"{ex.id}: {what} has no Chinese text"
    assert len(ex.hints["en"]) == len(ex.hints["zh"]) >= 2, f"{ex.id}: hints in both languages, progressive"
    assert any(CJK.search(h) for h in ex.hints["zh"])  # a hint may be just the command
    # a staged exercise keeps its questions and criteria in its stages, each stage's task says how to answer
    for stage in range(max(1, len(ex.stages))):
        for q in ex.questions_at(stage):
            assert q.text["en"] and CJK.search(q.text["zh"]) and callable(q.truth)
            assert f"answer {q.key}" in ex.task_at(stage, "en"), f"{ex.id}: the task tells how to answer {q.key}"
        for c in ex.criteria_at(stage):
            assert c.name["en"] and CJK.search(c.name["zh"]) and callable(c.observe)
        assert ex.questions_at(stage) or ex.criteria_at(stage), f"{ex.id} (stage {stage + 1}) grades nothing"
    if ex.stages:
        assert not ex.questions and not ex.criteria, f"{ex.id}: a staged exercise grades in its stages only"
        assert all(CJK.search(st.title["zh"]) and CJK.search(st.task["zh"]) for st in ex.stages)
    assert callable(ex.setup) and callable(ex.solve)
    assert ex.minutes > 0


@pytest.mark.parametrize("ex", CATALOGUE.values(), ids=list(CATALOGUE))
def test_every_exercise_lab_is_a_valid_small_lab(ex):
    topology = topologies.load(ex.topology)
    args = run_parser(topology).parse_args(_run_args(ex, "wsunit")[1:])
    assert args.no_checks  # the lab starts broken or unanswered: its own checks would only say so
    model = topology.model(args)  # pure: validates without root
    if hasattr(args, "nodes"):
        assert args.nodes == 2 and args.pods_per_node <= 2
    assert model is not None


def test_every_break_fix_exercise_uses_known_faults():
    from lab.front.faults import every_fault
    faults = every_fault()
    assert "vnid" in faults and faults["vnid"][1] == ["openshift"]
    assert len(faults) >= 10
    for ex in CATALOGUE.values():  # a break/fix exercise's faults belong to its topology's plane
        plane = planes.get(topologies.load(ex.topology).plane)
        assert plane.exercises().count(ex) == 1


class StandIn:
    """What grading reads of a lab: its name and the typed answers."""

    name = "student1"

    def __init__(self, answers):
        self.answers = answers


def boom(lab):
    raise RuntimeError("ovs-vsctl: unix:/x/db.sock: database connection failed\n(No such file)")


EX = Exercise("demo", "openshift", (), 5, text("Demo", "演示"), text("answer port N", "作答"),
              hints(["a", "b"], ["甲", "乙"]),
              questions=(Question("port", text("port", "端口"), lambda lab: "3", lambda s: s.strip()),
                         Question("veth", text("veth", "veth"), lambda lab: "veth1")),
              criteria=(Criterion(text("pod1 reaches pod2", "pod1 能 ping 通 pod2"), lambda lab: Outcome(True, "answered")),
                        Criterion(text("broken lab", "坏了"), boom)))


def test_grading_compares_answers_with_the_lab_and_never_crashes():
    g = grade(StandIn({"port": " 3 "}), EX)
    rows = {r.criterion: r for r in g.results}
    assert rows["answer port"].ok and "matches the lab" in rows["answer port"].seen
    assert not rows["answer veth"].ok and "not answered" in rows["answer veth"].seen
    assert rows["pod1 reaches pod2"].ok
    assert not rows["broken lab"].ok and "could not observe" in rows["broken lab"].seen
    assert "\n" not in rows["broken lab"].seen
    assert (g.score, g.total, g.passed) == (2, 4, False)
    wrong = grade(StandIn({"port": "4", "veth": "veth1"}), EX)
    seen = {r.criterion: r.seen for r in wrong.results}
    assert "does not match" in seen["answer port"] and "3" not in seen["answer port"].split(":")[1]  # truth not shown
    zh = grade(StandIn({}), EX, "zh")
    assert "pod1 能 ping 通 pod2" in [r.criterion for r in zh.results]


def test_check_prints_a_table_and_a_score():
    out = format_grade(grade(StandIn({"port": "3", "veth": "veth1"}), EX))
    lines = out.splitlines()
    assert lines[0].split() == ["RESULT", "CRITERION", "SEEN"]
    assert sum(line.startswith("PASS") for line in lines) == 3 and sum(line.startswith("FAIL") for line in lines) == 1
    assert lines[-1] == "score 3/4"


GRADES = [Grade("alice", "flow-90", [Result("pod1 reaches pod2", True, "answered", 0.5),
                                     Result("answer table", False, "'80': does not match the lab", 0.01)]),
          Grade("bob", "flow-90", [Result("pod1 reaches pod2", True, "answered", 0.4)])]


def test_json_results(tmp_path):
    path = tmp_path / "r.json"
    write_json(GRADES, str(path))
    data = json.loads(path.read_text())
    assert data == to_json(GRADES)
    alice, bob = data["labs"]
    assert (alice["lab"], alice["score"], alice["total"], alice["passed"]) == ("alice", 1, 2, False)
    assert bob["passed"] and bob["results"][0]["criterion"] == "pod1 reaches pod2"


def test_junit_is_valid_xml_a_suite_per_lab_a_case_per_criterion(tmp_path):
    path = tmp_path / "r.xml"
    write_junit(GRADES, str(path))
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "3" and root.get("failures") == "1"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["alice.flow-90", "bob.flow-90"]
    assert [(s.get("tests"), s.get("failures")) for s in suites] == [("2", "1"), ("1", "0")]
    failed = suites[0].findall("testcase")[1]
    assert failed.get("name") == "answer table" and failed.find("failure").get("message").startswith("'80'")
    assert junit_xml(GRADES).startswith(b"<?xml")


def test_list_in_both_languages(capsys):
    assert cli.main(["workshop", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ID", "TITLE", "TOPOLOGY", "MINUTES"] and len(out) == len(CATALOGUE) + 1
    assert cli.main(["workshop", "list", "--lang", "zh"]) == 0
    zh = capsys.readouterr().out
    assert CJK.search(zh) and all(ex_id in zh for ex_id in CATALOGUE)


def test_mistakes_are_one_line_and_exit_2(capsys):
    assert cli.main(["workshop"]) == 2
    assert cli.main(["workshop", "teach"]) == 2
    assert cli.main(["workshop", "list", "--lang", "fr"]) == 2
    assert cli.main(["workshop", "start", "no-such-exercise"]) == 2
    assert cli.main(["workshop", "verify", "no-such-exercise"]) == 2
    assert cli.main(["workshop", "check", "--name", "Bad_Name"]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln]
    assert len(err) == 5 and all(ln.startswith("lab: error: ") for ln in err), err


class FakeLab:
    name = "student1"

    def __init__(self):
        self.record = {"exercise": "demo", "lang": "en", "hints_shown": 0, "answers": {}}
        self.saved = 0

    @property
    def answers(self):
        return self.record["answers"]

    def save(self):
        self.saved += 1


@pytest.fixture
def fake(monkeypatch):
    lab = FakeLab()
    monkeypatch.setattr(session, "opened", lambda name: (lab, EX))
    return lab


def test_hints_are_progressive_then_all_of_them(fake):
    assert session.next_hint("student1") == "hint 1/2: a"
    assert session.next_hint("student1") == "hint 2/2: b"
    last = session.next_hint("student1")
    assert last.startswith("no more hints") and "1. a" in last and "2. b" in last
    assert fake.record["hints_shown"] == 2


def test_answers_are_recorded_for_check_and_unknown_questions_refused(fake):
    assert "recorded port = 3" in session.answer("student1", "port", " 3 ")
    assert fake.record["answers"] == {"port": "3"} and fake.saved == 1
    with pytest.raises(Exception, match="no question 'ofport'.*port, veth"):
        session.answer("student1", "ofport", "3")


def test_solve_answers_every_question_from_the_lab(fake):
    session.solve("student1")
    assert fake.record["answers"] == {"port": "3", "veth": "veth1"}


def test_task_text_lists_the_questions(fake):
    t = session.task_text(EX, "zh", "student1")
    assert t.startswith("=== demo: 演示") and "answer port VALUE   端口" in t


def test_draw_a_topology_with_manifests_without_root(tmp_path):
    import shutil
    if not shutil.which("dot"):
        pytest.skip("graphviz (dot) is not installed")
    from lab.planes.openshift.exercises.paths import WEB as web
    out = tmp_path / "web.svg"
    assert cli.main(["draw", "openshift", "-f", web, "--pods-per-node", "1", "-o", str(out)]) == 0
    svg = out.read_text()
    ET.fromstring(svg.encode())
    assert all(name in svg for name in ("node1", "node2", "pod1", "pod2", "web"))


def test_handouts_embed_a_picture_of_the_exercise_lab(tmp_path, capsys):
    import shutil
    if not shutil.which("dot"):
        pytest.skip("graphviz (dot) is not installed")
    assert cli.main(["workshop", "handout", "flow-90", "etcd-restore", "--lang", "zh", "-o", str(tmp_path)]) == 0
    page = (tmp_path / "flow-90.md").read_text()
    assert page.startswith("# 到某节点子网的流丢失（表 90）") and "![openshift](flow-90.svg)" in page
    assert "`answer table VALUE`" in page and "<details>" in page
    assert "sudo lab workshop start flow-90 --name <your name> --lang zh" in page
    svg = (tmp_path / "flow-90.svg").read_text()
    ET.fromstring(svg.encode())
    assert all(n in svg for n in ("node1", "node2", "pod1", "pod2"))
    assert "{lab_dir}" not in (tmp_path / "etcd-restore.md").read_text()


class ModelLab:
    """What the live-change exercises' setup and solve touch: the API state and `oc`, on a model alone."""

    name = "wsunit"

    def __init__(self, cluster):
        self.cluster, self.lines = cluster, []

    @property
    def api(self):
        from lab.planes.openshift.api import apistate
        return apistate.snapshot(self.cluster)

    def oc(self, line):
        from lab.planes.openshift.oc import command as occmd
        self.lines.append(line)
        outcome = occmd.run(self.cluster, line)
        if outcome.cluster is not None:
            self.cluster = outcome.cluster
        return outcome.output

    def ask(self, verb, line):  # the lab's CLI verbs, as ExerciseLab.ask reaches them
        return {"oc": self.oc, "api": lambda _line: json.dumps(self.api)}[verb](line)


def model_lab(ex_id):
    ex = CATALOGUE[ex_id]
    topology = topologies.load(ex.topology)
    return ex, ModelLab(topology.model(run_parser(topology).parse_args(_run_args(ex, "wsunit")[1:])))


@pytest.mark.parametrize("ex_id, fact", [
    ("join-projects", lambda api: api["netnamespaces"]["p1"] == api["netnamespaces"]["p2"]),
    ("global-project", lambda api: api["netnamespaces"]["monitoring"] == 0),
    ("networkpolicy-one-app", lambda api: {"namespace": "shop", "name": "allow-frontend"} in api["networkpolicies"]),
    ("service-endpoints-by-label", lambda api: next(s for s in api["services"] if s["name"] == "web")["endpoints"]
     == ["web"]),
])
def test_live_change_exercises_start_solve_and_reset_with_oc_lines(ex_id, fact):
    """At start the setup has nothing to undo; the solution is an `oc` line that makes the fact true; the
    setup run again (reset) makes it false with `oc` lines of its own."""
    ex, lab = model_lab(ex_id)
    ex.setup(lab)
    assert lab.lines == [] and not fact(lab.api)
    ex.solve(lab)
    assert len(lab.lines) == 1 and fact(lab.api), lab.lines
    ex.setup(lab)
    assert len(lab.lines) > 1 and not fact(lab.api), lab.lines


def test_the_reference_policy_allows_frontend_only_on_8080():
    from lab.planes.openshift import live
    from lab.planes.openshift.exercises.live import ALLOW_FRONTEND
    _ex, lab = model_lab("networkpolicy-one-app")
    c = lab.cluster
    change = live.preview(c, f"oc apply -f {ALLOW_FRONTEND}")
    added, removed = change.flows("node2")
    web, frontend, other = (c.pod(n).ip for n in ("web", "frontend", "other"))
    assert removed == set() and len(added) == 1
    flow = added.pop()
    assert f"reg1={c.netids['shop']}" in flow and f"nw_src={frontend}" in flow and f"nw_dst={web}" in flow
    assert "tp_dst=8080" in flow and other not in flow


def test_oc_steps_outside_the_lab_process_ask_its_control_socket(tmp_path, monkeypatch):
    from lab import paths
    from lab.errors import BadInput
    from lab.workshop.live import ExerciseLab
    monkeypatch.setattr(paths, "RUN_DIR", str(tmp_path))
    lab = ExerciseLab.__new__(ExerciseLab)
    lab.name = "nobodyruns"
    with pytest.raises(BadInput, match=r"^lab 'nobodyruns' is not running \(`lab ps` lists the labs\)$"):
        lab.ask("oc", "adm pod-network join-projects --to=p1 p2")


@pytest.mark.parametrize("typed, stored", [("0x53cff1", "5492721"), (" 5492721 ", "5492721"), ("0", "0")])
def test_netid_answers_in_hex_or_decimal(typed, stored):
    from lab.planes.openshift.exercises.live import netid
    assert netid(typed) == netid(stored)


def test_reset_puts_back_what_a_student_deleted_or_relabelled():
    ex, lab = model_lab("networkpolicy-one-app")
    lab.oc("delete networkpolicy deny-all -n shop")
    lab.oc("label pod other app=frontend --overwrite -n shop")
    ex.setup(lab)
    api = lab.api
    assert [p["name"] for p in api["networkpolicies"] if p["namespace"] == "shop"] == ["deny-all"]
    assert next(p for p in api["pods"] if p["name"] == "other")["labels"] == {"app": "other"}

    ex, lab = model_lab("service-endpoints-by-label")
    lab.oc("delete svc web")
    ex.setup(lab)
    web = next(s for s in lab.api["services"] if s["name"] == "web")
    assert (web["clusterIP"], web["selector"], web["endpoints"]) == ("172.30.0.80", {"app": "web"}, [])
