"""A checkpoint of a workshop lab: every host's kernel and switch state, dumped right after the exercise's
setup (and at each stage's start), put back by `reset` and compared again.

Per host (one shell each): links (name, ifindex, MTU, up), IPv4 addresses, routes of every table (not
the kernel's own local/broadcast entries), rules, permanent neighbours, VXLAN FDB entries, iptables
(every table, iptables-save), the sysctls that matter, TX checksum offload per link; on a node with
its own Open vSwitch: bridges, ports, interfaces (type, ofport, options, mtu_request), flows and groups.
The fault records of lab.front.faults are kept with it (what `solve` repairs stays true after a reset).
"""

from __future__ import annotations

import json
import os
import shlex
import time
from typing import Dict, List, Tuple

from lab import paths
from lab.front import faults

DIR = "checkpoints"
SYSCTLS = ("net/ipv4/ip_forward", "net/ipv4/conf/all/forwarding", "net/ipv4/conf/all/rp_filter",
           "net/ipv4/conf/default/rp_filter", "net/ipv4/conf/all/proxy_arp", "net/ipv4/conf/all/accept_local",
           "net/ipv4/conf/all/send_redirects", "net/ipv4/icmp_echo_ignore_all")
OFCTL = "ovs-ofctl -O OpenFlow13 --no-names"

_DUMP = r"""
echo @@link; ip -j link show
echo @@addr; ip -j -4 addr show
echo @@route; ip -4 route show table all
echo @@rule; ip -4 rule show
echo @@neigh; ip -4 neigh show nud permanent
echo @@fdb; bridge fdb show 2>/dev/null | grep ' dst ' || true
echo @@iptables; iptables-save 2>/dev/null || true
echo @@sysctl; for k in %s; do [ -e /proc/sys/$k ] && echo "$k=$(cat /proc/sys/$k)"; done
echo @@offload; for d in $(ls /sys/class/net); do [ "$d" = lo ] || echo "$d $(ethtool -k $d 2>/dev/null | sed -n 's/^tx-checksumming: \([a-z]*\).*/\1/p')"; done
""" % " ".join(SYSCTLS)

_DUMP_OVS = f"""
echo @@ovs-bridges; ovs-vsctl list-br
for b in $(ovs-vsctl list-br); do
  echo "@@ovs-flows $b"; {OFCTL} --no-stats dump-flows $b | grep -v '^OFPST'
  echo "@@ovs-groups $b"; {OFCTL} dump-groups $b | grep -v '^OFPST' || true
  echo "@@ovs-ports $b"; ovs-vsctl list-ports $b
done
echo @@ovs-interfaces; ovs-vsctl -f json --columns=name,type,ofport,mtu_request,options list interface
"""


def has_ovs(lab, host: str) -> bool:
    """Only a host with its own OVS (OVS_RUNDIR in its environment): never the machine-wide one."""
    return "OVS_RUNDIR" in lab.records.get(host, {}).get("env", {})


def dump_host(lab, host: str) -> Dict[str, str]:
    """section -> its raw text, for one host."""
    r = lab.run(host, _DUMP + (_DUMP_OVS if has_ovs(lab, host) else ""))
    sections: Dict[str, List[str]] = {}
    current = None
    for line in r.stdout.splitlines():
        if line.startswith("@@"):
            current = line[2:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return {k: "\n".join(v) for k, v in sections.items()}


def dump(lab) -> Dict[str, Dict[str, str]]:
    return {h: dump_host(lab, h) for h in lab.hosts}


# --- normalised views: what must be equal after a reset ------------------------------------------------

def links(raw: Dict[str, str]) -> Dict[str, dict]:
    """name -> MTU and up state (what must be equal; a link OVS made again has another ifindex)."""
    return {name: {"mtu": d.get("mtu"), "up": "UP" in d.get("flags", [])} for name, d in _link_data(raw).items()}


def ifindexes(raw: Dict[str, str]) -> Dict[str, int]:
    return {name: d["ifindex"] for name, d in _link_data(raw).items()}


def _link_data(raw: Dict[str, str]) -> Dict[str, dict]:
    try:
        data = json.loads(raw.get("link") or "[]")
    except ValueError:
        data = []
    return {d["ifname"]: d for d in data}


def addrs(raw: Dict[str, str]) -> List[str]:
    try:
        data = json.loads(raw.get("addr") or "[]")
    except ValueError:
        data = []
    return sorted(f"{a['local']}/{a['prefixlen']} dev {d['ifname']}" for d in data
                  for a in d.get("addr_info", []) if a.get("family") == "inet")


def _lines(text: str) -> List[str]:
    return sorted({" ".join(ln.split()) for ln in text.splitlines() if ln.strip()})


def routes(raw: Dict[str, str]) -> List[str]:
    """Routes of every table, without the ones the kernel makes for an address (local, broadcast)."""
    out = []
    for line in _lines(raw.get("route", "")):
        if line.startswith(("local ", "broadcast ")) and "table local" in line:
            continue
        out.append(" ".join(w for w in line.split() if w not in ("linkdown", "dead")))
    return sorted(set(out))


def iptables(raw: Dict[str, str]) -> Dict[str, List[str]]:
    """table -> its chains and rules (iptables-save without comments and counters)."""
    tables: Dict[str, List[str]] = {}
    current = ""
    for line in raw.get("iptables", "").splitlines():
        if line.startswith("*"):
            current = line[1:].strip()
            tables[current] = []
        elif current and line.startswith(":"):
            tables[current].append(line.rsplit(" [", 1)[0])
        elif current and line.startswith("-"):
            tables[current].append(line)
    return tables


def kv(text: str, sep: str) -> Dict[str, str]:
    return dict(ln.split(sep, 1) for ln in text.splitlines() if sep in ln)


def ovs(raw: Dict[str, str]) -> dict:
    if "ovs-bridges" not in raw:
        return {}
    bridges = _lines(raw["ovs-bridges"])
    try:
        heads_data = json.loads(raw.get("ovs-interfaces") or "{}")
    except ValueError:
        heads_data = {}
    ifaces = {}
    for row in heads_data.get("data", []):
        item = dict(zip(heads_data["headings"], row, strict=False))
        mtu = item.get("mtu_request")
        opts = item.get("options")
        ifaces[item["name"]] = {"type": item.get("type", ""), "ofport": item.get("ofport"),
                                "mtu_request": mtu if isinstance(mtu, int) else None,
                                "options": dict(opts[1]) if isinstance(opts, list) and len(opts) == 2 else {}}
    return {"bridges": bridges,
            "flows": {b: _lines(raw.get(f"ovs-flows {b}", "")) for b in bridges},
            "groups": {b: _lines(raw.get(f"ovs-groups {b}", "")) for b in bridges},
            "ports": {b: _lines(raw.get(f"ovs-ports {b}", "")) for b in bridges},
            "interfaces": ifaces}


def view(raw: Dict[str, str]) -> dict:
    return {"links": links(raw), "addresses": addrs(raw), "routes": routes(raw), "rules": _lines(raw.get("rule", "")),
            "neighbours": _lines(raw.get("neigh", "")), "fdb": _lines(raw.get("fdb", "")),
            "iptables": iptables(raw), "sysctls": kv(raw.get("sysctl", ""), "="),
            "offloads": {k: v for k, v in kv(raw.get("offload", ""), " ").items() if v}, "ovs": ovs(raw)}


def flat(v: dict) -> dict:
    """A view with one section per iptables table and per switch's flows, groups and ports (precise lines)."""
    out = {k: x for k, x in v.items() if k not in ("iptables", "ovs")}
    out.update({f"iptables {t}": rules for t, rules in v["iptables"].items()})
    o = v["ovs"]
    if o:
        out["ovs bridges"], out["ovs interfaces"] = o["bridges"], o["interfaces"]
        for what in ("flows", "groups", "ports"):
            out.update({f"ovs {what} of {br}": items for br, items in o[what].items()})
    return out


def differences(before: Dict[str, Dict[str, str]], now: Dict[str, Dict[str, str]]) -> List[str]:
    """What differs between two dumps, one line each (host: what): empty when they are equal."""
    out = []
    for host in sorted(set(before) | set(now)):
        if host not in now:
            out.append(f"{host}: the namespace is gone")
            continue
        if host not in before:
            out.append(f"{host}: a namespace the checkpoint does not have")
            continue
        a, b = flat(view(before[host])), flat(view(now[host]))
        for section in sorted(set(a) | set(b)):
            if section not in a or section not in b:
                out.append(f"{host}: {section}: {'extra' if section not in a else 'missing'}")
                continue
            if a[section] == b[section]:
                continue
            x, y = a[section], b[section]
            if isinstance(x, list) and isinstance(y, list):
                gone, extra = [i for i in x if i not in y], [i for i in y if i not in x]
                out.append(f"{host}: {section}: " + "; ".join(
                    ([f"missing {', '.join(gone)}"] if gone else []) + ([f"extra {', '.join(extra)}"] if extra else [])))
            elif isinstance(x, dict) and isinstance(y, dict):
                keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
                out.append(f"{host}: {section}: " + ", ".join(
                    f"{k} {'missing' if k not in y else 'extra' if k not in x else 'changed'}" for k in keys))
    return out


# --- taking and restoring ------------------------------------------------------------------------------

def checkpoint_path(name: str, stage: int) -> str:
    return os.path.join(paths.run_dir(name), DIR, f"stage-{stage}.json")


def take(lab, stage: int = 0) -> dict:
    """Dump every host of the lab and keep it (0600) as the checkpoint of `stage` (0-based)."""
    cp = {"time": time.time(), "stage": stage, "hosts": dump(lab), "faults": faults.injected(lab.name)}
    os.makedirs(os.path.join(paths.run_dir(lab.name), DIR), mode=0o700, exist_ok=True)
    with paths.open_private(checkpoint_path(lab.name, stage)) as f:
        json.dump(cp, f)
    return cp


def load(name: str, stage: int = 0):
    try:
        with open(checkpoint_path(name, stage)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _ovs_commands(host: str, want: dict, have: dict, have_links: dict, scratch: str) -> Tuple[List[str], List[str]]:
    """Commands that put the host's switches back, and what cannot be put back."""
    cmds: List[str] = []
    lost: List[str] = []
    for br in want.get("bridges", []):
        if br not in have.get("bridges", []):
            lost.append(f"{host}: the OVS bridge {br} is gone")
            continue
        for port in want["ports"][br]:
            if port in have.get("ports", {}).get(br, []):
                continue
            i = want["interfaces"].get(port, {})
            if i.get("type", "") in ("", "system") and port not in have_links:
                continue  # its link is gone too: reported with the links
            sets = [f"ofport_request={i['ofport']}"] if isinstance(i.get("ofport"), int) and i["ofport"] > 0 else []
            sets += [f"type={i['type']}"] if i.get("type") else []
            sets += [f"options:{k}={shlex.quote(v)}" for k, v in i.get("options", {}).items()]
            cmds.append(f"ovs-vsctl --may-exist add-port {br} {port}" + (f" -- set interface {port} {' '.join(sets)}" if sets else ""))
        for port in have.get("ports", {}).get(br, []):
            if port not in want["ports"][br]:
                cmds.append(f"ovs-vsctl --if-exists del-port {br} {port}")
        groups = os.path.join(scratch, f"{host}-{br}.groups")
        flows = os.path.join(scratch, f"{host}-{br}.flows")
        with paths.open_private(groups) as f:
            f.write("\n".join(want["groups"][br]) + "\n")
        with paths.open_private(flows) as f:
            f.write("\n".join(want["flows"][br]) + "\n")
        if want["groups"][br] != have.get("groups", {}).get(br, []):
            cmds.append(f"{OFCTL} del-groups {br}" + (f" && {OFCTL} add-groups {br} {groups}" if want["groups"][br] else ""))
        cmds.append(f"{OFCTL} replace-flows {br} {flows}")
    for port, i in want.get("interfaces", {}).items():
        cur = have.get("interfaces", {}).get(port)
        if cur is not None and cur.get("mtu_request") != i.get("mtu_request"):
            cmds.append(f"ovs-vsctl set interface {port} mtu_request={i['mtu_request']}" if i.get("mtu_request")
                        else f"ovs-vsctl clear interface {port} mtu_request")
    if want.get("bridges"):
        cmds.append("ovs-appctl revalidator/wait")
    return cmds, lost


def restore_commands(host: str, want_raw: Dict[str, str], have_raw: Dict[str, str],
                     scratch: str) -> Tuple[List[str], List[str]]:
    """The commands (in order) that bring host from have to want; and what they cannot bring back."""
    want, have = view(want_raw), view(have_raw)
    cmds: List[str] = []
    lost: List[str] = []
    if want["ovs"]:
        c, gone = _ovs_commands(host, want["ovs"], have["ovs"], have["links"], scratch)
        cmds += c
        lost += gone
    # links: a renamed one (same ifindex) gets its name back; extra ones go; MTU and up state as they were
    want_index, have_index = ifindexes(want_raw), ifindexes(have_raw)
    by_index = {v: k for k, v in have_index.items()}
    remade = {n for n, i in want["ovs"].get("interfaces", {}).items() if i.get("type") not in ("", "system")}
    for name, index in want_index.items():
        if name in have_index:
            continue
        now = by_index.get(index)
        if now is not None and now not in want_index:
            cmds.append(f"ip link set dev {now} down && ip link set dev {now} name {name}")
        elif name not in remade:  # an OVS internal port comes back with its port
            lost.append(f"{host}: the link {name} is gone")
    for name, index in have_index.items():
        if name not in want_index and index not in want_index.values():
            cmds.append(f"ip link del dev {name}")
    for name, w in want["links"].items():
        cmds.append(f"ip link set dev {name} mtu {w['mtu']} {'up' if w['up'] else 'down'} 2>/dev/null || true")
    for dev, state in want["offloads"].items():
        if have["offloads"].get(dev) != state:
            cmds.append(f"ethtool -K {dev} tx {state} >/dev/null 2>&1 || true")
    for k, v in want["sysctls"].items():
        if have["sysctls"].get(k) != v:
            cmds.append(f"echo {shlex.quote(v)} > /proc/sys/{k}")
    for a in have["addresses"]:
        if a not in want["addresses"]:
            cmds.append(f"ip addr del {a}")
    for a in want["addresses"]:
        if a not in have["addresses"]:
            cmds.append(f"ip addr add {a}")
    for r in have["routes"]:
        if r not in want["routes"]:
            cmds.append(f"ip route del {r}")
    for r in want["routes"]:
        if r not in have["routes"]:
            cmds.append(f"ip route replace {r}")
    for r in have["rules"]:
        if r not in want["rules"]:
            pref, rest = r.split(":", 1)
            cmds.append(f"ip rule del pref {pref} {rest}")
    for r in want["rules"]:
        if r not in have["rules"]:
            pref, rest = r.split(":", 1)
            cmds.append(f"ip rule add pref {pref} {rest}")
    for n in have["neighbours"]:
        if n not in want["neighbours"]:
            w = n.split()
            cmds.append(f"ip neigh del {w[0]} dev {w[w.index('dev') + 1]}")
    for n in want["neighbours"]:
        if n not in have["neighbours"]:
            w = n.split()
            cmds.append(f"ip neigh replace {w[0]} dev {w[w.index('dev') + 1]} lladdr {w[w.index('lladdr') + 1]} nud permanent")
    cmds.append("ip -4 neigh flush all >/dev/null 2>&1 || true")  # what was learned since (never the permanent)
    for f, verb in [(x, "del") for x in have["fdb"] if x not in want["fdb"]] + \
                   [(x, "append") for x in want["fdb"] if x not in have["fdb"]]:
        w = f.split()
        cmds.append(f"bridge fdb {verb} {w[0]} dev {w[w.index('dev') + 1]} dst {w[w.index('dst') + 1]} self"
                    + (" permanent" if verb == "append" else ""))
    if want["iptables"] != have["iptables"]:
        saved = os.path.join(scratch, f"{host}.iptables")
        with paths.open_private(saved) as fh:
            fh.write(want_raw.get("iptables", "") + "\n")
        cmds += [f"iptables -t {t} -F && iptables -t {t} -X" for t in have["iptables"] if t not in want["iptables"]]
        cmds.append(f"iptables-restore < {saved}")
    return cmds, lost


def restore(lab, cp: dict, rounds: int = 3) -> Tuple[List[str], List[str]]:
    """Put every host back as the checkpoint has it, then dump again and compare (a link brought down to
    be renamed loses its routes: the next round puts them back). Returns (what could not be put back,
    what still differs from the checkpoint); both empty when the lab is as it was."""
    scratch = os.path.join(paths.run_dir(lab.name), DIR, "restore")
    os.makedirs(scratch, mode=0o700, exist_ok=True)
    lost: List[str] = []
    now = dump(lab)
    for _ in range(rounds):
        lost = []
        for host, want in cp["hosts"].items():
            if host not in now:
                lost.append(f"{host}: the namespace is gone")
                continue
            cmds, gone = restore_commands(host, want, now[host], scratch)
            lost += gone
            lab.run(host, "\n".join(f"{c} 2>&1 | sed 's/^/{host}: /' >&2" for c in cmds))
        now = dump(lab)
        if not differences(cp["hosts"], now):
            break
    _restore_fault_records(lab.name, cp.get("faults", []))
    return lost, differences(cp["hosts"], now)


def _restore_fault_records(name: str, records: List[dict]) -> None:
    """The faults the checkpoint had in place are in place again: their records too (solve repairs them)."""
    d = faults.record_dir(name)
    for f in os.listdir(d) if os.path.isdir(d) else []:
        os.unlink(os.path.join(d, f))
    if records:
        os.makedirs(d, mode=0o700, exist_ok=True)
    for r in records:
        with paths.open_private(os.path.join(d, f"{r['fault']}.json")) as fh:
            json.dump(r, fh)
