"""Break/fix faults for a running lab, injected and repaired from any shell by the lab's name.

A fault acts on the lab's kernel objects and switches through its named namespaces (lab.livelab), so it
needs no handle on the process that runs the lab. Before it breaks anything it reads the item it is about
to break as the lab rendered it (a flow, a route, a neighbour, an FDB entry, an iptables rule, an MTU, an
offload setting) and records the commands that put that item back (RUN_DIR/<lab>/faults/<fault>.json);
`repair` runs them and forgets the record. Each plane has its catalogue (Plane.faults()); the faults of
the kernel that every plane has (a route, a neighbour, a MASQUERADE rule) are here; the records and the
`lab fault` command are lab.front.faults.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Callable, List, Sequence, Tuple

from lab.errors import BadInput, LabError
from lab.livelab import LiveLab
from lab.state import Neighbour

WRONG_MAC = "02:de:ad:be:ef:01"  # locally administered: no lab host ever has it

Undo = List[Tuple[str, str]]  # (host, command) run in order by repair


@dataclass
class Injected:
    did: str  # what the fault changed, for a person
    undo: Undo
    hint: str = ""  # where the symptom shows


@dataclass(frozen=True)
class Fault:
    name: str
    usage: str  # the arguments, with their defaults
    summary: str
    inject: Callable[[LiveLab, List[str]], Injected] = field(compare=False)


def args_or_defaults(args: List[str], defaults: Sequence[str], usage: str) -> List[str]:
    if len(args) > len(defaults):
        raise BadInput(f"too many arguments (usage: {usage})")
    return list(args) + list(defaults[len(args):])


def two_nodes(lab: LiveLab, args: List[str], usage: str) -> Tuple[str, str]:
    if len(lab.nodes) < 2:
        raise BadInput("this fault needs a lab with two nodes or more")
    node, remote = args_or_defaults(args, lab.nodes[:2], usage)
    lab.need(node, "node"), lab.need(remote, "node")
    if node == remote:
        raise BadInput(f"{node} and {remote}: give two different nodes")
    return node, remote


# --- faults of the kernel every plane has --------------------------------------------------------------

def masquerade(chain: str) -> Callable[[LiveLab, List[str]], Injected]:
    """NODE's MASQUERADE rules of `chain` removed (the plane names its chain)."""
    def inject_masquerade(lab: LiveLab, args: List[str]) -> Injected:
        (node,) = args_or_defaults(args, lab.nodes[:1], "[NODE]")
        lab.need(node, "node")
        rules = [ln for ln in lab.sh(node, f"iptables -t nat -S {chain}").splitlines() if ln.startswith("-A ")]
        # (position, rule): put back at the same place, since order matters (Flannel's RETURNs come first)
        masq = [(i, rule) for i, rule in enumerate(rules, 1) if rule.split(" -j ")[-1].startswith("MASQUERADE")]
        if not masq:
            raise LabError(f"{node}: {chain} holds no MASQUERADE rule (already removed?)")
        for _pos, rule in masq:
            lab.sh(node, f"iptables -t nat -D {rule[3:]}")
        undo = [(node, f"iptables -t nat -I {chain} {pos} {rule[len('-A ' + chain) + 1:]}") for pos, rule in masq]
        return Injected(f"{node}: removed {len(masq)} MASQUERADE rule(s) of {chain}: " + "; ".join(r for _p, r in masq),
                        undo, f"pods on {node} reach the external host unNATed: their source is a pod address it cannot "
                              "answer")
    return inject_masquerade


def inject_stale_arp(lab: LiveLab, args: List[str]) -> Injected:
    pods = lab.pods
    pod, dest = args_or_defaults(args, (pods[0] if pods else "", pods[-1] if pods else ""), "[POD [DEST]]")
    lab.need(pod, "pod")
    dst_ip = lab.ip_of(dest)
    route = lab.sh(pod, f"ip -4 -o route get {dst_ip}").split()
    hop = route[route.index("via") + 1] if "via" in route else dst_ip  # the address the pod ARPs for
    dev = route[route.index("dev") + 1]
    from lab.observe import kernel
    old = next((n for n in kernel.read(lab.name, pod).neighbours if n.ip == hop and n.dev == dev), None)
    undo = ([(pod, Neighbour(hop, old.mac, dev).commands()[0])]
            if old is not None and old.state == "PERMANENT" and old.mac else [(pod, f"ip neigh del {hop} dev {dev}")])
    lab.sh(pod, Neighbour(hop, WRONG_MAC, dev).commands()[0])
    return Injected(f"{pod}: permanent neighbour {hop} lladdr {WRONG_MAC} on {dev} (a MAC nobody has)",
                    undo, f"{pod}'s frames to {dest} carry a wrong destination MAC: no answer")


def _route_for(lab: LiveLab, host: str, dst_ip: str) -> str:
    """The most specific route of host's main table that covers dst_ip, as `ip route` prints it."""
    best, best_len = "", -1
    for line in lab.sh(host, "ip -4 route show").splitlines():
        prefix = line.split()[0]
        net = ipaddress.ip_network("0.0.0.0/0" if prefix == "default" else prefix, strict=False)
        if ipaddress.ip_address(dst_ip) in net and net.prefixlen > best_len:
            best, best_len = line.strip(), net.prefixlen
    return best


def inject_route(lab: LiveLab, args: List[str]) -> Injected:
    hosts = lab.nodes
    host, dest = args_or_defaults(args, (hosts[0] if hosts else "", lab.pods[-1] if lab.pods else ""), "[HOST [DEST]]")
    lab.need(host)
    dst_ip = lab.ip_of(dest)
    route = _route_for(lab, host, dst_ip)
    if not route:
        raise LabError(f"{host}: no route covers {dest} ({dst_ip})")
    lab.sh(host, f"ip route del {route}")
    return Injected(f"{host}: deleted the route `{route}`", [(host, f"ip route replace {route}")],
                    f"{host} has no route to {dest} ({dst_ip}): `Network is unreachable` or the wrong way out")


STALE_ARP = Fault("stale-arp", "[POD [DEST]]",
                  "a permanent wrong neighbour in POD for the next hop to DEST (default first and last pod)",
                  inject_stale_arp)
ROUTE = Fault("route", "[HOST [DEST]]", "HOST's route to DEST deleted (default node1, the last pod)", inject_route)
