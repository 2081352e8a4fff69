"""The UDP ports a running lab's VXLAN tunnels use, as its hosts hold them: the kernel's VXLAN devices
(read over netlink, lab.observe.kernel) and Open vSwitch's vxlan interfaces (`ovs-vsctl --format=json`), so a lab started
with `--vxlan-port 4790` (or flannel's 8472) is decoded right. No plane is named here."""

from __future__ import annotations

import json
from typing import Iterable, List, Set

from lab.errors import LabError
from lab.observe import kernel
from lab.observe.kernel import Link

DEFAULT = 4789  # IANA's VXLAN port; OVS's default when an interface names none


def kernel_ports(links: Iterable[Link]) -> Set[int]:
    """Each kernel VXLAN device's destination port."""
    return {link.vxlan.port for link in links if link.vxlan is not None and link.vxlan.port}


def ovs_ports(vsctl_json: str) -> Set[int]:
    """From `ovs-vsctl --format=json --columns=options find interface type=vxlan`: dst_port, or the default."""
    found = set()
    for row in json.loads(vsctl_json or '{"data": []}').get("data", []):
        opts = dict(row[0][1]) if row and row[0] and row[0][0] == "map" else {}
        found.add(int(opts.get("dst_port", DEFAULT)))
    return found


OVS = ("command -v ovs-vsctl >/dev/null && ovs-vsctl --timeout=5 --format=json --columns=options "
       "find interface type=vxlan 2>/dev/null")


def lab_ports(lab, hosts: Iterable[str]) -> List[int]:
    """The VXLAN ports of `hosts` of a LiveLab (the default alone when none holds a tunnel)."""
    found: Set[int] = set()
    for host in hosts:
        try:
            found |= kernel_ports(kernel.read(lab.name, host).links)
        except LabError:
            pass  # a host whose namespace is gone says nothing
        r = lab.run(host, OVS)
        if r.returncode == 0:
            try:
                found |= ovs_ports(r.stdout)
            except (ValueError, TypeError, KeyError, IndexError, AttributeError):
                pass  # a host without such state (no OVS running there) says nothing
    return sorted(found) or [DEFAULT]
