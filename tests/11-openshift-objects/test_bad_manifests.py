"""A manifest the API server would refuse: one `lab: error: FILE: ...` line, exit code 2, nothing created
(checked before root is needed, so no lab exists at any point)."""

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.rootless  # stops before root is needed (see the docstring)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

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
