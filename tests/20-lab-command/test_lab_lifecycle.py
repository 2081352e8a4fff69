"""Labs side by side, signals at any moment, atomic start, and cleanup that touches only the lab's own."""

import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

from lab import paths
from lab.cleanup import leftovers, start_time

LAB = [sys.executable, "-m", "lab"]
pytestmark = pytest.mark.root


def name(suffix: str) -> str:
    """Lab names unique to this test process (the suite may run on several workers at once)."""
    return (paths.lab_name()[:8] + suffix)[:12]


def lab(*args, timeout=120):
    return subprocess.run(LAB + list(args), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


STARTED = []  # every lab process a test starts: killed and cleaned after the test, pass or fail


def start(*args, **kw):
    proc = subprocess.Popen(LAB + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL, **kw)
    proc.lab_name = args[args.index("--name") + 1] if "--name" in args else None
    STARTED.append(proc)
    return proc


@pytest.fixture(autouse=True)
def no_lab_survives_a_test():
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.lab_name:
            lab("clean", proc.lab_name)


def output(proc, timeout: float = 60) -> str:
    """Everything the lab printed, once it has exited (if it does not: where its threads are stuck)."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)  # lab.front.cli's faulthandler prints every thread's stack
        time.sleep(1)
        proc.kill()
        proc.wait()
        wait_for_line(proc, "\0never\0", timeout=5, until_eof=True)
        raise AssertionError(f"the lab did not exit within {timeout}s:\n" + "".join(proc.seen)[-6000:]) from None
    wait_for_line(proc, "\0never\0", timeout=5, until_eof=True)
    return "".join(proc.seen)


def wait_for_line(proc, marker: str, timeout: float = 60, until_eof: bool = False) -> str:
    """Read the lab's output until marker, with a deadline (a reader thread keeps the pipe drained)."""
    if not hasattr(proc, "lines"):
        proc.lines = queue.Queue()
        proc.seen = []

        def pump():
            for line in proc.stdout:
                proc.lines.put(line)
            proc.lines.put(None)
        threading.Thread(target=pump, daemon=True).start()
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = proc.lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None:
            if until_eof:
                return "".join(seen)
            raise AssertionError(f"no {marker!r} within {timeout}s: {''.join(seen)[-2000:]}")
        seen.append(line)
        proc.seen.append(line)
        if marker in line:
            return "".join(seen)


def assert_gone(lab_name: str) -> None:
    left = leftovers(lab_name)
    files = [os.path.join(r, f) for r, _d, fs in os.walk(paths.run_dir(lab_name)) for f in fs]
    assert not any(left.values()), f"lab {lab_name} left behind: {left} {files[:20]}"
    assert not os.path.exists(paths.lock_file(lab_name))


@pytest.fixture
def waiting_script(tmp_path):
    script = tmp_path / "wait.mn"
    script.write_text("sh echo SCRIPT-STARTED\nsh sleep 60\n")
    return str(script)


@pytest.mark.parametrize("topology", ["openshift", "flannel"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_at_any_moment_tears_down_and_exits_128_plus_n(topology, sig, waiting_script):
    """Sent to the whole process group, as a terminal or a supervisor does, at several moments of bring-up
    and once the script runs: never a hang, exit 128+N (or death by the signal itself while Python is
    still starting, before anything exists), and nothing left."""
    lab_name = name("sig")
    moments = [0.05, 0.15, 0.3, 0.6, "ready"]
    outcomes = []
    for moment in moments:
        proc = start("run", topology, "--name", lab_name, "--no-checks", "--script", waiting_script,
                     start_new_session=True)
        if moment == "ready":
            wait_for_line(proc, "SCRIPT-STARTED")
        else:
            time.sleep(moment)
        os.killpg(proc.pid, sig)
        out = output(proc, timeout=30)
        assert proc.returncode in (128 + sig, -sig), (moment, proc.returncode, out[-1500:])
        assert "Traceback" not in out, out
        assert_gone(lab_name)
        outcomes.append(proc.returncode)
    assert outcomes[-1] == 128 + sig  # once the lab runs, it is always the orderly exit


def test_sigint_to_the_group_at_dense_moments_of_an_openshift_bring_up_never_hangs(waiting_script):
    """Issue 14: SIGINT to the process group 0.28 s into a bring-up hung it once in 36 tries (the shells are
    started by threads while the signal lands), and a SIGINT landing while the namespaces were being bound left an
    empty /var/run/netns/<lab>-pod1 behind. Every 0.05 s from 0.1 to 1.3 s: exit within 30 s, nothing left."""
    lab_name = name("dense")
    for step in range(25):
        moment = 0.1 + 0.05 * step
        proc = start("run", "openshift", "--nodes", "2", "--pods-per-node", "1", "--name", lab_name, "--no-checks",
                     "--script", waiting_script, start_new_session=True)
        time.sleep(moment)
        os.killpg(proc.pid, signal.SIGINT)
        out = output(proc, timeout=30)  # a hang: every thread's stack (SIGUSR1) in the failure
        assert proc.returncode in (130, -signal.SIGINT), (moment, proc.returncode, out[-1500:])
        assert "Traceback" not in out, out
        assert_gone(lab_name)




def test_two_named_labs_run_side_by_side_with_the_same_addresses(tmp_path):
    a, b = name("a"), name("b")
    gate = tmp_path / "gate"
    script = tmp_path / "s.mn"
    # each lab waits until both are up, so their checks and pings run while both exist
    script.write_text(f"sh for i in $(seq 300); do [ -e {gate} ] && break; sleep 0.1; done\n"
                      "pod1 ping -c1 -W2 pod3\nsh echo DONE\n")
    first = start("run", "--name", a, "--script", str(script))
    second = start("run", "--name", b, "--script", str(script))
    try:
        for proc in (first, second):
            wait_for_line(proc, "up in")
        ps = lab("ps")
        rows = {line.split()[0]: line.split() for line in ps.stdout.splitlines()[1:]}
        assert rows[a][1:3] == ["openshift", "running"] and rows[b][1:3] == ["openshift", "running"], ps.stdout
        # same addresses, different namespaces: node1 of each lab has 172.16.1.11 and its own br0
        for n in (a, b):
            out = subprocess.run(["ip", "netns", "exec", f"{n}-node1", "ip", "-o", "-4", "addr"],
                                 capture_output=True, text=True).stdout
            assert "172.16.1.11/24" in out
        ino = {n: os.stat(f"/var/run/netns/{n}-node1").st_ino for n in (a, b)}
        assert ino[a] != ino[b]
        gate.touch()
        outs = [output(p) for p in (first, second)]
    finally:
        gate.touch()
        for p in (first, second):
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=30)
    for out, proc in zip(outs, (first, second), strict=True):
        assert proc.returncode == 0, out
        for check in ("pod -> pod", "pod -> external (NAT)", "node -> pod (tun0)"):
            assert f"PASS  {check}" in out
        assert "1 packets transmitted, 1 received" in out
    assert_gone(a)
    assert_gone(b)


def test_two_starts_of_one_name_at_the_same_instant_only_one_runs(waiting_script):
    lab_name = name("race")
    for _ in range(5):
        procs = [start("run", "--name", lab_name, "--no-checks", "--script", waiting_script) for _ in range(2)]
        try:
            outs = []
            loser = None
            deadline = time.monotonic() + 60
            while loser is None and time.monotonic() < deadline:
                for p in procs:
                    if p.poll() is not None:
                        loser = p
                time.sleep(0.02)
            assert loser is not None, "neither start was refused"
            out = output(loser, timeout=10)
            assert loser.returncode == 2, out
            lines = out.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"lab: error: lab '{lab_name}' is already running"), out
            winner = procs[1 - procs.index(loser)]
            outs.append(wait_for_line(winner, "SCRIPT-STARTED"))
            winner.send_signal(signal.SIGTERM)
            output(winner, timeout=30)
            assert winner.returncode == 143
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        assert_gone(lab_name)


def test_lab_clean_name_stops_a_running_lab_and_only_that_one(waiting_script):
    a, b = name("c1"), name("c2")
    pa = start("run", "--name", a, "--no-checks", "--script", waiting_script)
    pb = start("run", "--name", b, "--no-checks", "--script", waiting_script)
    try:
        wait_for_line(pa, "SCRIPT-STARTED")
        wait_for_line(pb, "SCRIPT-STARTED")
        r = lab("clean", a)
        assert r.returncode == 0 and f"Removed lab '{a}'" in r.stdout, r
        output(pa, timeout=30)
        assert pa.returncode == 143  # its owner was asked to tear down
        assert_gone(a)
        assert pb.poll() is None and os.path.exists(f"/var/run/netns/{b}-node1")
    finally:
        for p in (pa, pb):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
    assert_gone(b)


def test_foreign_processes_and_stale_records_are_never_signalled(tmp_path, waiting_script):
    """A user's process that mentions the run directory, and pidfiles/records whose pid now belongs to
    someone else, survive both `lab run` (which removes a crashed lab's remains) and `lab clean`."""
    lab_name = name("st")
    rd = paths.run_dir(lab_name)
    foreign = subprocess.Popen(["sh", "-c", "sleep 120", f"{rd}/node1/flannel/status.json"])
    other = subprocess.Popen(["sleep", "120"])
    try:
        # a crashed lab's remains whose pids were since reused by `other`: pidfiles, process records,
        # an owner record, all with the foreign pid (records with a start time that is not its own)
        os.makedirs(f"{rd}/node1/ovs", exist_ok=True)
        for f in ("node1/ovs/ovs-vswitchd.pid", "node1/shell.pid"):
            with open(f"{rd}/{f}", "w") as fh:
                fh.write(f"{other.pid}\n")
        wrong = start_time(other.pid) - 1000
        with open(f"{rd}/procs", "w") as fh:
            fh.write(f"{other.pid} {wrong} shell node1\n{foreign.pid} {wrong} daemon node1/ovs/ovs-vswitchd.pid\n")
        with open(f"{rd}/owner", "w") as fh:
            fh.write(f"{other.pid} {wrong}\n")
        with open(f"{rd}/info.json", "w") as fh:
            json.dump({"topology": "openshift"}, fh)
        r = lab("clean", lab_name)
        assert r.returncode == 0, r
        assert other.poll() is None and foreign.poll() is None
        assert not os.path.exists(rd)
        # and a real lab run + teardown beside them
        proc = start("run", "--name", lab_name, "--no-checks", "--script", waiting_script)
        wait_for_line(proc, "SCRIPT-STARTED")
        proc.send_signal(signal.SIGTERM)
        output(proc, timeout=30)
        assert proc.returncode == 143
        assert other.poll() is None and foreign.poll() is None
        assert_gone(lab_name)
    finally:
        for p in (foreign, other):
            p.kill()
            p.wait()


def test_kill_9_of_a_named_lab_then_the_next_run_cleans_it(waiting_script):
    lab_name = name("k9")
    proc = start("run", "flannel", "--name", lab_name, "--no-checks", "--script", waiting_script)
    wait_for_line(proc, "SCRIPT-STARTED")
    proc.kill()
    proc.wait()
    assert os.path.exists(f"/var/run/netns/{lab_name}-node1")
    ps = lab("ps")
    assert any(line.split()[:3] == [lab_name, "flannel", "stale"] for line in ps.stdout.splitlines()), ps.stdout
    proc = start("run", "flannel", "--name", lab_name, "--no-checks", "--script", waiting_script)
    out = wait_for_line(proc, "SCRIPT-STARTED")
    assert f"Removing what an earlier run of lab '{lab_name}' left behind" in out
    proc.send_signal(signal.SIGINT)
    output(proc, timeout=30)
    assert proc.returncode == 130
    assert_gone(lab_name)


def test_interactive_cli_ctrl_c_interrupts_the_command_and_sigterm_tears_down():
    """At the interactive prompt Ctrl-C stops the running command (as in Mininet) and the lab stays;
    SIGTERM (or SIGHUP, a closed terminal) tears it down from the prompt too."""
    import pty
    lab_name = name("tty")
    master, slave = pty.openpty()
    proc = subprocess.Popen(LAB + ["run", "--name", lab_name, "--no-checks"], stdin=slave, stdout=slave,
                            stderr=slave, start_new_session=True)
    # the slave stays open here too until the end: when the lab's copy is the last one, its exit hangs the
    # pty up and the master may answer EIO before the lab's last lines ("*** Done in") reach it
    proc.lab_name = lab_name
    STARTED.append(proc)
    seen = []

    def read_until(marker: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen.append(os.read(master, 4096).decode(errors="replace"))
                except OSError:
                    break
                if marker in "".join(seen):
                    text = "".join(seen)
                    seen.clear()
                    return text
        raise AssertionError(f"no {marker!r}: {''.join(seen)[-1500:]}")

    read_until("sdnlab> ")
    os.write(master, b"pod1 ping -i 0.2 pod3\n")
    read_until("icmp_seq=2")
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C at the terminal does
    out = read_until("sdnlab> ")
    assert "packets transmitted" in out  # ping was interrupted and printed its summary
    assert proc.poll() is None
    os.write(master, b"pod1 ping -c1 -W2 pod3\n")
    assert "1 received" in read_until("sdnlab> ")
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        try:
            read_until("*** Done in", timeout=30)
        except AssertionError as exc:
            if proc.poll() is None:  # stuck: where (lab.front.cli's faulthandler prints every thread's stack)
                os.kill(proc.pid, signal.SIGUSR1)
                time.sleep(1)
                stacks = os.read(master, 65536).decode(errors="replace") if select.select([master], [], [], 1)[0] else ""
                raise AssertionError(f"{exc}\nthe lab did not stop; its threads:\n{stacks}") from None
            raise AssertionError(f"{exc}\n(the lab exited with {proc.returncode})") from None
        assert proc.wait(timeout=30) == 143
    finally:
        os.close(master)
        os.close(slave)
    assert_gone(lab_name)


@pytest.mark.parametrize("gap", [0.005, 0.02])
def test_a_second_signal_during_teardown_cuts_it_short_and_clean_removes_the_rest(gap, waiting_script):
    lab_name = name("tw")
    proc = start("run", "flannel", "--name", lab_name, "--no-checks", "--script", waiting_script,
                 start_new_session=True)
    wait_for_line(proc, "SCRIPT-STARTED")
    os.killpg(proc.pid, signal.SIGTERM)
    time.sleep(gap)
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # teardown was already over
    out = output(proc, timeout=30)
    assert proc.returncode == 143, out
    assert "Traceback" not in out
    cut = "teardown cut short by SIGTERM" in out
    assert cut or gap < 0.01, out  # 20 ms after the first signal the lab is still tearing down
    r = lab("clean", lab_name)
    assert r.returncode == 0, r
    if cut:
        assert f"`lab clean {lab_name}` removes the rest" in out
        assert f"Removed lab '{lab_name}': 0 namespaces" not in r.stdout  # there was a rest to remove
    assert_gone(lab_name)
