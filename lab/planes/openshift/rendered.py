"""The `rendered` control verb: what the lab renders NOW from its model for every host it gives a state (nodes,
pods, the external host), as JSON, so another shell (lab.workshop.drift) can compare it with the kernels and
switches. The render is the one the lab applies (lab.planes.openshift.realize.render_all), not a second one:

    {"datapath": "netdev",
     "hosts": {"node1": {"flows": {"br0": ["table=0, priority=200, ..."]},
                         "iptables": ["*filter\n:INPUT ACCEPT [0:0]\n...COMMIT\n", ...],
                         "addresses": [{"cidr": "172.16.1.11/24", "dev": "br-phy"}, ...],
                         "routes": [{"dst": "10.128.0.0/14", "via": "", "dev": "tun0"}, ...]}, ...}}

Flows are the render's lines as the switch stores them (a note padded); iptables the rendered restore texts
(the reader parses them as it parses `iptables-save`)."""

from __future__ import annotations

import json
from typing import Dict, List

from lab.observe.flows import as_stored
from lab.planes.openshift.realize import render_all
from lab.state import Address, Flow, Iptables, NodeState, Route


def host_state(state: NodeState) -> dict:
    """One host's rendered state as plain data."""
    bridges: Dict[str, List[str]] = {}
    for f in state.of(Flow):
        bridges.setdefault(f.bridge, [])
    for bridge in bridges:
        bridges[bridge] = as_stored(state.flows(bridge))
    return {"flows": bridges,
            "iptables": [item.text for item in state.of(Iptables)],
            "addresses": [{"cidr": a.cidr, "dev": a.dev} for a in state.of(Address)],
            "routes": [{"dst": r.dst, "via": r.via, "dev": r.dev} for r in state.of(Route)]}


def rendered(net, cluster) -> str:
    """The `rendered` verb's answer: every host's state rendered from the cluster the lab holds now."""
    states = render_all(cluster, net.datapath)
    return json.dumps({"datapath": net.datapath, "hosts": {name: host_state(s) for name, s in states.items()}})
