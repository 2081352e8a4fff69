"""The underlay L2 segment: a Linux bridge inside its own lab namespace, never the root namespace.

A bridge in its own namespace also escapes what dockerd does to the root namespace
(FORWARD policy DROP, bridge-nf-call-iptables).
"""

from __future__ import annotations

from typing import List

BRIDGE = "br-underlay"


def segment_script(members: List[object], nic: str = "eth0") -> str:
    """Run in the underlay host: the bridge, and a veth to each member whose far end is its `eth0`."""
    lines = [f"ip link add {BRIDGE} type bridge", f"ip link set {BRIDGE} up"]
    for host in members:
        port = f"to-{host.name}"
        lines.append(f"ip link add {port} type veth peer name {nic} netns {host.pid}")
        lines.append(f"ip link set {port} master {BRIDGE} up")
    return "\n".join(lines) + "\n"
