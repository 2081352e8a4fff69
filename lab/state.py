"""A host's desired network state as data, and the difference between two such states (pure, no I/O).

Every item knows its identity (`key`), where it goes in the order of a bring-up (`rank`: links before
addresses before routes; bridge before ports before flows) and its idempotent commands, so that
applying a state twice changes nothing and a live change applies only `diff(old, new)`.
Data-plane neutral: OpenShift, Flannel and the raw VXLAN labs all render into these items.

Why this shape:
- Order is a rank per item, not per kind: a veth must be up before OVS opens it as a port (else
  vswitchd logs errors), while tun0 and br-phy exist only once OVS made their ports.
- Commands are typed (Vsctl, Ip, FlowLine) so the executor can batch neighbours: one ovs-vsctl
  transaction, one `ip -batch`, one OpenFlow bundle per bridge. That keeps bring-up as fast as the
  hand-written scripts were, without pyroute2.
- A whole state uses commands that look before they act (`ip link show || add`, `--may-exist`,
  `replace`), so it can run twice; what a diff adds is known to be missing (`add_commands`).
- A flow's identity is OpenFlow's strict match (table, priority, match): a changed action or cookie
  is a replacement, as `ovs-ofctl diff-flows` sees it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Tuple, Type, TypeVar, Union

Pairs = Tuple[Tuple[str, str], ...]  # ordered key/value settings (hashable, unlike a dict)
Netns = Mapping[str, str]  # lab host name -> what `ip link ... netns` accepts for it (its shell's pid)


class Vsctl(str):
    """One ovs-vsctl command; the executor joins neighbouring ones into one `ovs-vsctl a -- b` transaction."""


class Ip(str):
    """One plain `ip ...` command (no shell syntax); the executor runs neighbouring ones as one `ip -batch`."""


class FlowLine(str):
    """One line of an `ovs-ofctl --bundle add-flows` file; the executor sends neighbouring ones as one bundle."""

    bridge: str

    def __new__(cls, bridge: str, line: str) -> "FlowLine":
        obj = super().__new__(cls, line)
        obj.bridge = bridge
        return obj


def _q(value: object) -> str:
    return shlex.quote(str(value))


@dataclass(frozen=True)
class File:
    """A file the data plane writes (subnet.env, a CNI config)."""

    path: str
    content: str
    rank = 5

    @property
    def key(self) -> tuple:
        return ("file", self.path)

    def commands(self, netns: Optional[Netns] = None) -> List[str]:
        d = self.path.rsplit("/", 1)[0] or "/"
        return [f"mkdir -p {_q(d)}", f"printf %s {_q(self.content)} > {_q(self.path)}"]

    def remove_commands(self) -> List[str]:
        return [f"rm -f {_q(self.path)}"]


@dataclass(frozen=True)
class Sysctl:
    name: str
    value: str
    rank = 0

    @property
    def key(self) -> tuple:
        return ("sysctl", self.name)

    def commands(self, netns: Optional[Netns] = None) -> List[str]:
        return [f"sysctl -qw {self.name}={self.value}"]

    def remove_commands(self) -> List[str]:
        return []  # a sysctl has no absence; the namespace's end resets it


@dataclass(frozen=True)
class Link:
    """A network device and its settings. kind '' means the device is made elsewhere (by OVS, by the
    lab's structure) and only its settings are ours; otherwise the item creates it (`ip link add`)."""

    name: str
    kind: str = ""  # "", "veth", "bridge", "vxlan"
    options: str = ""  # the kind's own arguments, e.g. "id 20 remote 172.16.1.12 dstport 4789 dev eth0"
    peer: str = ""  # veth: the other end's name ...
    peer_host: str = ""  # ... and the lab host whose namespace it goes into ("" = this one)
    mac: str = ""
    mtu: int = 0
    master: str = ""
    up: bool = True
    tx_checksum: bool = True  # False: `ethtool -K tx off` (userspace OVS datapath: TX checksum offload breaks TCP and UDP there)
    ovs_internal: bool = False  # made by OVS with its port (tun0, br-phy): settable only after the ports

    @property
    def rank(self) -> int:
        # created links first, up before OVS opens them as ports (a down port logs errors); OVS's own after
        return 40 if self.ovs_internal else 10

    @property
    def key(self) -> tuple:
        return ("link", self.name)

    def _create(self, netns: Optional[Netns], fresh: bool) -> str:
        cmd = f"ip link add {self.name}"
        if self.mac:
            cmd += f" address {self.mac}"
        if self.mtu:
            cmd += f" mtu {self.mtu}"
        cmd += f" type {self.kind}"
        if self.options:
            cmd += f" {self.options}"
        if self.kind == "veth":
            cmd += f" peer name {self.peer}"
            if self.mtu:
                cmd += f" mtu {self.mtu}"
            if self.peer_host:
                cmd += f" netns {(netns or {}).get(self.peer_host) or _netns_name(self.peer_host)}"
        # created only if missing: a second apply finds it and just re-asserts the settings below
        return cmd if fresh else f"ip link show {self.name} >/dev/null 2>&1 || {cmd}"

    def commands(self, netns: Optional[Netns] = None) -> List[str]:
        return self._commands(netns, fresh=False)

    def add_commands(self, netns: Optional[Netns] = None) -> List[str]:
        """Added by a diff, so known to be missing: made without first looking for it."""
        return self._commands(netns, fresh=True)

    def _commands(self, netns: Optional[Netns], fresh: bool) -> List[str]:
        cmds = [self._create(netns, fresh)] if self.kind else []
        settings = "".join(f" {k} {v}" for k, v in (("address", self.mac), ("mtu", self.mtu), ("master", self.master))
                           if v)
        cmds.append(Ip(f"ip link set {self.name}{settings} {'up' if self.up else 'down'}"))
        if not self.tx_checksum:
            cmds.append(f"ethtool -K {self.name} tx off >/dev/null")
        return cmds

    def remove_commands(self) -> List[str]:
        return [Ip(f"ip link del {self.name}")] if self.kind else []

    def replace_commands(self, old: "Link", netns: Optional[Netns] = None) -> List[str]:
        if (old.kind, old.options, old.peer, old.peer_host) != (self.kind, self.options, self.peer, self.peer_host):
            return old.remove_commands() + self.commands(netns)  # a device's type is fixed at creation
        return self.commands(netns)


def _netns_name(host: str) -> str:
    from lab.paths import netns_name  # pure: a name, no I/O
    return netns_name(host)


@dataclass(frozen=True)
class Address:
    cidr: str
    dev: str
    flags: str = ""  # e.g. "noprefixroute"
    rank = 50

    @property
    def key(self) -> tuple:
        return ("address", self.dev, self.cidr)

    def commands(self, netns: Optional[Netns] = None) -> List[str]:
        return [Ip(f"ip addr replace {self.cidr} dev {self.dev}" + (f" {self.flags}" if self.flags else ""))]

    def remove_commands(self) -> List[str]:
        return [Ip(f"ip addr del {self.cidr} dev {self.dev}")]


@dataclass(frozen=True)
class Route:
    dst: str
    via: str = ""
    dev: str = ""
    scope: str = ""
    onlink: bool = False
    rank = 60

    @property
    def key(self) -> tuple:
        return ("route", self.dst)

    def spec(self) -> str:
        s = self.dst
        s += f" via {self.via}" if self.via else ""
        s += f" dev {self.dev}" if self.dev else ""
        s += f" scope {self.scope}" if self.scope else ""
        return s + (" onlink" if self.onlink else "")

    def commands(self, netns: Optional[Netns] = None) -> List[str]:
        return [Ip(f"ip route replace {self.spec()}")]

    def remove_commands(self) -> List[str]:
        return [Ip(f"ip route del {self.spec()}")]


@dataclass(frozen=True)
class Neighbour:
    ip: str
    mac: str
    dev: str
    rank = 55  # before the routes that lead to it, as flanneld orders them

    @property
    def key(self) -> tuple:
        return ("neighbour", self.dev, self.ip)

    def commands(self, netns: Optional[Netns] = None) -> List[str]:
        return [Ip(f"ip neigh replace {self.ip} lladdr {self.mac} dev {self.dev} nud permanent")]

    def remove_commands(self) -> List[str]:
        return [Ip(f"ip neigh del {self.ip} dev {self.dev}")]


@dataclass(frozen=True)
class FdbEntry:
    mac: str
    dev: str
    dst: str
    rank = 52  # before neighbour and route: both together then run as one `ip -batch`

    @property
    def key(self) -> tuple:
        return ("fdb", self.dev, self.mac)

    def commands(self, netns: Optional[Netns] = None) -> List[str]:
        return [f"bridge fdb replace {self.mac} dev {self.dev} dst {self.dst} self permanent"]

    def remove_commands(self) -> List[str]:
        return [f"bridge fdb del {self.mac} dev {self.dev} dst {self.dst} self"]


def _settings(table: str, name: str, columns: Pairs) -> List[Vsctl]:
    return [Vsctl(f"set {table} {name} " + " ".join(f"{k}={_q(v)}" for k, v in columns))] if columns else []


@dataclass(frozen=True)
class OvsBridge:
    """A bridge of the host's own Open vSwitch: columns like datapath_type, fail_mode, other_config:hwaddr."""

    name: str
    columns: Pairs = ()
    rank = 20

    @property
    def key(self) -> tuple:
        return ("ovs-bridge", self.name)

    def commands(self, netns: Optional[Netns] = None) -> List[str]:
        return [Vsctl(f"--may-exist add-br {self.name}"), *_settings("bridge", self.name, self.columns)]

    def remove_commands(self) -> List[str]:
        return [Vsctl(f"--if-exists del-br {self.name}")]


@dataclass(frozen=True)
class OvsPort:
    """A port and its interface: columns like type, options:key, ofport_request, external-ids:ip."""

    bridge: str
    name: str
    columns: Pairs = ()
    rank = 30

    @property
    def key(self) -> tuple:
        return ("ovs-port", self.name)

    def commands(self, netns: Optional[Netns] = None) -> List[str]:
        return [Vsctl(f"--may-exist add-port {self.bridge} {self.name}"), *_settings("interface", self.name,
                                                                                     self.columns)]

    def remove_commands(self) -> List[str]:
        return [Vsctl(f"--if-exists del-port {self.bridge} {self.name}")]

    def replace_commands(self, old: "OvsPort", netns: Optional[Netns] = None) -> List[str]:
        if old.bridge != self.bridge:
            return old.remove_commands() + self.commands(netns)
        return self.commands(netns)


@dataclass(frozen=True)
class OvsFrags:
    """How the bridge's OpenFlow tables see IP fragments (`ovs-ofctl set-frags`)."""

    bridge: str
    mode: str
    rank = 35

    @property
    def key(self) -> tuple:
        return ("ovs-frags", self.bridge)

    def commands(self, netns: Optional[Netns] = None) -> List[str]:
        return [f"ovs-ofctl -O OpenFlow13 set-frags {self.bridge} {self.mode}"]

    def remove_commands(self) -> List[str]:
        return []


@dataclass(frozen=True)
class OvsTunnelNeighbour:
    """An entry of the userspace datapath's tunnel neighbour cache (else a tunnel's first packet waits for ARP)."""

    bridge: str
    ip: str
    mac: str
    rank = 55

    @property
    def key(self) -> tuple:
        return ("ovs-tnl-neigh", self.ip)

    def commands(self, netns: Optional[Netns] = None) -> List[str]:
        return [f"ovs-appctl tnl/neigh/set {self.bridge} {self.ip} {self.mac} >/dev/null"]

    def remove_commands(self) -> List[str]:
        return []  # a cache: OVS ages it out


@dataclass(frozen=True)
class Flow:
    """One OpenFlow rule in `ovs-ofctl add-flow` text. Identity: bridge, table, priority and match,
    as OpenFlow's strict match sees it; actions and cookie are what a replacement changes."""

    bridge: str
    text: str
    rank = 80

    def _parts(self) -> Tuple[Dict[str, str], List[str], str]:
        head, _, actions = self.text.partition("actions=")
        fields: Dict[str, str] = {}
        match: List[str] = []
        for part in (p.strip() for p in head.split(",")):
            name, _, value = part.partition("=")
            if name in ("table", "priority", "cookie"):
                fields[name] = value
            elif part:
                match.append(part)
        return fields, match, actions

    @property
    def table(self) -> int:
        return int(self._parts()[0].get("table", "0"))

    @property
    def key(self) -> tuple:
        fields, match, _ = self._parts()
        return ("flow", self.bridge, int(fields.get("table", "0")), int(fields.get("priority", "32768")),
                tuple(sorted(match)))

    def strict_match(self) -> str:
        """table, priority and match without cookie or actions: what `delete_strict` needs."""
        fields, match, _ = self._parts()
        head = [f"table={fields.get('table', '0')}"]
        if "priority" in fields:
            head.append(f"priority={fields['priority']}")
        return ", ".join(head + match)

    def commands(self, netns: Optional[Netns] = None) -> List[str]:
        return [FlowLine(self.bridge, f"add {self.text}")]

    def remove_commands(self) -> List[str]:
        return [FlowLine(self.bridge, f"delete_strict {self.strict_match()}")]


@dataclass(frozen=True)
class Iptables:
    """iptables-restore text. Without noflush it owns the tables it names (OpenShift's node does);
    with noflush its own chains are flushed and refilled, and the jumps into them are kept once."""

    text: str
    noflush: bool = False
    name: str = "iptables"
    rank = 90

    @property
    def key(self) -> tuple:
        return ("iptables", self.name)

    def commands(self, netns: Optional[Netns] = None) -> List[str]:
        if not self.noflush:
            return [heredoc("iptables-restore", self.text)]
        own, jumps = _split_jumps(self.text)
        cmds = [heredoc("iptables-restore --noflush", own)]
        # a built-in chain is not flushed by --noflush: add each jump only if it is missing
        cmds += [f"iptables -t {t} -C {rule} 2>/dev/null || iptables -t {t} -A {rule}" for t, rule in jumps]
        return cmds

    def add_commands(self, netns: Optional[Netns] = None) -> List[str]:
        """Added by a diff, so the jumps are known to be missing: one restore appends everything."""
        return [heredoc("iptables-restore --noflush" if self.noflush else "iptables-restore", self.text)]

    def remove_commands(self) -> List[str]:
        if not self.noflush:
            return []
        own, jumps = _split_jumps(self.text)
        cmds = [f"iptables -t {t} -D {rule} 2>/dev/null || true" for t, rule in jumps]
        for table, chain in _own_chains(own):
            cmds += [f"iptables -t {table} -F {chain}", f"iptables -t {table} -X {chain}"]
        return cmds


BUILTIN_CHAINS = {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}


def _split_jumps(text: str) -> Tuple[str, List[Tuple[str, str]]]:
    """Restore text without its rules in built-in chains, and those rules as (table, rule)."""
    lines, jumps, table = [], [], "filter"
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:]
        if line.startswith("-A ") and line.split()[1] in BUILTIN_CHAINS:
            jumps.append((table, line[3:]))
        else:
            lines.append(line)
    return "\n".join(lines) + "\n", jumps


def _own_chains(text: str) -> List[Tuple[str, str]]:
    chains, table = [], "filter"
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":") and line[1:].split()[0] not in BUILTIN_CHAINS:
            chains.append((table, line[1:].split()[0]))
    return chains


def heredoc(command: str, body: str) -> str:
    """`command /dev/stdin` fed from a quoted here-document (nothing in body is expanded)."""
    return f"{command} <<'SDNLAB_EOF'\n{body.rstrip(chr(10))}\nSDNLAB_EOF"


Item = Union[File, Sysctl, Link, Address, Route, Neighbour, FdbEntry, OvsBridge, OvsPort, OvsFrags,
             OvsTunnelNeighbour, Flow, Iptables]
T = TypeVar("T")


@dataclass(frozen=True)
class NodeState:
    """Everything one host should hold, in the order its items were rendered."""

    items: Tuple[Item, ...] = ()

    def __post_init__(self) -> None:
        seen: Dict[tuple, Item] = {}
        for item in self.items:
            if item.key in seen and seen[item.key] != item:
                raise ValueError(f"two different items for {item.key}: {seen[item.key]} and {item}")
            seen[item.key] = item

    @classmethod
    def of_items(cls, items: Iterable[Item]) -> "NodeState":
        unique: Dict[tuple, Item] = {}
        for item in items:
            unique.setdefault(item.key, item)
        return cls(tuple(unique.values()))

    def __add__(self, other: "NodeState") -> "NodeState":
        return NodeState.of_items(self.items + other.items)

    def of(self, kind: Type[T]) -> List[T]:
        return [i for i in self.items if isinstance(i, kind)]

    def flows(self, bridge: str) -> List[str]:
        return [f.text for f in self.of(Flow) if f.bridge == bridge]

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class StateDiff:
    """What turns one state into another: items to add, to remove, and (old, new) pairs to replace."""

    added: Tuple[Item, ...] = ()
    removed: Tuple[Item, ...] = ()
    replaced: Tuple[Tuple[Item, Item], ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.replaced)

    def of(self, kind: type) -> "StateDiff":
        return StateDiff(tuple(i for i in self.added if isinstance(i, kind)),
                         tuple(i for i in self.removed if isinstance(i, kind)),
                         tuple(p for p in self.replaced if isinstance(p[1], kind)))

    def describe(self) -> List[str]:
        """One line per change, `+`/`-`/`~`, as a CLI verb would show it."""
        return ([f"- {_show(i)}" for i in self.removed] + [f"~ {_show(n)}" for _o, n in self.replaced]
                + [f"+ {_show(i)}" for i in self.added])


def _show(item: Item) -> str:
    return item.text if isinstance(item, Flow) else repr(item)


def diff(old: NodeState, new: NodeState) -> StateDiff:
    before = {i.key: i for i in old.items}
    after = {i.key: i for i in new.items}
    return StateDiff(added=tuple(i for k, i in after.items() if k not in before),
                     removed=tuple(i for k, i in before.items() if k not in after),
                     replaced=tuple((before[k], i) for k, i in after.items() if k in before and before[k] != i))


def ordered(items: Iterable[Item], reverse: bool = False) -> List[Item]:
    """Bring-up order by rank (stable within a rank); teardown order is the reverse."""
    return sorted(items, key=lambda i: i.rank, reverse=reverse)
