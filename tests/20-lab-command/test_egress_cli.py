"""The egress IP walk-through of docs/tutorial/egress.md, typed into `lab run --plugin multitenant --script` as printed, and the
mistakes of the egress `oc` lines: one `error: line N:` line each, the lab stays up."""

import re
import subprocess
import sys

import pytest
from docs_printed import printed

pytestmark = pytest.mark.root

LAB = [sys.executable, "-m", "lab"]
EGRESS = "tutorial/egress.md"
WALK = [
    printed(EGRESS, """oc patch hostsubnet node2 -p '{"egressIPs": ["172.16.1.100"]}'"""),
    printed(EGRESS, """oc patch netnamespace p1 -p '{"egressIPs": ["172.16.1.100"]}'"""),
    printed(EGRESS, "oc get hostsubnets"),
    printed(EGRESS, "oc get netnamespaces"),
    "py '@@ trace'",
    printed(EGRESS, "trace pod1 ext tcp 80"),
    "py '@@ masq'",
    printed(EGRESS, "pod1 ping -c1 ext"),
    printed(EGRESS, "node2 iptables -t nat -nvL OPENSHIFT-MASQUERADE"),
    "py '@@ unplugged'",
    printed(EGRESS, "unplug node2"),
    printed(EGRESS, "pod1 ping -c1 -W1 ext"),
    printed(EGRESS, "pod2 ping -c1 -W1 ext"),
    printed(EGRESS, "plug node2"),
    "py '@@ end'",
    printed(EGRESS, """oc patch netnamespace p1 -p '{"egressIPs": []}'"""),
    "oc annotate netnamespace p1 netnamespace.network.openshift.io/multicast-enabled=true",  # the page's Multicast item
    "flows node1 110",
]
MISTAKES = [
    ("""oc patch hostsubnet node9 -p '{"egressIPs": []}'""", 'hostsubnets.network.openshift.io "node9" not found'),
    ("""oc patch hostsubnet node1 -p '{"egressIPs": ["10.9.9.9"]}'""", "is not in local network 172.16.1.0/24"),
    ("oc annotate netnamespace p1 netnamespace.network.openshift.io/multicast-enabled=false",
     "--overwrite is false"),
    ("oc patch netnamespace p1 -p '{oops'", "not valid JSON"),
    ("unplug", "usage: unplug"),
    ("unplug node9", "unknown host 'node9'"),
]


def test_readme_egress_walk_through_and_mistakes(tmp_path):
    script = tmp_path / "egress.mn"
    lines = WALK + [m for m, _ in MISTAKES] + ["pod1 ping -c1 -W2 ext"]
    script.write_text("\n".join(lines) + "\n")
    r = subprocess.run(LAB + ["run", "--plugin", "multitenant", "--no-checks", "--script", str(script)],
                       capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    out = r.stdout
    assert "Traceback" not in out + r.stderr, out + r.stderr
    errors = {int(m.group(1)): m.group(2) for m in re.finditer(r"^error: line (\d+): (.*)$", out, re.M)}
    want = {len(WALK) + i + 1: words for i, (_, words) in enumerate(MISTAKES)}
    assert sorted(errors) == sorted(want), (errors, out[-3000:])
    for n, words in want.items():
        assert words in errors[n], (n, errors[n])
    assert re.search(r"^node2 +node2 +172\.16\.1\.12 +10\.129\.0\.0/23 +\[\] +\[172\.16\.1\.100\]$", out, re.M), out
    assert re.search(r"^p1 +\d+ +\[172\.16\.1\.100\]$", out, re.M), out
    parts = dict(re.findall(r"^@@ (\w+)\n(.*?)(?=^@@ |\Z)", out, re.M | re.S))
    assert parts["trace"].splitlines()[:2] == ["node1: 0 > 20 > 21 > 30 > 100: output vxlan0 (tun_dst=172.16.1.12)",
                                               "node2: 0 > 10 > 30 > 100 > 101: output tun0"], parts["trace"]
    assert re.search(r"^ +[1-9]\d* +\d+ SNAT .* mark match 0x[0-9a-f]+ to:172\.16\.1\.100$", parts["masq"], re.M), parts["masq"]
    unplugged = parts["unplugged"]
    assert "node2: underlay cable pulled" in unplugged and "node2: underlay cable plugged in" in unplugged
    pings = re.findall(r"1 packets transmitted, (\d) received", unplugged)
    assert pings == ["0", "1"], unplugged  # p1 black-holed with its egress node gone; p2 unaffected
    assert "reg0=" in parts["end"] and "goto_table:111" in parts["end"], parts["end"]
    assert out.rstrip().count("1 packets transmitted, 1 received") >= 2
    assert r.returncode == 1  # the mistakes count
