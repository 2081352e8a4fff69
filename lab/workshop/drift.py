"""Drift: what a lab's hosts hold that the lab did not render (a hand-made flow, iptables rule, address or
route), and what they lack of what it renders. The desired state comes from the lab's own process (its
`rendered` control verb, the render it applies: lab.planes.openshift.rendered), never from a file in the run
directory; the held state is read from the switches and kernels now:

- flows: `ovs-ofctl diff-flows RENDERED br0` in the node (the switch normalises both sides; counters,
  durations and idle ages are not compared, cookies are where the lab renders them);
- iptables: `iptables-save` against the rendered restore texts, rule by rule (-N/-A/-P lines, a copy of a
  rendered rule counts as one more);
- addresses: the kernel's, over netlink (lab.observe.kernel; IPv6 link-local and loopback's own left out);
- routes (netlink too): every table but the kernel's own entries (local table, a connected route of an address), and
  policy rules besides the three defaults.

    drift.differences(lab)                      # ["node2 flows: + table=80, priority=150, ...", ...]
    drift.nothing_hand_made(("node1", "node2"))  # a Criterion: passes when none of those hosts drifted
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections import Counter
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from lab import paths
from lab.errors import LabError
from lab.observe import kernel
from lab.workshop.exercise import Criterion, Outcome, text

KINDS = ("flows", "iptables", "addresses", "routes")
KINDS_ZH = {"flows": "流表", "iptables": "iptables 规则", "addresses": "地址", "routes": "路由"}
DEFAULT_RULES = {"0: from all lookup local", "32766: from all lookup main", "32767: from all lookup default"}


def rendered(lab) -> dict:
    """The lab's desired state per host, from its own process (in-process or over its control socket)."""
    return json.loads(lab.ask("rendered", ""))["hosts"]


# -- iptables


def rule_lines(save_text: str) -> List[str]:
    """iptables-save / restore text as `-t TABLE -P CHAIN POLICY`, `-t TABLE -N CHAIN`, `-t TABLE -A ...`
    lines; a built-in chain's ACCEPT policy (every table's default) is left out."""
    out, table = [], "filter"
    for line in save_text.splitlines():
        line = line.strip()
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            chain, policy = (line[1:].split() + ["-"])[:2]
            if policy == "-":
                out.append(f"-t {table} -N {chain}")
            elif policy != "ACCEPT":
                out.append(f"-t {table} -P {chain} {policy}")
        elif line.startswith("-A "):
            out.append(f"-t {table} {line}")
    return out


def _multiset_diff(held: Iterable[str], want: Iterable[str]) -> List[str]:
    extra = Counter(held) - Counter(want)
    missing = Counter(want) - Counter(held)
    return ([f"+ {r}" for r in extra.elements()] + [f"- {r}" for r in missing.elements()])


def iptables_drift(lab, host: str, state: dict) -> List[str]:
    want = [r for t in state.get("iptables", []) for r in rule_lines(t)]
    return _multiset_diff(rule_lines(lab.sh(host, "iptables-save")), want)


# -- flows


def flows_drift(lab, host: str, state: dict) -> List[str]:
    """`diff-flows` of the rendered flows (a private file) against each bridge the lab renders flows for."""
    out: List[str] = []
    for bridge, flows in state.get("flows", {}).items():
        path = os.path.join(paths.run_dir(lab.name), f"drift-{host}-{bridge}-{os.getpid()}.flows")
        with paths.open_private(path) as f:
            f.write("".join(line + "\n" for line in flows))
        try:
            r = lab.run(host, f"ovs-ofctl -O OpenFlow13 --no-names diff-flows {path} {bridge}")
        finally:
            os.unlink(path)
        if r.returncode != 0 and not r.stdout.strip():  # (a difference exits 2, with the lines)
            out.append(f"? {bridge}: {(r.stderr or r.stdout).strip()}")
            continue
        for line in r.stdout.splitlines():
            line = line.strip()
            if line[:1] in "+-" and line[1:].strip():
                out.append(f"{line[0]} {bridge} {line[1:].strip()}")
    return out


# -- addresses


def held_addresses(lab, host: str, state: Optional[kernel.KernelState] = None) -> List[Tuple[str, str]]:
    """(cidr, dev) of every address but IPv6 link-local ones and loopback's own."""
    state = state or kernel.read(lab.name, host)
    return [(a.cidr, a.dev) for a in state.addresses
            if not (a.family == 6 and a.interface.ip.is_link_local)
            and not (a.dev == "lo" and a.cidr in ("127.0.0.1/8", "::1/128"))]


def addresses_drift(lab, host: str, state: dict) -> List[str]:
    want = [f"{a['cidr']} dev {a['dev']}" for a in state.get("addresses", [])]
    return _multiset_diff([f"{c} dev {d}" for c, d in held_addresses(lab, host)], want)


# -- routes


def _route(r: kernel.Route) -> Dict[str, str]:
    """A kernel route as the words `ip route show table all` gives it: type, dst, and via, dev, table (but
    main), proto (but boot, the default of a route added by hand), scope, src, metric, by name."""
    route = {"type": r.type, "dst": r.dst}
    words = {"via": r.via, "dev": r.dev, "table": "" if r.table == "main" else r.table,
             "proto": "" if r.proto == "boot" else r.proto, "src": r.src,
             "metric": "" if r.metric is None else str(r.metric)}
    route.update({k: v for k, v in words.items() if v})
    return route


def _kernel_made(route: Dict[str, str], nets: Dict[str, List[ipaddress._BaseNetwork]]) -> bool:
    """A route the kernel makes itself: the local table's, an address's connected route, IPv6's own."""
    if route.get("proto") != "kernel":
        return False
    if route.get("table") == "local":
        return True
    dst = route["dst"]
    if dst.startswith("fe80::") or dst.startswith("ff00::"):
        return True
    try:
        net = ipaddress.ip_network(dst, strict=False)
    except ValueError:
        return False
    return net in nets.get(route.get("dev", ""), [])


def _shown(route: Dict[str, str]) -> str:
    words = [] if route["type"] == "unicast" else [route["type"]]
    words.append(route["dst"])
    words += [f"{k} {route[k]}" for k in ("via", "dev", "table", "proto") if k in route]
    return " ".join(words)


def routes_drift(lab, host: str, state: dict) -> List[str]:
    held = kernel.read(lab.name, host)
    nets: Dict[str, List] = {}
    for cidr, dev in held_addresses(lab, host, held):
        nets.setdefault(dev, []).append(ipaddress.ip_interface(cidr).network)
    want = list(state.get("routes", []))
    out = []
    for route in map(_route, held.routes):
        if _kernel_made(route, nets):
            continue
        match = next((w for w in want if route["type"] == "unicast" and route.get("table", "main") == "main"
                      and w["dst"] == route["dst"] and w.get("via", "") == route.get("via", "")
                      and (not w.get("dev") or w["dev"] == route.get("dev"))), None)
        if match is None:
            out.append(f"+ {_shown(route)}")
        else:
            want.remove(match)
    out += [f"- {w['dst']}" + (f" via {w['via']}" if w.get("via") else "") + (f" dev {w['dev']}" if w.get("dev") else "")
            for w in want]
    for rule in held.rules:
        if rule.text() not in DEFAULT_RULES:
            out.append(f"+ rule {rule.text()}")
    return out


# -- neighbours and FDB entries (`lab diff`'s, not the workshop's: a student's fix may be one)


def neighbours_drift(lab, host: str, state: dict) -> List[str]:
    """Permanent neighbours (the kernel's learned ones come and go) against those rendered (none today)."""
    held = [f"{n.ip} lladdr {n.mac} dev {n.dev}" for n in kernel.read(lab.name, host).neighbours
            if n.state == "PERMANENT" and n.mac]
    return _multiset_diff(held, [f"{n['ip']} lladdr {n['mac']} dev {n['dev']}" for n in state.get("neighbours", [])])


def fdb_drift(lab, host: str, state: dict) -> List[str]:
    """Permanent FDB entries that send to a remote (a VXLAN device's) against those rendered (none today)."""
    held = [f"{e.mac} dst {e.dst} dev {e.dev}" for e in kernel.read(lab.name, host).fdb
            if e.dst and e.state == "PERMANENT"]
    return _multiset_diff(held, [f"{e['mac']} dst {e['dst']} dev {e['dev']}" for e in state.get("fdb", [])])


OBSERVERS = {"flows": flows_drift, "iptables": iptables_drift, "addresses": addresses_drift, "routes": routes_drift,
             "neighbours": neighbours_drift, "fdb": fdb_drift}
DIFF_KINDS = KINDS + ("neighbours", "fdb")


def found(lab, hosts: Optional[Sequence[str]] = None, what: Sequence[str] = KINDS) -> List[Tuple[str, str, str]]:
    """(host, kind, `+ held, not rendered` | `- rendered, not held`) for every difference between the hosts
    (all the lab renders a state for, by default) and the lab's render; kind "" when the host has no state."""
    states = rendered(lab)
    out: List[Tuple[str, str, str]] = []
    for host in hosts or list(states):
        state = states.get(host)
        if state is None:
            out.append((host, "", "the lab renders no state for it"))
            continue
        for kind in what:
            try:
                out += [(host, kind, d) for d in OBSERVERS[kind](lab, host, state)]
            except LabError as exc:  # (BadInput too) a host the lab renders but cannot be read: said, not hidden
                out.append((host, kind, f"could not be read: {' '.join(str(exc).split())}"))
    return out


def differences(lab, hosts: Optional[Sequence[str]] = None, what: Sequence[str] = KINDS) -> List[str]:
    """Every difference between the hosts (all the lab renders a state for, by default) and the lab's render:
    `HOST KIND: + held, not rendered` / `HOST KIND: - rendered, not held`."""
    return [f"{h} {k}: {d}" if k else f"{h}: {d}" for h, k, d in found(lab, hosts, what)]


def nothing_hand_made(hosts: Optional[Sequence[str]] = None, what: Sequence[str] = KINDS,
                      control: bool = True) -> Criterion:
    """A criterion any exercise can use: the hosts (default every host the lab renders) hold exactly what the
    lab renders now for `what` (flows, iptables, addresses, routes): a fix made by hand fails it. A control
    by default: a lab at its start (faults aside) holds what it renders."""
    unknown = set(what) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown drift kinds {sorted(unknown)} (known: {', '.join(KINDS)})")
    where = ", ".join(hosts) if hosts else "every host"
    where_zh = ", ".join(hosts) if hosts else "所有主机"
    kinds = ", ".join(what)
    kinds_zh = "、".join(KINDS_ZH[k] for k in what)

    def observe(lab) -> Outcome:
        found = differences(lab, hosts, what)
        if not found:
            return Outcome(True, f"{where}: {kinds} as the lab renders them")
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        return Outcome(False, "; ".join(found[:3]) + more)
    return Criterion(text(f"nothing made by hand on {where} ({kinds}): all of it as the lab renders",
                          f"{where_zh} 上没有手工添加的内容（{kinds_zh}）：全部与实验渲染的一致"), observe, control=control)


def report(lab, hosts: Optional[Sequence[str]] = None) -> str:
    """`check`'s drift section: one line per difference, or that there is none."""
    found = differences(lab, hosts)
    return "\n".join(["drift (+ held, not rendered; - rendered, not held):"] + [f"  {d}" for d in found]) \
        if found else "drift: none (every host as the lab renders it)"

