"""Drift on a running raw VXLAN lab (vxlan-p2p, docker-vxlan) for `lab diff`: each host's links, addresses,
routes, neighbours and VXLAN FDB entries against the lab's render (lab.planes.rawvxlan.realize.render_host /
render_container), read over netlink (lab.observe.kernel). docker-vxlan counts as connected when vxlan100 is
on either host (the lab's own `connect` asks the kernel the same way); a Docker-runtime lab's hosts are left
to Docker (their bridges and veths are Docker's), only their own items are compared."""

from __future__ import annotations

from collections import Counter
from typing import Iterable, List, Optional, Tuple

from lab.observe import kernel
from lab.planes.rawvxlan.realize import RawVxlan, render_container, render_host
from lab.state import Address, Link, NodeState

Found = List[Tuple[str, str, str]]


def _config(lab) -> RawVxlan:
    return RawVxlan("p2p" if lab.topology == "vxlan-p2p" else "docker")


def _vxlan_words(vni: int, remote: str, port: int) -> str:
    return f" vxlan id {vni}" + (f" remote {remote}" if remote else "") + f" dstport {port}"


def _options(item: Link) -> dict:
    """`id 20 remote 172.16.1.12 dstport 4789 dev eth0` by name."""
    return dict(zip(item.options.split()[::2], item.options.split()[1::2], strict=False))


def _rendered_link(item: Link) -> str:
    words = _options(item)
    text = item.name + (_vxlan_words(int(words["id"]), words.get("remote", ""), int(words.get("dstport", 0)))
                        if item.kind == "vxlan" else "")
    return text + (f" master {item.master}" if item.master else "")


def _held_link(link: kernel.Link, rendered: Optional[str]) -> str:
    text = link.name + (_vxlan_words(link.vxlan.vni, link.vxlan.remote, link.vxlan.port) if link.vxlan else "")
    text += f" master {link.master}" if link.master else ""
    # a rendered link the render says nothing more of: its name and master are what is compared
    return rendered if rendered is not None and rendered == text else text


def _multiset(held: Iterable[str], want: Iterable[str]) -> List[str]:
    h, w = Counter(held), Counter(want)
    return [f"+ {x}" for x in (h - w).elements()] + [f"- {x}" for x in (w - h).elements()]


def host_differences(state: NodeState, held: kernel.KernelState, docker_runtime: bool) -> List[Tuple[str, str]]:
    out: List[Tuple[str, str]] = []
    want_links = {item.name: _rendered_link(item) for item in state.of(Link)}
    if not docker_runtime:
        held_links = [_held_link(link, want_links.get(link.name)) for link in held.links]
        out += [("links", d) for d in _multiset(held_links, want_links.values())]
    want_addr = [f"{a.cidr} dev {a.dev}" for a in state.of(Address)]
    held_addr = [f"{a.cidr} dev {a.dev}" for a in held.addresses
                 if not (a.family == 6 and a.interface.ip.is_link_local)
                 and not (a.dev == "lo" and a.cidr in ("127.0.0.1/8", "::1/128"))
                 and (not docker_runtime or a.dev in {x.dev for x in state.of(Address)})]
    out += [("addresses", d) for d in _multiset(held_addr, want_addr)]
    out += [("routes", f"+ {r.dst}" + (f" via {r.via}" if r.via else "") + (f" dev {r.dev}" if r.dev else ""))
            for r in held.routes if r.table == "main" and r.proto != "kernel" and r.family == 4]
    out += [("neighbours", f"+ {n.ip} lladdr {n.mac} dev {n.dev}") for n in held.neighbours if n.state == "PERMANENT"]
    vxlans: dict = {link.name: link.vxlan for link in held.links if link.vxlan}
    remotes = {item.name: _options(item).get("remote", "") for item in state.of(Link) if item.kind == "vxlan"}
    want_fdb = [f"00:00:00:00:00:00 dst {remote} dev {name}" for name, remote in remotes.items() if remote]
    vxlans.update(dict.fromkeys(set(remotes) - set(vxlans)))
    held_fdb = [f"{e.mac} dst {e.dst} dev {e.dev}" for e in held.fdb
                if e.dev in vxlans and e.dst and e.state == "PERMANENT"]  # learned entries come and go
    out += [("fdb", d) for d in _multiset(held_fdb, want_fdb)]
    return out


def differences(lab, hosts: Iterable[str] = ()) -> Found:
    """(host, kind, +/- line) for the lab's hosts and containers (`lab diff`)."""
    config = _config(lab)
    names = [h for h, _ip in config.hosts]
    helds = {h: kernel.read(lab.name, h) for h in names}
    connected = any(s.link("vxlan100") for s in helds.values())
    docker_runtime = any(s.link("docker0") for s in helds.values())
    out: Found = []
    for host in list(hosts) or [h for h in lab.hosts if h in names or lab.role(h) == "container"]:
        if host in names:
            state, held = render_host(config, host, connected=connected), helds[host]
        elif config.kind == "docker" and host in {c for c, _h, _ip in config.containers}:
            state, held = render_container(config, host), kernel.read(lab.name, host)
        else:
            out.append((host, "", "the lab renders no state for it"))
            continue
        out += [(host, kind, line) for kind, line in host_differences(state, held, docker_runtime)]
    return out
