"""Break/fix faults for a running lab, injected and repaired from any shell by the lab's name.

A fault acts on the lab's kernel objects and switches through its named namespaces
(/var/run/netns/<lab>-<host>) and each node's private OVS (OVS_RUNDIR=/run/sdnlab/<lab>/<node>/ovs),
so it needs no handle on the process that runs the lab. Before it breaks anything it reads the item
it is about to break as the lab rendered it (a flow, a route, a neighbour, an FDB entry, an iptables
table, an MTU, an offload setting) and records the commands that put that item back
(RUN_DIR/<lab>/faults/<fault>.json); `repair` runs them and forgets the record.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from lab import cleanup, paths
from lab.errors import BadInput, LabError
from lab.daemons.ovs import UNDERLAY_BRIDGE, ovs_dir, ovs_env
from lab.state import FdbEntry, Neighbour

OFCTL = "ovs-ofctl -O OpenFlow13 --no-names"
WRONG_MAC = "02:de:ad:be:ef:01"  # locally administered: no lab host ever has it
COMMAND_TIMEOUT = 20.0


def _natural(name: str) -> tuple:
    """pod2 before pod10."""
    return tuple(int(w) if w.isdigit() else w for w in re.split(r"(\d+)", name))


class LiveLab:
    """A running lab reached by its name alone: its hosts, a shell command in any of them."""

    def __init__(self, name: str):
        self.name = paths.check_name(name)
        try:
            with open(os.path.join(paths.run_dir(name), "info.json")) as f:
                self.topology = json.load(f).get("topology", "?")
        except (OSError, ValueError):
            raise BadInput(f"no lab named {name!r} runs here (see `lab ps`)") from None
        prefix = paths.netns_name("", name)
        self.hosts = sorted((os.path.basename(p)[len(prefix):] for p in cleanup.recorded_binds(name)
                             if os.path.exists(p)), key=_natural)
        if not self.hosts:
            raise BadInput(f"lab {name!r} has no namespaces (stale? see `lab ps`)")

    @property
    def nodes(self) -> List[str]:
        return [h for h in self.hosts if re.fullmatch(r"node\d+", h)]

    @property
    def pods(self) -> List[str]:
        return [h for h in self.hosts if re.fullmatch(r"pod\d+", h)]

    def need(self, host: str, kind: str = "host") -> str:
        if host not in self.hosts:
            raise BadInput(f"lab {self.name!r} has no {kind} {host!r} (hosts: {', '.join(self.hosts)})")
        return host

    def sh(self, host: str, script: str, check: bool = True) -> str:
        """A shell script in the host's namespace (with the node's OVS in reach); its output."""
        env = dict(os.environ, **ovs_env(ovs_dir(os.path.join(paths.run_dir(self.name), host))))
        r = subprocess.run(["ip", "netns", "exec", paths.netns_name(host, self.name), "sh", "-c", script],
                           env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        if check and r.returncode != 0:
            raise LabError(f"{host}: `{script}` failed: {(r.stderr or r.stdout).strip()}")
        return r.stdout

    def addresses(self, host: str) -> Dict[str, ipaddress.IPv4Interface]:
        """dev -> its first IPv4 address with prefix."""
        found: Dict[str, ipaddress.IPv4Interface] = {}
        for line in self.sh(host, "ip -4 -o addr show").splitlines():
            words = line.split()
            found.setdefault(words[1], ipaddress.ip_interface(words[3]))
        return found

    def underlay_ip(self, node: str) -> str:
        """The node's address on the underlay: on br-phy (userspace datapath) or eth0."""
        addrs = self.addresses(node)
        for dev in (UNDERLAY_BRIDGE, "eth0"):
            if dev in addrs:
                return str(addrs[dev].ip)
        raise LabError(f"{node} has no underlay address")

    def ip_of(self, target: str) -> str:
        """A host of the lab (its eth0, or a node's underlay address) or an IPv4 address."""
        if target in self.hosts:
            return self.underlay_ip(target) if target in self.nodes else str(self.addresses(target)["eth0"].ip)
        try:
            return str(ipaddress.ip_address(target))
        except ValueError:
            raise BadInput(f"{target!r} is neither a host of lab {self.name!r} nor an IPv4 address") from None

    def datapath(self, node: str) -> str:
        return self.sh(node, "ovs-vsctl get bridge br0 datapath_type").strip().strip('"') or "system"

    def is_openshift(self) -> bool:
        return self.topology == "openshift"


Undo = List[Tuple[str, str]]  # (host, command) run in order by repair


@dataclass
class Injected:
    did: str  # what the fault changed, for a person
    undo: Undo
    hint: str = ""  # where the symptom shows


@dataclass(frozen=True)
class Fault:
    name: str
    topologies: Tuple[str, ...]
    usage: str  # the arguments, with their defaults
    summary: str
    inject: Callable[[LiveLab, List[str]], Injected] = field(compare=False)


def _args(args: List[str], defaults: Sequence[str], usage: str) -> List[str]:
    if len(args) > len(defaults):
        raise BadInput(f"too many arguments (usage: {usage})")
    return list(args) + list(defaults[len(args):])


def _two_nodes(lab: LiveLab, args: List[str], usage: str) -> Tuple[str, str]:
    if len(lab.nodes) < 2:
        raise BadInput("this fault needs a lab with two nodes or more")
    node, remote = _args(args, lab.nodes[:2], usage)
    lab.need(node, "node"), lab.need(remote, "node")
    if node == remote:
        raise BadInput(f"{node} and {remote}: give two different nodes")
    return node, remote


def _delete_flow(lab: LiveLab, node: str, table: int, pattern: str, what: str) -> Injected:
    dump = lab.sh(node, f"{OFCTL} --no-stats dump-flows br0 table={table}")
    lines = [ln for ln in dump.splitlines() if re.search(pattern, ln)]
    if not lines:
        raise LabError(f"{node}: no table-{table} flow {what} (already removed?)")
    flow = lines[0].strip()  # `--no-stats`: add-flow takes it back as it is, cookie included
    strict = re.sub(r"cookie=\S+,\s*", "", flow).split(" actions=")[0]  # table, priority and match
    lab.sh(node, f"{OFCTL} --strict del-flows br0 {shlex.quote(strict)}")
    return Injected(f"{node}: deleted the table-{table} flow {what}: {flow}",
                    [(node, f"{OFCTL} add-flow br0 {shlex.quote(flow)}")])


def inject_flow_90(lab: LiveLab, args: List[str]) -> Injected:
    node, remote = _two_nodes(lab, args, FAULTS["flow-90"].usage)
    subnet = lab.addresses(remote)["tun0"].network
    done = _delete_flow(lab, node, 90, rf"nw_dst={re.escape(str(subnet))}\b", f"for {remote}'s subnet {subnet}")
    done.hint = f"pods on {node} lose pods on {remote}: `trace` ends with drop in table 90"
    return done


def inject_tun_src(lab: LiveLab, args: List[str]) -> Injected:
    node, remote = _two_nodes(lab, args, FAULTS["tun-src"].usage)
    ip = lab.underlay_ip(remote)
    done = _delete_flow(lab, node, 10, rf"tun_src={re.escape(ip)}\b", f"accepting VXLAN from {remote} ({ip})")
    done.hint = f"{node} drops what {remote} tunnels to it in table 10 (its n_packets moves)"
    return done


def inject_masquerade(lab: LiveLab, args: List[str]) -> Injected:
    (node,) = _args(args, lab.nodes[:1], FAULTS["masquerade"].usage)
    lab.need(node, "node")
    chain = "OPENSHIFT-MASQUERADE" if lab.is_openshift() else "FLANNEL-POSTRTG"
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


def inject_mtu(lab: LiveLab, args: List[str]) -> Injected:
    node, mtu = _args(args, (lab.nodes[0] if lab.nodes else "", "1500"), FAULTS["mtu"].usage)
    lab.need(node, "node")
    if not mtu.isdigit() or not 576 <= int(mtu) <= 9000:
        raise BadInput(f"MTU {mtu!r}: a number from 576 to 9000")
    dev = "tun0"
    old = lab.sh(node, f"cat /sys/class/net/{dev}/mtu").strip()
    # OVS owns tun0's MTU (it puts back a bare `ip link` change): ask OVS, as a wrong node-config would
    request = lab.sh(node, "ovs-vsctl get interface tun0 mtu_request").strip()
    undo = [(node, "ovs-vsctl " + ("clear interface tun0 mtu_request" if request == "[]"
                                   else f"set interface tun0 mtu_request={request}")),
            (node, f"ip link set {dev} mtu {old}")]
    lab.sh(node, f"ovs-vsctl set interface tun0 mtu_request={mtu}")
    lab.sh(node, f"ip link set {dev} mtu {mtu}")
    return Injected(f"{node}: {dev} MTU {old} -> {mtu} (the overlay's MTU is {old}; VXLAN needs 50 bytes)", undo,
                    f"{node} sends overlay packets bigger than the tunnel can carry: large pings get no answer")


def _vxlan_lease_entries(lab: LiveLab, node: str, remote: str) -> Tuple[str, str, str]:
    """(remote underlay IP, remote VTEP MAC, remote VTEP IP) as node holds them on flannel.1."""
    if lab.topology != "flannel" or "flannel.1" not in lab.sh(node, "ip -o link show"):
        raise BadInput("this fault is for Flannel's vxlan backend (flannel.1)")
    ip = lab.underlay_ip(remote)
    fdb = [ln.split() for ln in lab.sh(node, "bridge fdb show dev flannel.1").splitlines()]
    mac = next((w[0] for w in fdb if "dst" in w and w[w.index("dst") + 1] == ip), None)
    if mac is None:
        raise LabError(f"{node}: no FDB entry for {remote} ({ip}) on flannel.1 (already removed?)")
    neigh = [ln.split() for ln in lab.sh(node, "ip neigh show dev flannel.1").splitlines()]
    vtep = next((w[0] for w in neigh if "lladdr" in w and w[w.index("lladdr") + 1] == mac), "")
    return ip, mac, vtep


def inject_fdb(lab: LiveLab, args: List[str]) -> Injected:
    node, remote = _two_nodes(lab, args, FAULTS["fdb"].usage)
    ip, mac, _vtep = _vxlan_lease_entries(lab, node, remote)
    entry = FdbEntry(mac, "flannel.1", ip)
    for cmd in entry.remove_commands():
        lab.sh(node, cmd)
    return Injected(f"{node}: deleted the FDB entry {mac} dst {ip} on flannel.1 ({remote}'s VTEP)",
                    [(node, c) for c in entry.commands()],
                    f"{node}'s kernel knows {remote}'s VTEP MAC but not where to send it: nothing leaves eth0")


def inject_neigh(lab: LiveLab, args: List[str]) -> Injected:
    node, remote = _two_nodes(lab, args, FAULTS["neigh"].usage)
    _ip, mac, vtep = _vxlan_lease_entries(lab, node, remote)
    if not vtep:
        raise LabError(f"{node}: no neighbour entry for {remote}'s VTEP on flannel.1 (already removed?)")
    entry = Neighbour(vtep, mac, "flannel.1")
    for cmd in entry.remove_commands():
        lab.sh(node, cmd)
    return Injected(f"{node}: deleted the neighbour {vtep} lladdr {mac} on flannel.1 ({remote}'s VTEP)",
                    [(node, c) for c in entry.commands()],
                    f"flannel.1 has nolearning and no ARP answers: {node} cannot resolve {vtep}")


def inject_tx_checksum(lab: LiveLab, args: List[str]) -> Injected:
    (pod,) = _args(args, lab.pods[:1], FAULTS["tx-checksum"].usage)
    lab.need(pod, "pod")
    if not lab.is_openshift() or lab.datapath(lab.nodes[0]) != "netdev":
        raise BadInput("tx-checksum is a fault of the userspace OVS datapath (an OpenShift lab on netdev)")
    lab.sh(pod, "ethtool -K eth0 tx on >/dev/null")
    return Injected(f"{pod}: TX checksum offload on eth0 back on (ethtool -K eth0 tx on)",
                    [(pod, "ethtool -K eth0 tx off >/dev/null")],
                    f"ping from {pod} still works; its UDP and TCP arrive with bad checksums and are dropped")


def inject_stale_arp(lab: LiveLab, args: List[str]) -> Injected:
    pods = lab.pods
    pod, dest = _args(args, (pods[0] if pods else "", pods[-1] if pods else ""), FAULTS["stale-arp"].usage)
    lab.need(pod, "pod")
    dst_ip = lab.ip_of(dest)
    route = lab.sh(pod, f"ip -4 -o route get {dst_ip}").split()
    hop = route[route.index("via") + 1] if "via" in route else dst_ip  # the address the pod ARPs for
    dev = route[route.index("dev") + 1]
    old = lab.sh(pod, f"ip neigh show {hop} dev {dev}").split()
    undo = ([(pod, Neighbour(hop, old[old.index("lladdr") + 1], dev).commands()[0])]
            if "PERMANENT" in old and "lladdr" in old else [(pod, f"ip neigh del {hop} dev {dev}")])
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
    host, dest = _args(args, (hosts[0] if hosts else "", lab.pods[-1] if lab.pods else ""), FAULTS["route"].usage)
    lab.need(host)
    dst_ip = lab.ip_of(dest)
    route = _route_for(lab, host, dst_ip)
    if not route:
        raise LabError(f"{host}: no route covers {dest} ({dst_ip})")
    lab.sh(host, f"ip route del {route}")
    return Injected(f"{host}: deleted the route `{route}`", [(host, f"ip route replace {route}")],
                    f"{host} has no route to {dest} ({dst_ip}): `Network is unreachable` or the wrong way out")


VNID_LOAD = r"(load:0x[0-9a-f]+->NXM_NX_REG0\[\]|set_field:0x[0-9a-f]+->reg0)"  # as ovs-ofctl prints it


def inject_vnid(lab: LiveLab, args: List[str]) -> Injected:
    """The pod's table-20 flows (ARP and IP from its port) load another VNID into REG0: its packets
    then belong to another project, and table 80 (multitenant) isolates them from their own."""
    pods = lab.pods
    pod, vnid = _args(args, (pods[0] if pods else "", "0x999"), FAULTS["vnid"].usage)
    lab.need(pod, "pod")
    try:
        wrong = int(vnid, 0)
    except ValueError:
        wrong = -1
    if not 0 <= wrong < 2 ** 24:
        raise BadInput(f"VNID {vnid!r}: a number from 0 to 0xffffff")
    ip = lab.ip_of(pod)
    node = next((n for n in lab.nodes if ipaddress.ip_address(ip) in lab.addresses(n)["tun0"].network), "")
    if not node:
        raise LabError(f"no node holds {pod}'s subnet ({ip})")
    dump = lab.sh(node, f"{OFCTL} --no-stats dump-flows br0 table=20")
    flows = [ln.strip() for ln in dump.splitlines() if re.search(rf"(nw_src|arp_spa)={re.escape(ip)}\b", ln)
             and re.search(VNID_LOAD, ln)]
    if not flows:
        raise LabError(f"{node}: no table-20 flow loads {pod}'s VNID (is this a multitenant or networkpolicy lab?)")
    broken = [re.sub(VNID_LOAD, f"load:{wrong:#x}->NXM_NX_REG0[]", f) for f in flows]
    if broken == flows:
        raise LabError(f"{node}: {pod}'s table-20 flows already load VNID {wrong:#x}")
    # same table, priority and match: add-flow replaces the actions, and the undo puts the old ones back
    lab.sh(node, "\n".join(f"{OFCTL} add-flow br0 {shlex.quote(f)}" for f in broken))
    return Injected(f"{node}: {pod}'s table-20 flows now load VNID {wrong:#x} into REG0 instead of its project's",
                    [(node, f"{OFCTL} add-flow br0 {shlex.quote(f)}") for f in flows],
                    f"{pod}'s packets carry another project's VNID: table 80 drops what it sends to its own project")


FAULTS: Dict[str, Fault] = {f.name: f for f in [
    Fault("flow-90", ("openshift",), "[NODE [REMOTE]]",
          "NODE's table-90 flow for REMOTE's subnet deleted (default node1 node2)", inject_flow_90),
    Fault("tun-src", ("openshift",), "[NODE [REMOTE]]",
          "NODE's table-10 flow accepting VXLAN from REMOTE's tun_src deleted (default node1 node2)", inject_tun_src),
    Fault("masquerade", ("openshift", "flannel"), "[NODE]",
          "NODE's MASQUERADE rules removed (OPENSHIFT-MASQUERADE / FLANNEL-POSTRTG; default node1)",
          inject_masquerade),
    # not Flannel: the kernel's VXLAN fragments the outer packet, so a bigger flannel.1 MTU shows no symptom
    Fault("mtu", ("openshift",), "[NODE [MTU]]",
          "NODE's tun0 given MTU 1500, more than VXLAN leaves of the underlay's 1500 (default node1 1500)",
          inject_mtu),
    Fault("fdb", ("flannel",), "[NODE [REMOTE]]",
          "Flannel vxlan: NODE's FDB entry for REMOTE's VTEP on flannel.1 deleted (default node1 node2)", inject_fdb),
    Fault("neigh", ("flannel",), "[NODE [REMOTE]]",
          "Flannel vxlan: NODE's neighbour entry for REMOTE's VTEP on flannel.1 deleted (default node1 node2)",
          inject_neigh),
    Fault("tx-checksum", ("openshift",), "[POD]",
          "userspace datapath: TX checksum offload back on for POD's eth0 (default the first pod)", inject_tx_checksum),
    Fault("stale-arp", ("openshift", "flannel"), "[POD [DEST]]",
          "a permanent wrong neighbour in POD for the next hop to DEST (default first and last pod)", inject_stale_arp),
    Fault("route", ("openshift", "flannel"), "[HOST [DEST]]",
          "HOST's route to DEST deleted (default node1, the last pod)", inject_route),
    Fault("vnid", ("openshift",), "[POD [VNID]]",
          "multitenant: POD's table-20 flows load a wrong VNID (default the first pod, 0x999)", inject_vnid),
]}


def _record_dir(lab: str) -> str:
    return os.path.join(paths.run_dir(lab), "faults")


def injected(lab: str) -> List[dict]:
    """The faults in place in lab `lab`, as recorded by inject."""
    d = _record_dir(lab)
    found = []
    for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        with open(os.path.join(d, f)) as fh:
            found.append(json.load(fh))
    return found


def fault(name: str) -> Fault:
    if name not in FAULTS:
        raise BadInput(f"unknown fault {name!r} (known: {', '.join(FAULTS)}; see `lab fault list`)")
    return FAULTS[name]


def inject(lab_name: str, name: str, args: Sequence[str] = ()) -> str:
    """Break the running lab; returns what was done and how to undo it."""
    f = fault(name)
    lab = LiveLab(lab_name)
    if lab.topology not in f.topologies:
        raise BadInput(f"fault {name!r} is for {', '.join(f.topologies)} labs; lab {lab_name!r} is {lab.topology}")
    record = os.path.join(_record_dir(lab_name), f"{name}.json")
    if os.path.exists(record):
        raise BadInput(f"fault {name!r} is already injected in lab {lab_name!r}; `lab fault repair {name}` first")
    done = f.inject(lab, list(args))
    os.makedirs(_record_dir(lab_name), exist_ok=True)
    with open(record, "w") as fh:
        json.dump({"fault": name, "args": list(args), "did": done.did, "undo": done.undo, "hint": done.hint}, fh)
    return (f"injected {name}: {done.did}\n"
            + (f"symptom: {done.hint}\n" if done.hint else "")
            + f"undo: lab fault repair --name {lab_name} {name}   ("
            + "; ".join(f"{h}: {c.splitlines()[0]}" for h, c in done.undo) + ")")


def repair(lab_name: str, name: str) -> str:
    """Put back what inject broke (the items as the lab had rendered them)."""
    fault(name)
    lab = LiveLab(lab_name)
    record = os.path.join(_record_dir(lab_name), f"{name}.json")
    try:
        with open(record) as fh:
            done = json.load(fh)
    except FileNotFoundError:
        raise BadInput(f"fault {name!r} is not injected in lab {lab_name!r}") from None
    for host, cmd in done["undo"]:
        lab.sh(host, cmd)
    os.unlink(record)
    return f"repaired {name}: " + "; ".join(f"{h}: {c.splitlines()[0]}" for h, c in done["undo"])


def list_text(topology: Optional[str] = None) -> str:
    rows = [f for f in FAULTS.values() if topology is None or topology in f.topologies]
    width = max(len(f"{f.name} {f.usage}") for f in FAULTS.values())
    return "\n".join(f"{(f.name + ' ' + f.usage):<{width}}  {'/'.join(f.topologies):<17} {f.summary}" for f in rows)


USAGE = ("lab fault list [--name LAB] | inject [--name LAB] FAULT [ARGS...] | repair [--name LAB] FAULT|--all "
         "| status [--name LAB]")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise BadInput(f"{message} (usage: {USAGE})")


def main(argv: Sequence[str], lab_name: Optional[str] = None) -> int:
    """`lab fault ...` and the CLI verb `fault ...` (lab_name: the CLI's own lab)."""
    p = _Parser(prog="lab fault", add_help=False)
    p.add_argument("verb", choices=["list", "inject", "repair", "status"])
    p.add_argument("--name", default=lab_name or paths.lab_name())
    p.add_argument("--all", action="store_true")
    argv = list(argv)
    if not argv:
        raise BadInput(f"usage: {USAGE}")
    # --name may come anywhere before the fault's name; the fault's own arguments follow it
    head = [argv.pop(0)]
    while argv and argv[0] in ("--name", "--all"):
        head.append(argv.pop(0))
        if head[-1] == "--name" and argv:
            head.append(argv.pop(0))
    a = p.parse_args(head)
    a.words = argv
    if a.verb == "list":
        if a.words:
            raise BadInput(f"`fault list` takes only --name (usage: {USAGE})")
        topology = None
        if "--name" in head or lab_name:
            try:
                topology = LiveLab(a.name).topology
            except BadInput:
                topology = None
        print(list_text(topology))
        return 0
    paths.check_name(a.name)
    if a.verb == "status":
        found = injected(a.name)
        print("\n".join(f"{d['fault']}: {d['did']}" for d in found) or f"no faults injected in lab {a.name!r}")
        return 0
    from lab.requirements import require_root
    require_root()
    if a.verb == "repair" and a.all:
        names = [d["fault"] for d in injected(a.name)]
        for n in names:
            print(repair(a.name, n))
        if not names:
            print(f"no faults injected in lab {a.name!r}")
        return 0
    if not a.words:
        raise BadInput(f"`fault {a.verb}` needs a fault's name (usage: {USAGE})")
    if a.verb == "inject":
        print(inject(a.name, a.words[0], a.words[1:]))
    else:
        if len(a.words) != 1:
            raise BadInput(f"`fault repair` takes one fault's name (usage: {USAGE})")
        print(repair(a.name, a.words[0]))
    return 0


def fault_verb(net) -> Dict[str, Tuple[Callable[[str], None], str]]:
    """The CLI verb `fault`, on the CLI's own lab."""
    def do_fault(line: str) -> None:
        main(line.split(), lab_name=net.name)

    return {"fault": (do_fault, "fault list | inject FAULT [ARGS] | repair FAULT|--all | status: break/fix this lab")}
