"""Drift on a running Flannel lab: routes, flannel.1 FDB and neighbour entries on the nodes and the router
that the lab did not render. What the lab renders is read from the lab itself: the kernel's own routes
(`proto kernel`), the underlay route through the router (routed labs), and for every other node's lease in
etcd what flanneld programs (lab.planes.flannel.render.lease_state: vxlan a route, neighbour and FDB entry;
host-gw a route). An exercise may allow more (`allowed`: the routes its task asks for)."""

from __future__ import annotations

import ipaddress
from typing import Dict, Iterable, List, Set, Tuple

from lab.observe import kernel
from lab.planes.flannel.render import VXLAN_DEV, Lease, lease_state
from lab.state import FdbEntry, Neighbour, Route
from lab.workshop.exercise import Criterion, Outcome, text

RouteKey = Tuple[str, str, str]  # (destination, next hop, device): what identifies a route here


def etcdctl(lab, args: str, check: bool = True) -> str:
    """etcdctl (v3 API) against the lab's etcd, from the etcd host (the leases drift is measured against)."""
    ip = lab.ip_of("etcd") if "etcd" in lab.hosts else "172.16.1.2"
    return lab.sh("etcd", f"ETCDCTL_API=3 etcdctl --endpoints http://{ip}:2379 {args}", check=check)


def leases(lab) -> List[Lease]:
    """Every lease in the lab's etcd (the agents' source of truth)."""
    out = etcdctl(lab, "get /coreos.com/network/subnets --prefix", check=False).splitlines()
    found = []
    for key, value in zip(out[::2], out[1::2], strict=False):
        try:
            found.append(Lease.from_etcd(key.strip(), value))
        except (ValueError, KeyError, IndexError):
            continue  # a key written by hand that no agent would read: not a lease
    return found


def _route_key(line: str) -> RouteKey:
    words = line.split()
    def after(word: str) -> str:
        return words[words.index(word) + 1] if word in words[:-1] else ""
    dst = words[0] if words else ""
    return ("0.0.0.0/0" if dst == "default" else dst, after("via"), after("dev"))


def live_routes(lab, host: str) -> Set[RouteKey]:
    """host's IPv4 routes of the main table, but the kernel's own (connected networks)."""
    return {(str(r.network) if r.dst == "default" else r.dst, r.via, r.dev) for r in kernel.read(lab.name, host).routes
            if r.family == 4 and r.table == "main" and r.proto != "kernel"}


def live_fdb(lab, node: str) -> Set[Tuple[str, str]]:
    """(MAC, dst) of flannel.1's FDB entries that send somewhere."""
    return {(e.mac, e.dst) for e in kernel.read(lab.name, node).fdb if e.dev == VXLAN_DEV and e.dst}


def live_neigh(lab, node: str) -> Set[Tuple[str, str]]:
    """(IP, MAC) of flannel.1's neighbours that name a MAC (the kernel's own failed lookups carry none, and
    multicast's NOARP entries are the kernel's, as `ip neigh` leaves them out)."""
    return {(n.ip, n.mac) for n in kernel.read(lab.name, node).neighbours
            if n.dev == VXLAN_DEV and n.mac and n.state != "NOARP"}


def _segment_routes(lab, host: str) -> Set[RouteKey]:
    """Routed labs: host reaches the other segment through the router's address on its own segment."""
    if "router" not in lab.hosts or host == "router" or "eth0" not in lab.addresses(host):
        return set()
    mine = lab.addresses(host)["eth0"].network
    theirs = [a for a in lab.addresses("router").values() if not a.ip.is_loopback]
    hop = next((str(a.ip) for a in theirs if a.ip in mine), "")
    return {(str(a.network), hop, "eth0") for a in theirs if hop and a.ip not in mine}


def rendered(lab, host: str) -> Tuple[Set[RouteKey], Set[Tuple[str, str]], Set[Tuple[str, str]]]:
    """(routes, FDB entries, neighbours) the lab renders on host (a node or the router) from etcd's leases."""
    routes, fdb, neigh = _segment_routes(lab, host), set(), set()
    if host == "router":
        return routes, fdb, neigh
    own = {str(ipaddress.ip_interface(f"{a.ip}/24").network) for a in lab.addresses(host).values()}
    for lease in leases(lab):
        if lease.subnet in own:
            continue  # the node's own lease: cni0's connected route
        for item in lease_state(lease).items:
            if isinstance(item, Route):
                routes.add(_route_key(item.spec()))
            elif isinstance(item, FdbEntry):
                fdb.add((item.mac, item.dst))
            elif isinstance(item, Neighbour):
                neigh.add((item.ip, item.mac))
    return routes, fdb, neigh


def drift(lab, hosts: Iterable[str] = (), allowed: Dict[str, Iterable[str]] | None = None) -> List[str]:
    """What was added by hand: one line per route, FDB entry or neighbour the lab did not render (`allowed`:
    host -> route specs the exercise asks for, `10.244.1.0/24 via 172.16.1.1 dev eth0`)."""
    allowed = allowed or {}
    hosts = list(hosts) or [h for h in lab.hosts if lab.role(h) == "node" or h == "router"]
    found = []
    for host in hosts:
        routes, fdb, neigh = rendered(lab, host)
        routes |= {_route_key(spec) for spec in allowed.get(host, ())}
        found += [f"{host}: route {d} via {v} dev {dev}" for d, v, dev in sorted(live_routes(lab, host) - routes)]
        if host != "router":
            found += [f"{host}: fdb {m} dst {d} on {VXLAN_DEV}" for m, d in sorted(live_fdb(lab, host) - fdb)]
            found += [f"{host}: neighbour {i} lladdr {m} on {VXLAN_DEV}" for i, m in sorted(live_neigh(lab, host) - neigh)]
    return found


def _spec(key: RouteKey) -> str:
    dst, via, dev = key
    return dst + (f" via {via}" if via else "") + (f" dev {dev}" if dev else "")


def differences(lab, hosts: Iterable[str] = ()) -> List[Tuple[str, str, str]]:
    """(host, kind, `+ held, not rendered` | `- rendered, not held`) of routes, FDB entries and neighbours on the
    nodes and the router (`lab diff`): what drift() finds, and what the lab renders that is missing."""
    out: List[Tuple[str, str, str]] = []
    for host in list(hosts) or [h for h in lab.hosts if lab.role(h) == "node" or h == "router"]:
        routes, fdb, neigh = rendered(lab, host)
        held = live_routes(lab, host)
        out += [(host, "routes", f"+ {_spec(k)}") for k in sorted(held - routes)]
        out += [(host, "routes", f"- {_spec(k)}") for k in sorted(routes - held)]
        if host == "router" or lab.role(host) != "node":
            continue
        held_fdb, held_neigh = live_fdb(lab, host), live_neigh(lab, host)
        out += [(host, "fdb", f"+ {m} dst {d} dev {VXLAN_DEV}") for m, d in sorted(held_fdb - fdb)]
        out += [(host, "fdb", f"- {m} dst {d} dev {VXLAN_DEV}") for m, d in sorted(fdb - held_fdb)]
        out += [(host, "neighbours", f"+ {i} lladdr {m} dev {VXLAN_DEV}") for i, m in sorted(held_neigh - neigh)]
        out += [(host, "neighbours", f"- {i} lladdr {m} dev {VXLAN_DEV}") for i, m in sorted(neigh - held_neigh)]
    return out


def no_drift(allowed=None) -> Criterion:
    """Control criterion: nothing on the nodes and the router that the lab did not render (allowed(lab): host ->
    route specs the exercise's task asks for). Holds at start by design; a hand-made entry fails it."""
    def observe(lab) -> Outcome:
        extra = drift(lab, allowed=allowed(lab) if allowed else None)
        return Outcome(not extra, "; ".join(extra) if extra else "only what the lab rendered")
    return Criterion(text("no route, FDB or neighbour entry added by hand beyond the task (drift)",
                          "除任务要求外，没有手工添加的路由、FDB 或邻居表项（漂移检查）"), observe, control=True)
