"""What flanneld puts on a node (pure functions): subnet.env, masquerade rules, per-lease entries."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import List, Optional

from lab.flannel.model import FlannelConfig

VXLAN_DEV = "flannel.1"


def subnet_env(config: FlannelConfig, subnet: str) -> str:
    gw = ipaddress.ip_network(subnet).network_address + 1
    return (f"FLANNEL_NETWORK={config.network}\nFLANNEL_SUBNET={gw}/{config.subnet_len}\n"
            f"FLANNEL_MTU={config.mtu}\nFLANNEL_IPMASQ=true\n")


def masquerade_rules(network: str, subnet: str) -> str:
    """--ip-masq: masquerade pods leaving the cluster network; forward the network (iptables-restore -n)."""
    c = '-m comment --comment "flanneld masq"'
    f = '-m comment --comment "flanneld forward"'
    return "\n".join([
        "*nat", ":FLANNEL-POSTRTG - [0:0]",
        f"-A POSTROUTING {c} -j FLANNEL-POSTRTG",
        f"-A FLANNEL-POSTRTG -s {network} -d {network} {c} -j RETURN",
        f"-A FLANNEL-POSTRTG -s {network} ! -d 224.0.0.0/4 {c} -j MASQUERADE --random-fully",
        f"-A FLANNEL-POSTRTG ! -s {network} -d {subnet} {c} -j RETURN",
        f"-A FLANNEL-POSTRTG ! -s {network} -d {network} {c} -j MASQUERADE --random-fully",
        "COMMIT", "*filter", ":FLANNEL-FWD - [0:0]",
        f"-A FORWARD {f} -j FLANNEL-FWD",
        f"-A FLANNEL-FWD -s {network} {f} -j ACCEPT",
        f"-A FLANNEL-FWD -d {network} {f} -j ACCEPT",
        "COMMIT", "",
    ])


@dataclass(frozen=True)
class Lease:
    subnet: str
    public_ip: str
    backend: str
    vtep_mac: Optional[str] = None

    @classmethod
    def from_etcd(cls, key: str, value: str) -> "Lease":
        attrs = json.loads(value)
        data = attrs.get("BackendData") or {}
        return cls(key.rsplit("/", 1)[1].replace("-", "/"), attrs["PublicIP"], attrs["BackendType"],
                   data.get("VtepMAC"))

    @property
    def vtep_ip(self) -> str:
        return str(ipaddress.ip_network(self.subnet).network_address)


def add_commands(lease: Lease, iface: str = "eth0") -> List[str]:
    """What a node does when another node's lease appears."""
    if lease.backend == "vxlan":
        return [f"ip neigh replace {lease.vtep_ip} lladdr {lease.vtep_mac} dev {VXLAN_DEV} nud permanent",
                f"bridge fdb replace {lease.vtep_mac} dev {VXLAN_DEV} dst {lease.public_ip} self permanent",
                f"ip route replace {lease.subnet} via {lease.vtep_ip} dev {VXLAN_DEV} onlink"]
    return [f"ip route replace {lease.subnet} via {lease.public_ip} dev {iface}"]


def delete_commands(lease: Lease, iface: str = "eth0") -> List[str]:
    """What a node does when another node's lease goes away."""
    if lease.backend == "vxlan":
        return [f"ip route del {lease.subnet} via {lease.vtep_ip} dev {VXLAN_DEV} onlink",
                f"ip neigh del {lease.vtep_ip} dev {VXLAN_DEV}",
                f"bridge fdb del {lease.vtep_mac} dev {VXLAN_DEV} dst {lease.public_ip} self"]
    return [f"ip route del {lease.subnet} via {lease.public_ip} dev {iface}"]


def expected_vxlan_state(leases: List[Lease]) -> dict:
    """`ip route|neigh show dev flannel.1` and `bridge fdb show dev flannel.1` lines for these remote leases."""
    return {
        "route": sorted(f"{lease.subnet} via {lease.vtep_ip} onlink" for lease in leases),
        "neigh": sorted(f"{lease.vtep_ip} lladdr {lease.vtep_mac} PERMANENT" for lease in leases),
        "fdb": sorted(f"{lease.vtep_mac} dst {lease.public_ip} self permanent" for lease in leases),
    }
