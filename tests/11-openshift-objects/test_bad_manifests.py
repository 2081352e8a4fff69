"""A manifest the API server would refuse: one `lab: error: FILE: ...` line, exit code 2, nothing created
(checked before root is needed, so no lab exists at any point); and on a running networkpolicy lab, `oc apply`
of the same manifests changes nothing: br0, iptables, addresses, `oc get` and api.json stay byte-identical,
and the lab still takes a valid change afterwards (issue 14: a refused change used to wedge it)."""

import glob
import os
import subprocess
import sys
import textwrap

import pytest

from lab import paths
from lab.daemons import ovs
from lab.errors import BadInput
from lab.front.pytest_plugin import built_lab, topology_args
from lab.planes.openshift import live, realize
from lab.planes.openshift.api import apistate
from lab.shell import run

pytestmark = pytest.mark.rootless  # stops before root is needed (see the docstring); the tests marked root build labs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(ROOT, "tests", "unit"), os.path.join(ROOT, "tests", "10-openshift")]
from labstate import differences, lab_state  # noqa: E402  (tests/10-openshift: the before/after snapshot)
from manifest_cases import APPLY_TAKES, cases  # noqa: E402  (tests/unit: the table of bad manifests)

POD = """
apiVersion: v1
kind: Pod
metadata: {name: a}
spec: {nodeName: node1, containers: [{name: c, image: busybox}]}
"""
CASES = {
    "unknown-kind": ("apiVersion: v1\nkind: Frob\nmetadata: {name: x}\n", "unknown kind 'Frob'"),
    "unknown-field": (POD.replace("nodeName: node1", "nodeName: node1, hostNetwork: true"), "unknown field spec.hostNetwork"),
    "unknown-node": (POD.replace("node1", "node7"), "spec.nodeName 'node7' is not a node"),
    "duplicate": (POD + "---" + POD, "Pod default/a exists already"),
    "ip-outside": ("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                   "spec: {clusterIP: 10.1.2.3, selector: {a: b}, ports: [{port: 80}]}\n", "not in the service network"),
    "ip-taken": ("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                 "spec: {clusterIP: 172.30.1.1, selector: {a: b}, ports: [{port: 80}]}\n---\n"
                 "apiVersion: v1\nkind: Service\nmetadata: {name: t}\n"
                 "spec: {clusterIP: 172.30.1.1, selector: {a: b}, ports: [{port: 80}]}\n", "already allocated"),
    "bad-selector": ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
                     "spec: {podSelector: {matchExpressions: [{key: app, operator: Near}]}}\n", "operator must be one of"),
    "not-yaml": ("kind: [unclosed\n", "not valid YAML"),
}
TABLE = cases()
# the issue's own manifests, and every 8th case of the table
NAMED = ("port]-", "ingress-", "policyTypes-", "from-", "targetPort-", "not-utf8", "image-",
         "spec.template.spec-", "metadata.name-")
SAMPLE = [c for i, c in enumerate(TABLE) if i % 8 == 0 or any(n in c[0] for n in NAMED)]


def lab_run(path, env_name: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT, SDNLAB_NAME=env_name)
    return subprocess.run([sys.executable, "-m", "lab", "run", "openshift", "--plugin", "networkpolicy", "--nodes", "2",
                           "--pods-per-node", "1", "-f", str(path)],
                          capture_output=True, timeout=120, env=env, cwd=ROOT, stdin=subprocess.DEVNULL)


def made_by(name: str) -> list:
    """What a lab of this name would leave: its bound namespaces, its run directory, its lock."""
    return sorted(glob.glob(os.path.join(paths.NETNS_DIR, f"{name}-*")) + glob.glob(paths.run_dir(name))
                  + glob.glob(paths.lock_file(name)))


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_manifest_is_one_line_and_exit_2(tmp_path, case):
    text, message = CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(textwrap.dedent(text))
    env = dict(os.environ, PYTHONPATH=ROOT, SDNLAB_NAME=os.environ.get("SDNLAB_NAME", "badmanifest"))
    proc = subprocess.run([sys.executable, "-m", "lab", "run", "openshift", "-f", str(path), "--pods-per-node", "0"],
                          capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    assert proc.returncode == 2, proc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"lab: error: {path}: ") and message in lines[0], proc.stderr
    assert proc.stdout == ""  # nothing was brought up


@pytest.mark.root
@pytest.mark.parametrize("case_id, text, words", SAMPLE, ids=[c[0] for c in SAMPLE])
def test_lab_run_refuses_the_table_before_anything_is_made(tmp_path, case_id, text, words):
    name = paths.lab_name()
    assert made_by(name) == [], "a lab of this name exists before the test"
    path = tmp_path / "bad.yaml"
    path.write_bytes(text)
    proc = lab_run(path, name)
    err = proc.stderr.decode(errors="replace")
    lines = err.strip().splitlines()
    assert proc.returncode == 2, err
    assert len(lines) == 1 and lines[0].startswith(f"lab: error: {path}: ") and words in lines[0], err
    assert proc.stdout == b"" and made_by(name) == []


@pytest.fixture(scope="module")
def np_lab():
    """A running networkpolicy lab of two nodes, pods pod1 (p1) and pod2 (p2), as `lab run` models it."""
    import topologies
    topology = topologies.load("openshift")
    cluster = topology.model(topology_args(topology, plugin="networkpolicy", nodes=2, pods_per_node=1))
    with built_lab(realize.build, cluster, ovs.PACKAGES) as lab:
        apistate.write(lab[0].name, cluster)  # as the topology's build does: what `oc get` shows other shells
        yield lab


def snapshot(net, c) -> dict:
    shot = lab_state(net, c)
    for line in ("get networkpolicy --all-namespaces", "get netnamespaces", "get egressnetworkpolicy --all-namespaces",
                 "get namespaces", "get hostsubnets"):
        shot[f"oc {line}"] = live.apply(net, c, line).output
    return shot


ALLOW = """\
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: allow-8080, namespace: p1}
    spec:
      podSelector: {}
      ingress: [{ports: [{port: 8080}]}]
    """


@pytest.mark.root
def test_oc_apply_of_every_bad_manifest_leaves_the_running_lab_byte_identical(np_lab, tmp_path):
    net, c = np_lab
    before = snapshot(net, c)
    sampled = {case_id for case_id, _t, _w in SAMPLE}
    for case_id, text, words in TABLE:
        path = tmp_path / f"{len(os.listdir(tmp_path))}.yaml"
        if case_id in APPLY_TAKES:  # the same object applied twice is "unchanged": a refusal after it
            text, words = text + b"---\napiVersion: v1\nkind: Frob\n", "unknown kind 'Frob'"
        path.write_bytes(text)
        with pytest.raises(BadInput) as exc:
            live.apply(net, c, f"oc apply -f {path}")
        assert "\n" not in str(exc.value) and words in str(exc.value), (case_id, str(exc.value))
        if case_id in sampled:  # the whole lab compared after each sampled refusal, and after the last
            assert differences(before, snapshot(net, c)) == {}, case_id
    assert differences(before, snapshot(net, c)) == {}
    # not wedged: a valid change is taken at once, and undone
    good = tmp_path / "allow.yaml"
    good.write_text(textwrap.dedent(ALLOW))
    live.apply(net, c, f"oc apply -f {good}")
    pod1 = c.pod("pod1")
    flows = run(net[pod1.node], "ovs-ofctl -O OpenFlow13 --no-stats dump-flows br0 table=80")
    assert f"priority=150,tcp,reg1={c.netids['p1']:#x},tp_dst=8080 actions=output:NXM_NX_REG2[]" in flows, flows
    live.apply(net, c, "oc delete networkpolicy allow-8080 -n p1")
    assert differences(before, snapshot(net, c)) == {}
