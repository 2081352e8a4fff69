"""The Flannel lab's break/fix faults (lab.faults): flannel.1's FDB and neighbour entries for a remote VTEP,
the agent's MASQUERADE rules; plus the kernel's faults every plane has.
(No MTU fault: the kernel's VXLAN fragments the outer packet, so a bigger flannel.1 MTU shows no symptom.)"""

from __future__ import annotations

from typing import Dict, List, Tuple

from lab.errors import BadInput, LabError
from lab.faults import ROUTE, STALE_ARP, Fault, Injected, masquerade, two_nodes
from lab.livelab import LiveLab
from lab.observe import kernel
from lab.state import FdbEntry, Neighbour


def _vxlan_lease_entries(lab: LiveLab, node: str, remote: str) -> Tuple[str, str, str]:
    """(remote underlay IP, remote VTEP MAC, remote VTEP IP) as node holds them on flannel.1."""
    held = kernel.read(lab.name, lab.need(node))
    if held.link("flannel.1") is None:
        raise BadInput("this fault is for Flannel's vxlan backend (flannel.1)")
    ip = lab.underlay_ip(remote)
    mac = next((e.mac for e in held.fdb if e.dev == "flannel.1" and e.dst == ip), None)
    if mac is None:
        raise LabError(f"{node}: no FDB entry for {remote} ({ip}) on flannel.1 (already removed?)")
    vtep = next((n.ip for n in held.neighbours if n.dev == "flannel.1" and n.mac == mac and n.state != "NOARP"), "")
    return ip, mac, vtep


def inject_fdb(lab: LiveLab, args: List[str]) -> Injected:
    node, remote = two_nodes(lab, args, "[NODE [REMOTE]]")
    ip, mac, _vtep = _vxlan_lease_entries(lab, node, remote)
    entry = FdbEntry(mac, "flannel.1", ip)
    for cmd in entry.remove_commands():
        lab.sh(node, cmd)
    return Injected(f"{node}: deleted the FDB entry {mac} dst {ip} on flannel.1 ({remote}'s VTEP)",
                    [(node, c) for c in entry.commands()],
                    f"{node}'s kernel knows {remote}'s VTEP MAC but not where to send it: nothing leaves eth0")


def inject_neigh(lab: LiveLab, args: List[str]) -> Injected:
    node, remote = two_nodes(lab, args, "[NODE [REMOTE]]")
    _ip, mac, vtep = _vxlan_lease_entries(lab, node, remote)
    if not vtep:
        raise LabError(f"{node}: no neighbour entry for {remote}'s VTEP on flannel.1 (already removed?)")
    entry = Neighbour(vtep, mac, "flannel.1")
    for cmd in entry.remove_commands():
        lab.sh(node, cmd)
    return Injected(f"{node}: deleted the neighbour {vtep} lladdr {mac} on flannel.1 ({remote}'s VTEP)",
                    [(node, c) for c in entry.commands()],
                    f"flannel.1 has nolearning and no ARP answers: {node} cannot resolve {vtep}")


FAULTS: Dict[str, Fault] = {f.name: f for f in [
    Fault("masquerade", "[NODE]", "NODE's MASQUERADE rules removed (FLANNEL-POSTRTG; default node1)",
          masquerade("FLANNEL-POSTRTG")),
    Fault("fdb", "[NODE [REMOTE]]",
          "Flannel vxlan: NODE's FDB entry for REMOTE's VTEP on flannel.1 deleted (default node1 node2)", inject_fdb),
    Fault("neigh", "[NODE [REMOTE]]",
          "Flannel vxlan: NODE's neighbour entry for REMOTE's VTEP on flannel.1 deleted (default node1 node2)",
          inject_neigh),
    STALE_ARP,
    ROUTE,
]}
