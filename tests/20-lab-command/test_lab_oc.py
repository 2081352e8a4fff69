"""`lab oc` from another shell: a running lab takes `oc` lines over its control socket (lab.control) while
its script or CLI runs; a refused line changes nothing; CLI commands and requests never mix their output."""

import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from test_lab_lifecycle import assert_gone, lab, name, no_lab_survives_a_test, output, start, wait_for_line  # noqa: F401

from lab import control, paths
from lab.daemons import ovs

pytestmark = pytest.mark.root
MULTITENANT = ["openshift", "--plugin", "multitenant", "--nodes", "2", "--pods-per-node", "1", "--no-checks"]


def pod_ip(inventory: str, pod: str) -> str:
    return next(p["ip"] for p in json.load(open(inventory))["pods"] if p["name"] == pod)


def pings(lab_name: str, src: str, ip: str, wait: int = 1) -> bool:
    """One echo request; True if it was answered within `wait` seconds."""
    r = subprocess.run(["ip", "netns", "exec", paths.netns_name(src, lab_name), "ping", "-n", "-c1", f"-W{wait}", ip],
                       capture_output=True, text=True, timeout=wait + 10)
    return r.returncode == 0


def node_flows(lab_name: str, node: str) -> str:
    env = dict(os.environ, OVS_RUNDIR=ovs.ovs_dir(os.path.join(paths.run_dir(lab_name), node)))
    return subprocess.run(["ip", "netns", "exec", paths.netns_name(node, lab_name), "ovs-ofctl", "-O", "OpenFlow13",
                           "--no-stats", "--no-names", "dump-flows", "br0"],
                          capture_output=True, text=True, timeout=10, env=env, check=True).stdout


def test_oc_lines_from_another_shell_change_the_running_lab(tmp_path):
    lab_name = name("ocs")
    script, inventory = tmp_path / "wait.mn", tmp_path / "inv.json"
    script.write_text("sh echo SCRIPT-STARTED\nsh sleep 30\n")
    proc = start("run", *MULTITENANT, "--name", lab_name, "--json", str(inventory), "--script", str(script))
    wait_for_line(proc, "SCRIPT-STARTED", timeout=120)
    sock = control.socket_path(lab_name)
    assert oct(os.stat(sock).st_mode & 0o777) == "0o600"
    pod2 = pod_ip(str(inventory), "pod2")
    assert not pings(lab_name, "pod1", pod2)  # p1 and p2 are isolated (multitenant)

    api = open(os.path.join(paths.run_dir(lab_name), "api.json")).read()
    flows = {n: node_flows(lab_name, n) for n in ("node1", "node2")}
    r = lab("oc", "--name", lab_name, "adm", "pod-network", "join-projects", "--to=nope", "p2")
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1, r.stdout + r.stderr
    assert r.stderr.startswith("lab: error: ") and "nope" in r.stderr, r.stderr
    assert open(os.path.join(paths.run_dir(lab_name), "api.json")).read() == api  # nothing changed
    assert {n: node_flows(lab_name, n) for n in ("node1", "node2")} == flows

    r = lab("oc", "--name", lab_name, "adm", "pod-network", "join-projects", "--to=p1", "p2")
    assert r.returncode == 0, r.stdout + r.stderr
    # README: an `oc` line returns when the datapath obeys, so the first ping after it answers (no retry; the
    # 5 s are for a loaded machine's ARP and scheduling, not for the change to arrive)
    assert pings(lab_name, "pod1", pod2, wait=5)
    assert node_flows(lab_name, "node2") != flows["node2"]
    listed = lab("oc", "--name", lab_name, "get", "netnamespaces").stdout
    shared = re.search(r"^p1\s+(\d+)", listed, re.M).group(1)
    assert re.search(rf"^p2\s+{shared}\b", listed, re.M), listed

    proc.send_signal(signal.SIGTERM)  # the script still sleeps: the lab tears down, the socket with it
    assert "Tearing down" in output(proc, timeout=60)
    assert proc.returncode == 143
    assert not os.path.exists(sock)
    assert_gone(lab_name)
    r = lab("oc", "--name", lab_name, "get", "pods")
    assert r.returncode == 2 and r.stdout == "", r.stdout + r.stderr
    assert r.stderr == f"lab: error: lab {lab_name!r} is not running (`lab ps` lists the labs)\n"


def test_a_cli_command_and_requests_at_once_do_not_mix(tmp_path):
    """The script's ping runs while 5 `lab oc get pods` arrive: every answer whole, the ping's output whole."""
    lab_name = name("ocx")
    script = tmp_path / "ping.mn"
    script.write_text("sh echo SCRIPT-STARTED\npod1 ping -n -c 5 pod2\nsh echo PING-DONE\nsh sleep 30\n")
    proc = start("run", "openshift", "--nodes", "2", "--pods-per-node", "1", "--no-checks", "--name", lab_name,
                 "--script", str(script))
    wait_for_line(proc, "SCRIPT-STARTED", timeout=120)
    before = wait_for_line(proc, "bytes from", timeout=20)  # the ping runs now, in pod1's shell
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: lab("oc", "--name", lab_name, "get", "pods", "-o", "wide", timeout=60),
                                range(5)))
    ping = before + wait_for_line(proc, "PING-DONE", timeout=30)
    for r in answers:
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout == answers[0].stdout and r.stderr == ""
        assert r.stdout.startswith("NAME ") and re.search(r"^pod1\s+1/1\s+Running", r.stdout, re.M), r.stdout
        assert re.search(r"^pod2\s+1/1\s+Running", r.stdout, re.M), r.stdout
    assert len(re.findall(r"^64 bytes from [\d.]+: icmp_seq=\d+ ttl=\d+ time=", ping, re.M)) == 5, ping
    assert "5 packets transmitted, 5 received, 0% packet loss" in ping, ping
    assert "NAME " not in ping  # no answer went into the lab's own output
    proc.send_signal(signal.SIGTERM)
    output(proc, timeout=60)
    assert proc.returncode == 143
    assert_gone(lab_name)


def test_a_signal_during_a_request_still_tears_down(tmp_path):
    """SIGTERM while `lab oc apply` creates a pod: the lab exits 143 with nothing left; the client gets the
    answer (the request finished first) or one clear line."""
    lab_name = name("ocg")
    script = tmp_path / "wait.mn"
    script.write_text("sh echo SCRIPT-STARTED\nsh sleep 30\n")
    proc = start("run", *MULTITENANT, "--name", lab_name, "--script", str(script))
    wait_for_line(proc, "SCRIPT-STARTED", timeout=120)
    web = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "examples", "live", "web.yaml")
    client = subprocess.Popen([sys.executable, "-m", "lab", "oc", "--name", lab_name,
                               "apply", "-f", web], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10  # signal once the lab is creating the pod (its namespace is bound)
    while time.monotonic() < deadline and client.poll() is None and not os.path.exists(paths.netns_path("web", lab_name)):
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert "Tearing down" in output(proc, timeout=60)
    assert proc.returncode == 143
    out, err = client.communicate(timeout=60)
    assert (client.returncode == 0 and "pod/web created" in out) or err.count("\n") == 1, out + err
    assert_gone(lab_name)
