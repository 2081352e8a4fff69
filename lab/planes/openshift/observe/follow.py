"""Follow a packet through br0 node after node over VXLAN, with ofproto/trace on each node's own switch.

The one follower: the CLI's `trace`, the service trace and the path picture use it, inside the process that
runs the lab (Mininet hosts) or from another shell (host handles that answer `.cmd()` as a Mininet host does).
Where the packet leaves by vxlan0, the next node is the one whose underlay address is the tunnel's
destination, and it is traced as it receives the packet: from port 1, with the sender's tun_src, tun_dst and
the tunnel id the sender put on the wire (multitenant's table 80 compares it with the destination's VNID).
"""

from __future__ import annotations

from typing import Callable, List, Mapping, Tuple

from lab.observe.trace import Trace, ofproto_trace
from lab.planes.openshift.node.flows import VXLAN_OFPORT

Hops = List[Tuple[str, Trace]]


def follow_vxlan(host_of: Callable[[str], object], node_ips: Mapping[str, str], node: str, packet: str,
                 in_port: int) -> Hops:
    """[(node, trace)] of `packet` (ofproto/trace fields without in_port) entering `node`'s br0 at `in_port`,
    then on each node it is tunnelled to, until it leaves otherwise, is dropped, or would revisit a node.
    host_of: node name -> its host (anything with `.cmd(str) -> str`); node_ips: node name -> underlay IP."""
    by_ip = {ip: name for name, ip in node_ips.items()}
    hops: Hops = []
    flow = f"in_port={in_port},{packet}"
    while True:
        trace = ofproto_trace(host_of(node), flow)
        hops.append((node, trace))
        remote = by_ip.get(trace.tun_dst or "") if trace.output_port == VXLAN_OFPORT else None
        if remote is None or remote in (n for n, _t in hops):
            return hops
        flow = (f"in_port={VXLAN_OFPORT},tun_src={node_ips[node]},tun_dst={trace.tun_dst},tun_id={trace.tun_id},"
                f"{packet}")
        node = remote
