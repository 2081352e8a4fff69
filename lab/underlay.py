"""Underlay L2 segments: Linux bridges inside the lab's `underlay` namespace, never the root namespace.

A bridge in its own namespace also escapes what dockerd does to the root namespace
(FORWARD policy DROP, bridge-nf-call-iptables).
"""

from __future__ import annotations

from typing import Iterable, Tuple

BRIDGE = "br-underlay"


def segment_script(members: Iterable[Tuple[object, str]], bridge: str = BRIDGE) -> str:
    """Run in the underlay host: the bridge, and a veth to each (host, nic) whose far end is that nic."""
    lines = [f"ip link add {bridge} type bridge", f"ip link set {bridge} up"]
    lines += [attach_command(host, nic, bridge) for host, nic in members]
    return "\n".join(lines) + "\n"


def port_name(host, nic: str) -> str:
    return f"{host.name}-{nic}"[:15]


def attach_command(host, nic: str, bridge: str = BRIDGE) -> str:
    port = port_name(host, nic)
    return (f"ip link add {port} type veth peer name {nic} netns {host.pid}\n"
            f"ip link set {port} master {bridge} up")


def address_script(cidr: str, nic: str = "eth0") -> str:
    """A host's address on its underlay NIC (and its loopback up)."""
    return f"ip link set lo up\nip addr add {cidr} dev {nic}\nip link set {nic} up\n"


UNDERLAY_HOST = "underlay"


def set_link(net, host_name: str, up: bool, nic: str = "eth0") -> str:
    """Pull a host's underlay cable (or plug it back): its port on the underlay bridge goes down (up). The
    host itself keeps its addresses and routes, as a node whose switch port died would."""
    from lab.errors import BadInput
    from lab.shell import run
    if host_name not in net.nameToNode or host_name == UNDERLAY_HOST:
        raise BadInput(f"unknown host {host_name!r}: give a node or the external host")
    port = port_name(net[host_name], nic)
    out = net[UNDERLAY_HOST].cmd(f"ip link show {port} >/dev/null 2>&1 && echo yes")
    if "yes" not in out:
        raise BadInput(f"{host_name} has no link on the underlay")
    run(net[UNDERLAY_HOST], f"ip link set {port} {'up' if up else 'down'}")
    return f"{host_name}: underlay link {port} {'up' if up else 'down'}"
