"""The UDP ports a running lab's VXLAN tunnels use, as its hosts hold them: the kernel's VXLAN devices
(`ip -d -j link`, JSON) and Open vSwitch's vxlan interfaces (`ovs-vsctl --format=json`), so a lab started
with `--vxlan-port 4790` (or flannel's 8472) is decoded right. No plane is named here."""

from __future__ import annotations

import json
from typing import Iterable, List, Set

DEFAULT = 4789  # IANA's VXLAN port; OVS's default when an interface names none


def kernel_ports(ip_json: str) -> Set[int]:
    """From `ip -d -j link show type vxlan`: each device's destination port."""
    found = set()
    for link in json.loads(ip_json or "[]"):
        port = link.get("linkinfo", {}).get("info_data", {}).get("port")
        if port:
            found.add(int(port))
    return found


def ovs_ports(vsctl_json: str) -> Set[int]:
    """From `ovs-vsctl --format=json --columns=options find interface type=vxlan`: dst_port, or the default."""
    found = set()
    for row in json.loads(vsctl_json or '{"data": []}').get("data", []):
        opts = dict(row[0][1]) if row and row[0] and row[0][0] == "map" else {}
        found.add(int(opts.get("dst_port", DEFAULT)))
    return found


KERNEL = "ip -d -j link show type vxlan 2>/dev/null"
OVS = ("command -v ovs-vsctl >/dev/null && ovs-vsctl --timeout=5 --format=json --columns=options "
       "find interface type=vxlan 2>/dev/null")


def lab_ports(lab, hosts: Iterable[str]) -> List[int]:
    """The VXLAN ports of `hosts` of a LiveLab (the default alone when none holds a tunnel)."""
    found: Set[int] = set()
    for host in hosts:
        for script, parse in ((KERNEL, kernel_ports), (OVS, ovs_ports)):
            r = lab.run(host, script)
            if r.returncode == 0:
                try:
                    found |= parse(r.stdout)
                except (ValueError, TypeError, KeyError, IndexError, AttributeError):
                    pass  # a host without such state (no OVS running there) says nothing
    return sorted(found) or [DEFAULT]
