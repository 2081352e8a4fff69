"""A service's endpoint goes away at runtime: every node drops exactly its KUBE-SEP chain (kube-proxy's
rules are on all nodes), requests then reach only the remaining pods, and its server stops."""

import os

import pytest

from lab.observe.request import requests
from lab.shell import run

pytestmark = pytest.mark.root


def _nat(node) -> set:
    return {line for line in run(node, "iptables-save -t nat").splitlines() if line.startswith("-A ")}


def test_removing_an_endpoint_pod_updates_every_node(lab):
    from lab.planes.openshift import live
    from lab.planes.openshift.node.kubeproxy import sep_chain
    net, c = lab
    web = c.service("shop/web")
    gone = c.pod("web-3")
    gone_seps = {sep_chain(s, p, a) for s in c.services for p, addrs in c.endpoints(s).items() for a in addrs
                 if a.pod == "web-3"}  # shop/web (TCP and UDP) and shop/web-public
    assert len(gone_seps) == 3
    before = {hs.name: _nat(net[hs.name]) for hs in c.hostsubnets}
    pid = int(open(os.path.join(net[gone.host].dir, "podserver.pid")).read())

    live.remove_pod(net, c, "shop/web-3")

    for hs in c.hostsubnets:
        after = _nat(net[hs.name])
        removed = before[hs.name] - after
        assert {r.split()[1] for r in removed if r.split()[1].startswith("KUBE-SEP-")} == gone_seps, hs.name
        assert not any(sep in line for line in after for sep in gone_seps), hs.name
    answers = requests(net["pod1"], web.cluster_ip, 80, count=20)
    assert {a.pod for a in answers} == {"web-1", "web-2"}, answers
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
