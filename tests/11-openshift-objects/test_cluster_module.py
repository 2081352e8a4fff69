"""`lab run ./my_cluster.py`: a user's Python module builds the cluster (examples/shop_cluster.py); the
CLI then answers `oc get`, requests reach the service's pods (also by the `request` verb), `trace` takes
`namespace/service:port` and follows it past the DNAT."""

import json
import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.root

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REQUEST = "__import__('lab.observe.request', fromlist=['r']).request"

SCRIPT = f"""oc get svc -n shop
oc get endpoints -n shop
oc get pods -o wide --all-namespaces
py print('ANSWER', {REQUEST}(net['client'], '172.30.0.2', 80).pod)
py print('UDP', {REQUEST}(net['client'], '172.30.0.2', 53, 'udp').pod)
py print('NODEPORT', {REQUEST}(net['ext'], '172.16.1.13', 30080).pod)
trace client shop/web:80
shop/web-2 ip -4 -o addr show dev eth0
request client web.shop:80
request client web.shop:53 udp -c 12
request ext node3:30080
trace client web.shop:80 --request
"""


def test_a_python_cluster_module_builds_serves_and_answers_oc(tmp_path):
    script, inventory = tmp_path / "s.mn", tmp_path / "inv.json"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, "-m", "lab", "run", "examples/shop_cluster.py", "--pods-per-node", "0",
                           "--no-checks", "--script", str(script), "--json", str(inventory)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    out = proc.stdout
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "web          ClusterIP   172.30.0.2   <none>        80/TCP,53/UDP   1m" in out
    assert "web-public   NodePort    172.30.0.3   <none>        80:30080/TCP    1m" in out
    assert "web-public   10.128.0.2:8080,10.129.0.2:8080,10.130.0.2:8080" in out
    answers = {line.split()[0]: line.split()[1] for line in out.splitlines()
               if line.split()[:1] in (["ANSWER"], ["UDP"], ["NODEPORT"])}
    assert set(answers) == {"ANSWER", "UDP", "NODEPORT"} and set(answers.values()) <= {"web-1", "web-2", "web-3"}, out
    assert "node1: 0 > 20 > 21 > 30 > 60: output tun0" in out
    assert "inet 10.129.0.2/23" in out  # the kernel's view of shop/web-2, addressed by namespace/name
    assert re.search(r"^  KUBE-SEP-[A-Z0-9]{16} DNAT to 10\.129\.0\.2:8080 \(web-2 on node2\)", out, re.M), out
    assert re.search(r"^web-[123] \(it saw the client as 10\.128\.0\.1:\d+\)$", out, re.M), out  # masqueraded
    tally = re.findall(r"^\s+(\d+) (web-[123])$", out, re.M)
    assert sum(int(n) for n, _pod in tally) == 12 and {pod for _n, pod in tally} <= {"web-1", "web-2", "web-3"}, out
    assert re.search(r"^web-[123] \(it saw the client as 10\.130\.0\.1:\d+\)$", out, re.M), out  # the NodePort
    assert re.search(r"the request from 10\.128\.0\.\d+:\d+ \(answered by (web-[123])\): conntrack on node1 "
                     r"shows DNAT to 10\.1(28|29|30)\.0\.\d+:8080", out), out
    inv = json.loads(inventory.read_text())
    assert [s["name"] for s in inv["services"]] == ["web", "web-public"]
    assert inv["services"][0]["endpoints"] == ["web-1", "web-2", "web-3"]
