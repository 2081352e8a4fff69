"""The control socket's protocol (lab.control) with fake handlers: no lab, no root."""

import concurrent.futures
import json
import os
import socket
import stat
import threading
import time

import pytest

from lab import control, paths
from lab.errors import BadInput, LabError, Refused


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    d = tmp_path / "r"
    monkeypatch.setattr(paths, "RUN_DIR", str(d))
    (d / "ctl").mkdir(parents=True)
    return d


def serve(handlers, name="ctl", **kw):
    server = control.Server(name, handlers, topology="fake", **kw).start()
    return server


def refuse(exc):
    def handler(line):
        raise exc
    return handler


def test_a_request_gets_the_handlers_output(run_dir):
    server = serve({"oc": lambda line: f"you said {line}"})
    try:
        assert control.request("ctl", "oc", "get pods -o wide", timeout=5) == "you said get pods -o wide"
        mode = os.stat(control.socket_path("ctl")).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    finally:
        server.stop()
    assert not os.path.exists(control.socket_path("ctl"))


@pytest.mark.parametrize("exc, kind, code", [(Refused('Error from server (NotFound): pods "x" not found'), BadInput, 2),
                                             (LabError("node1: ovs-ofctl failed"), LabError, 1)])
def test_a_refusal_is_one_line_with_its_exit_code(run_dir, exc, kind, code):
    server = serve({"oc": refuse(exc)})
    try:
        with pytest.raises(kind) as raised:
            control.request("ctl", "oc", "delete pod x", timeout=5)
        assert str(raised.value) == str(exc) and raised.value.exit_code == code
    finally:
        server.stop()


def test_an_unknown_verb_and_a_bug_are_answered_not_fatal(run_dir):
    def bug(line):
        raise KeyError("oops")
    server = serve({"oc": bug, "ping": lambda line: "alive"})
    try:
        with pytest.raises(BadInput, match=r"^lab 'ctl' \(fake\) takes no `draw` requests \(it takes: oc, ping\)$"):
            control.request("ctl", "draw", "x", timeout=5)
        with pytest.raises(LabError, match=r"^KeyError: 'oops' \(traceback in .*control-errors.log\)$"):
            control.request("ctl", "oc", "get pods", timeout=5)
        assert "KeyError" in (run_dir / "ctl" / "control-errors.log").read_text()
        assert control.request("ctl", "ping", timeout=5) == "alive"  # the lab serves on
    finally:
        server.stop()


def test_garbage_is_a_bad_request(run_dir):
    server = serve({"oc": lambda line: "x"})
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(control.socket_path("ctl"))
            s.sendall(b"not json\n")
            answer = json.loads(s.makefile().readline())
        assert answer["ok"] is False and answer["exit"] == 2 and answer["error"].startswith("bad request")
    finally:
        server.stop()


def test_a_request_waits_for_the_cli_command_under_way(run_dir):
    order = []
    server = serve({"oc": lambda line: order.append("request") or "done"})
    try:
        with control.COMMANDS:  # the CLI runs a command
            answers = []
            t = threading.Thread(target=lambda: answers.append(control.request("ctl", "oc", "get pods", timeout=5)))
            t.start()
            time.sleep(0.3)
            order.append("cli done")
        t.join(timeout=5)
        assert answers == ["done"] and order == ["cli done", "request"]
    finally:
        server.stop()


def test_a_cli_command_that_runs_on_is_the_lab_is_busy(run_dir, monkeypatch):
    monkeypatch.setattr(control, "BUSY_S", 0.3)
    ran = []
    server = serve({"oc": lambda line: ran.append(line) or "x"})
    try:
        with control.COMMANDS:
            with pytest.raises(LabError, match=r"^the lab is busy"):
                control.request("ctl", "oc", "get pods", timeout=5)
        assert ran == []
    finally:
        server.stop()


def test_stop_does_not_wait_for_a_stuck_request(run_dir, monkeypatch):
    monkeypatch.setattr(control, "STOP_WAIT_S", 0.2)
    started = threading.Event()
    server = serve({"oc": lambda line: started.set() or time.sleep(3) or "late"})
    answers = []

    def ask():
        try:
            answers.append(control.request("ctl", "oc", "x", timeout=5))
        except LabError as exc:
            answers.append(exc)
    t = threading.Thread(target=ask, daemon=True)
    t.start()
    assert started.wait(5)
    t0 = time.monotonic()
    server.stop()
    assert time.monotonic() - t0 < 1.5
    assert not os.path.exists(control.socket_path("ctl"))
    t.join(timeout=5)
    assert answers == ["late"]  # the request under way still got its answer


def test_a_lab_that_is_not_running_is_one_line(run_dir):
    with pytest.raises(BadInput, match=r"^lab 'ctl' is not running \(`lab ps` lists the labs\)$"):
        control.request("ctl", "oc", "get pods", timeout=2)
    # a socket left by a lab killed with -9: nobody listens
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(control.socket_path("ctl"))
    with pytest.raises(BadInput, match=r"is not running"):
        control.request("ctl", "oc", "get pods", timeout=2)


def test_lab_oc_command_line(run_dir, capsys):
    from lab.front.cli import main
    assert main(["oc", "--name", "ctl"]) == 2
    assert "usage: lab oc [--name LAB] ARGS..." in capsys.readouterr().err
    assert main(["oc", "--name", "ctl", "get", "pods"]) == 2
    err = capsys.readouterr().err
    assert err == "lab: error: lab 'ctl' is not running (`lab ps` lists the labs)\n"
    seen = []
    server = serve({"oc": lambda line: seen.append(line) or "NAME  READY\npod1  1/1\n"})
    try:
        assert main(["oc", "--name=ctl", "label", "pod", "web", "app=web shop", "-n", "p1"]) == 0
        assert capsys.readouterr().out == "NAME  READY\npod1  1/1\n"
        assert seen == ["label pod web 'app=web shop' -n p1"]  # split again as a shell splits it
    finally:
        server.stop()


def test_cli_commands_hold_the_lock_but_sh_does_not():
    from lab.front.mncli import LabCLI

    def others_can_take_it() -> bool:
        got = []

        def probe():
            ok = control.COMMANDS.acquire(timeout=0)
            got.append(ok)
            if ok:
                control.COMMANDS.release()
        t = threading.Thread(target=probe)
        t.start()
        t.join()
        return got[0]

    class Probe(LabCLI):
        def __init__(self):  # no Mininet: only onecmd's locking
            self.seen = {}
            self.line_failed = False
            self.script_line = None
            self.lastcmd = ""
            self.cmdqueue = []
            self.identchars = LabCLI.identchars

        def do_probe(self, line):
            self.seen["probe"] = others_can_take_it()

        def do_sh(self, line):
            self.seen["sh"] = others_can_take_it()

    cli = Probe()
    cli.onecmd("probe")
    cli.onecmd("sh sleep 0")
    assert cli.seen == {"probe": False, "sh": True}


def test_lab_oc_sends_file_paths_the_lab_can_open(monkeypatch, tmp_path):
    from lab.front.cli import files_from_here
    monkeypatch.chdir(tmp_path)
    assert files_from_here(["apply", "-f", "web.yaml", "-n", "p1"]) == ["apply", "-f", f"{tmp_path}/web.yaml", "-n", "p1"]
    assert files_from_here(["create", "--filename=d/x.yaml"]) == ["create", f"--filename={tmp_path}/d/x.yaml"]
    assert files_from_here(["label", "pod", "f", "-f"]) == ["label", "pod", "f", "-f"]


def raw_request(payload: bytes, timeout: float = 5) -> dict:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(control.socket_path("ctl"))
        s.sendall(payload)
        return json.loads(s.makefile().readline())


def test_a_deeply_nested_request_is_refused_and_the_server_serves_on(run_dir):
    server = serve({"ping": lambda line: "alive"})
    try:
        answer = raw_request(b"[" * 100_000 + b"\n")
        assert answer["ok"] is False and answer["exit"] == 2 and answer["error"].startswith("bad request")
        assert control.request("ctl", "ping", timeout=5) == "alive"
    finally:
        server.stop()


def test_a_request_longer_than_the_limit_is_refused(run_dir, monkeypatch):
    monkeypatch.setattr(control, "MAX_REQUEST", 1000)
    server = serve({"ping": lambda line: "alive"})
    try:
        answer = raw_request(b"x" * 5000)  # no newline: the server stops reading at the limit
        assert answer["exit"] == 2 and "longer than 1000 bytes" in answer["error"]
        with pytest.raises(BadInput, match="at most 1000"):
            control.request("ctl", "ping", "y" * 2000, timeout=5)
        assert control.request("ctl", "ping", timeout=5) == "alive"
    finally:
        server.stop()


def trickle(stop: threading.Event, every: float = 4.0):
    """A client that sends one byte every few seconds and never ends its line."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(control.socket_path("ctl"))
    while not stop.is_set():
        try:
            s.sendall(b"{")
        except OSError:
            break
        stop.wait(every)
    return s


def test_a_slow_client_holds_no_one_and_is_cut_off_at_the_deadline(run_dir, monkeypatch):
    monkeypatch.setattr(control, "READ_DEADLINE_S", 2.0)
    server = serve({"ping": lambda line: "alive"})
    stop = threading.Event()
    slow = []
    t = threading.Thread(target=lambda: slow.append(trickle(stop, every=0.5)), daemon=True)
    t.start()
    try:
        time.sleep(0.2)
        t0 = time.monotonic()
        assert control.request("ctl", "ping", timeout=5) == "alive"
        assert time.monotonic() - t0 < 1.0
        time.sleep(2.5)  # past the deadline: the slow client got its answer and was closed
        stop.set()
        t.join(timeout=5)
        slow[0].settimeout(5)
        answer = json.loads(slow[0].makefile().readline())
        assert answer["exit"] == 2 and "within 2 s" in answer["error"]
    finally:
        stop.set()
        server.stop()


def test_past_max_clients_a_new_one_hears_busy_within_a_second(run_dir):
    server = serve({"ping": lambda line: "alive"})
    stop = threading.Event()
    threads = [threading.Thread(target=trickle, args=(stop,), daemon=True) for _ in range(control.MAX_READERS)]
    try:
        for t in threads:
            t.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        with pytest.raises(LabError, match=r"^the lab is busy: 4 clients are still sending their requests; try again$"):
            control.request("ctl", "ping", timeout=5)
        assert time.monotonic() - t0 < 1.0
    finally:
        stop.set()
        server.stop()


def test_the_lab_opens_no_path_a_client_names(run_dir, tmp_path):
    from lab import sentfiles
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # no writer: opening it would hold the lab for good

    def apply(line):
        path = line.split()[-1]
        with sentfiles.open_text(path) as f:
            return f.read()
    server = serve({"oc": apply})
    try:
        t0 = time.monotonic()
        answer = raw_request(json.dumps({"verb": "oc", "line": f"apply -f {fifo}"}).encode() + b"\n")
        assert time.monotonic() - t0 < 2 and answer["ok"] is False and "not sent by the client" in answer["error"]
        manifest = tmp_path / "web.yaml"
        manifest.write_text("kind: Pod\n")
        assert control.request("ctl", "oc", f"apply -f {manifest}", timeout=5) == "kind: Pod\n"
    finally:
        server.stop()


def test_the_client_sends_what_its_f_paths_hold(tmp_path, monkeypatch):
    from lab import sentfiles
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.yaml").write_text("b")
    (tmp_path / "d" / "a.json").write_text("a")
    (tmp_path / "d" / "notes.txt").write_text("no")
    (tmp_path / "bad.yaml").write_bytes(b"\xff")
    line, files = sentfiles.collect("apply -f d --filename=bad.yaml -f missing.yaml -n p1")
    assert line == f"apply -f {tmp_path}/d --filename={tmp_path}/bad.yaml -f {tmp_path}/missing.yaml -n p1"
    assert files == {f"{tmp_path}/d": {"dir": ["a.json", "b.yaml"]}, f"{tmp_path}/d/a.json": {"text": "a"},
                     f"{tmp_path}/d/b.yaml": {"text": "b"}, f"{tmp_path}/bad.yaml": {"error": "not UTF-8 text (byte 0)"},
                     f"{tmp_path}/missing.yaml": {"error": "No such file or directory"}}


def test_manifests_of_a_request_come_from_the_client(tmp_path):
    from lab import sentfiles
    from lab.errors import BadInput as Bad
    from lab.planes.openshift.api import manifests
    d = tmp_path / "d"
    d.mkdir()
    (d / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    _line, files = sentfiles.collect(f"apply -f {d}")
    (d / "ns.yaml").write_text("garbage: [")  # the lab reads what was sent, not the file now
    with sentfiles.serving(files):
        assert [obj["metadata"]["name"] for _src, obj in manifests.load_paths([str(d)])] == ["shop"]
        with pytest.raises(Bad, match="not sent by the client"):
            manifests.load_paths([str(tmp_path / "other.yaml")])


def test_requests_waiting_for_the_cli_hold_no_readers_turn(run_dir):
    server = serve({"ping": lambda line: "alive"})
    many = control.MAX_READERS + 3
    pool = concurrent.futures.ThreadPoolExecutor(many)
    try:
        with control.COMMANDS:  # the CLI runs a command: more requests than readers wait for it, none is busy
            futures = [pool.submit(control.request, "ctl", "ping", "", 10) for _ in range(many)]
            time.sleep(1.0)
            assert not any(f.done() for f in futures)
        assert [f.result(timeout=10) for f in futures] == ["alive"] * many
    finally:
        pool.shutdown(wait=False)
        server.stop()
