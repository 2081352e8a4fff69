"""A lab host's kernel state as typed values, read over netlink (pyroute2) in the host's own namespace:
links, addresses, routes of every table, policy rules, neighbours and bridge/VXLAN FDB entries. Nothing here
parses `ip` text; values are written the way `ip` prints them (a /32 route as its address, `default`, table
`main`, `PERMANENT`), so a message built from them reads as before.

    state = kernel.read("mylab", "node1")       # KernelState (frozen)
    state.link("flannel.1").vxlan.vni            # 1
    [r.dst for r in state.routes if r.table == "main"]

read() enters the namespace bound at /var/run/netns/<lab>-<host> in a short-lived thread of its own (setns(2)
moves only that thread; no child process, which in a lab's process would inherit its signal handlers) and never
creates one; a host that is gone raises LabError.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

from lab import paths
from lab.errors import LabError

AF_BRIDGE = 7
FAMILIES = {socket.AF_INET: 4, socket.AF_INET6: 6}
TABLES = {255: "local", 254: "main", 253: "default", 0: "unspec"}
ROUTE_TYPES = {1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast", 6: "blackhole",
               7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat"}
PROTOCOLS = {0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 16: "dhcp"}
SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
NUD = ((0x80, "PERMANENT"), (0x40, "NOARP"), (0x02, "REACHABLE"), (0x04, "STALE"), (0x08, "DELAY"),
       (0x10, "PROBE"), (0x20, "FAILED"), (0x01, "INCOMPLETE"))
NTF_SELF, NTF_MASTER = 0x02, 0x04
READ_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Vxlan:
    vni: int
    port: int
    remote: str  # the fixed remote (`remote`/`group`), "" when the FDB decides
    local: str


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    kind: str  # veth, vxlan, bridge, openvswitch, tun, "" for a plain device (lo)
    mtu: int
    state: str  # operstate: UP, DOWN, UNKNOWN...
    up: bool  # administratively (IFF_UP)
    master: str
    mac: str
    peer: int  # IFLA_LINK: a veth's peer's ifindex (in its own namespace), 0 when none
    vxlan: Optional[Vxlan] = None


@dataclass(frozen=True)
class Address:
    dev: str
    cidr: str  # 10.128.0.1/23
    family: int  # 4 or 6
    scope: str

    @property
    def interface(self):
        return ipaddress.ip_interface(self.cidr)


@dataclass(frozen=True)
class Route:
    family: int
    table: str  # main, local, default or the number
    type: str  # unicast, local, broadcast, multicast, blackhole...
    dst: str  # as `ip route` prints it: default, 10.0.0.1, 10.0.0.0/24
    via: str = ""
    dev: str = ""
    proto: str = ""
    scope: str = ""
    src: str = ""
    metric: Optional[int] = None

    @property
    def network(self):
        """The destination as a network (default: 0.0.0.0/0 or ::/0)."""
        if self.dst == "default":
            return ipaddress.ip_network("0.0.0.0/0" if self.family == 4 else "::/0")
        return ipaddress.ip_network(self.dst, strict=False)


@dataclass(frozen=True)
class Rule:
    family: int
    priority: int
    table: str
    src: str = "all"
    dst: str = ""
    iif: str = ""
    oif: str = ""
    fwmark: int = 0
    action: str = "lookup"  # lookup, blackhole, unreachable, prohibit, goto, nop

    def text(self) -> str:
        """As `ip rule` prints it: `100: from 10.0.0.0/24 lookup 7`."""
        words = [f"{self.priority}:", "from", self.src or "all"]
        words += ["to", self.dst] if self.dst else []
        words += [f"fwmark {self.fwmark:#x}"] if self.fwmark else []
        words += ["iif", self.iif] if self.iif else []
        words += ["oif", self.oif] if self.oif else []
        words += ["lookup", self.table] if self.action == "lookup" else [self.action]
        return " ".join(words)


@dataclass(frozen=True)
class Neighbour:
    dev: str
    ip: str
    mac: str  # "" for an entry without one (INCOMPLETE, FAILED)
    state: str  # PERMANENT, REACHABLE, STALE...


@dataclass(frozen=True)
class Fdb:
    dev: str
    mac: str
    dst: str = ""  # a VXLAN device's remote for this MAC
    master: str = ""
    state: str = ""
    self_entry: bool = False  # the device's own table (`self`), not its master bridge's


@dataclass(frozen=True)
class KernelState:
    links: Tuple[Link, ...]
    addresses: Tuple[Address, ...]
    routes: Tuple[Route, ...]
    rules: Tuple[Rule, ...]
    neighbours: Tuple[Neighbour, ...]
    fdb: Tuple[Fdb, ...]

    def link(self, name: str) -> Optional[Link]:
        return next((link for link in self.links if link.name == name), None)

    def link_at(self, index: int) -> Optional[Link]:
        return next((link for link in self.links if link.index == index), None)

    def addresses_of(self, dev: str, family: int = 0) -> List[Address]:
        return [a for a in self.addresses if a.dev == dev and family in (0, a.family)]


# -- netlink messages -> values (each takes what a dump yields: pyroute2's nlmsg, read with .get)


def _attr(msg: Any, name: str, default: Any = None) -> Any:
    value = msg.get_attr(name) if hasattr(msg, "get_attr") else msg.get(name)
    return default if value is None else value


def _names(links: Iterable[Link]) -> Dict[int, str]:
    return {link.index: link.name for link in links}


def _prefix(family: int, addr: str, length: int) -> str:
    """An address and prefix length as `ip route` prints a destination."""
    full = 32 if family == socket.AF_INET else 128
    if not addr:
        return "default" if length == 0 else f"{'0.0.0.0' if family == socket.AF_INET else '::'}/{length}"
    return addr if length == full else f"{addr}/{length}"


def link_of(msg: Any) -> Link:
    info = _attr(msg, "IFLA_LINKINFO")
    kind, vxlan = "", None
    if info is not None:
        kind = _attr(info, "IFLA_INFO_KIND", "")
        data = _attr(info, "IFLA_INFO_DATA")
        if kind == "vxlan" and data is not None:
            vxlan = Vxlan(vni=int(_attr(data, "IFLA_VXLAN_ID", 0)), port=int(_attr(data, "IFLA_VXLAN_PORT", 0)),
                          remote=_attr(data, "IFLA_VXLAN_GROUP", "") or _attr(data, "IFLA_VXLAN_GROUP6", ""),
                          local=_attr(data, "IFLA_VXLAN_LOCAL", "") or _attr(data, "IFLA_VXLAN_LOCAL6", ""))
    return Link(index=int(msg["index"]), name=_attr(msg, "IFLA_IFNAME", ""), kind=kind,
                mtu=int(_attr(msg, "IFLA_MTU", 0)), state=_attr(msg, "IFLA_OPERSTATE", "UNKNOWN"),
                up=bool(msg["flags"] & 1), master=str(_attr(msg, "IFLA_MASTER", 0)), mac=_attr(msg, "IFLA_ADDRESS", ""),
                peer=int(_attr(msg, "IFLA_LINK", 0)), vxlan=vxlan)


def _named_masters(links: List[Link]) -> Tuple[Link, ...]:
    names = _names(links)
    return tuple(Link(**{**link.__dict__, "master": names.get(int(link.master), "") if link.master != "0" else ""})
                 for link in links)


def address_of(msg: Any, names: Dict[int, str]) -> Address:
    family = FAMILIES.get(msg["family"], 0)
    ip = _attr(msg, "IFA_ADDRESS", "") if family == 6 else _attr(msg, "IFA_LOCAL", "") or _attr(msg, "IFA_ADDRESS", "")
    return Address(dev=names.get(msg["index"], str(msg["index"])), cidr=f"{ip}/{msg['prefixlen']}", family=family,
                   scope=SCOPES.get(msg["scope"], str(msg["scope"])))


def route_of(msg: Any, names: Dict[int, str]) -> Route:
    table = int(_attr(msg, "RTA_TABLE", msg["table"]))
    oif = _attr(msg, "RTA_OIF")
    return Route(family=FAMILIES.get(msg["family"], 0), table=TABLES.get(table, str(table)),
                 type=ROUTE_TYPES.get(msg["type"], str(msg["type"])),
                 dst=_prefix(msg["family"], _attr(msg, "RTA_DST", ""), msg["dst_len"]),
                 via=_attr(msg, "RTA_GATEWAY", ""), dev=names.get(oif, str(oif)) if oif else "",
                 proto=PROTOCOLS.get(msg["proto"], str(msg["proto"])), scope=SCOPES.get(msg["scope"], str(msg["scope"])),
                 src=_attr(msg, "RTA_PREFSRC", ""), metric=_attr(msg, "RTA_PRIORITY"))


RULE_ACTIONS = {1: "lookup", 2: "goto", 3: "nop", 6: "blackhole", 7: "unreachable", 8: "prohibit"}


def rule_of(msg: Any) -> Rule:
    table = int(_attr(msg, "FRA_TABLE", msg["table"]))
    src = _attr(msg, "FRA_SRC", "")
    dst = _attr(msg, "FRA_DST", "")
    return Rule(family=FAMILIES.get(msg["family"], 0), priority=int(_attr(msg, "FRA_PRIORITY", 0)),
                table=TABLES.get(table, str(table)),
                src=_prefix(msg["family"], src, msg["src_len"]) if src else "all",
                dst=_prefix(msg["family"], dst, msg["dst_len"]) if dst else "",
                iif=_attr(msg, "FRA_IIFNAME", ""), oif=_attr(msg, "FRA_OIFNAME", ""),
                fwmark=int(_attr(msg, "FRA_FWMARK", 0)), action=RULE_ACTIONS.get(msg["action"], str(msg["action"])))


def nud(state: int) -> str:
    return next((name for bit, name in NUD if state & bit), "NONE")


def neighbour_of(msg: Any, names: Dict[int, str]) -> Neighbour:
    return Neighbour(dev=names.get(msg["ifindex"], str(msg["ifindex"])), ip=_attr(msg, "NDA_DST", ""),
                     mac=_attr(msg, "NDA_LLADDR", ""), state=nud(msg["state"]))


def fdb_of(msg: Any, names: Dict[int, str]) -> Fdb:
    master = _attr(msg, "NDA_MASTER", 0)
    return Fdb(dev=names.get(msg["ifindex"], str(msg["ifindex"])), mac=_attr(msg, "NDA_LLADDR", ""),
               dst=_attr(msg, "NDA_DST", ""), master=names.get(master, "") if master else "",
               state=nud(msg["state"]), self_entry=bool(msg["flags"] & NTF_SELF))


# -- reading a namespace


def state_of(ipr) -> KernelState:
    """Everything of one namespace from an open pyroute2 IPRoute (or NetNS)."""
    links = _named_masters([link_of(m) for m in ipr.get_links()])
    names = _names(links)
    routes = [route_of(m, names) for family in FAMILIES for m in ipr.route("dump", family=family)]
    rules = [rule_of(m) for family in FAMILIES for m in ipr.get_rules(family=family)]
    neigh = [neighbour_of(m, names) for family in FAMILIES for m in ipr.neigh("dump", family=family)]
    return KernelState(links=links, addresses=tuple(address_of(m, names) for m in ipr.get_addr()),
                       routes=tuple(routes), rules=tuple(sorted(rules, key=lambda r: (r.family, r.priority))),
                       neighbours=tuple(neigh),
                       fdb=tuple(fdb_of(m, names) for m in ipr.neigh("dump", family=AF_BRIDGE)))


CLONE_NEWNET = 0x40000000


def _read_in_thread(path: str, box: list) -> None:
    """In a thread of its own, which then ends: enter the namespace, read it. Never a forked child (pyroute2's
    IPRoute(netns=...)), which would carry the lab's signal handlers and tear the lab down when it is stopped."""
    try:
        from pyroute2 import IPRoute
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        finally:
            os.close(fd)
        with IPRoute() as ipr:
            box.append(state_of(ipr))
    except Exception as exc:  # noqa: BLE001 (handed to the caller)
        box.append(exc)


def read_netns(netns: str, timeout: float = READ_TIMEOUT_S) -> KernelState:
    """The state of the namespace bound at /var/run/netns/NETNS (never created: a missing one raises)."""
    box: list = []
    reader = threading.Thread(target=_read_in_thread, args=(os.path.join(paths.NETNS_DIR, netns), box),
                              name=f"netlink-{netns}", daemon=True)
    reader.start()
    reader.join(timeout)
    if not box:
        raise LabError(f"network namespace {netns!r}: no netlink answer within {timeout:.0f} s")
    if isinstance(box[0], OSError):
        raise LabError(f"network namespace {netns!r} cannot be read: {box[0].strerror or box[0]}")
    if isinstance(box[0], Exception):
        raise box[0]
    return box[0]


def read(lab_name: str, host: str) -> KernelState:
    """A lab host's kernel state (its namespace <lab>-<host>)."""
    return read_netns(paths.netns_name(host, lab_name))
