"""`lab link`: impair any link of a running lab (loss, rate, delay, jitter, duplicate, corrupt), pull its
cable (down|up), undo it all (clear), list what is in place; the CLI verb `link` likewise.

Model -> render -> apply: the impairment of an interface is data (lab.impair.Impairment), rendered to tc
and iptables commands for what this kernel has (lab.impair.render), applied in the interface's host's
namespace as one script, and recorded in the lab's state (RUN_DIR/<lab>/links.json) only once it
succeeded; a failed apply puts back the previous impairment. The record goes with the run directory
when the lab is cleaned (and the namespaces with every qdisc and rule in them), so nothing stale stays.

`down` pulls the cable at the link's other end, so the interface keeps its addresses and routes (a node's
underlay cable goes through the lab's own `unplug`, which also tells the plane, e.g. OpenShift's egress
monitor); `up` plugs it back.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from lab import impair, paths
from lab.errors import BadInput, LabError
from lab.impair import Impairment
from lab.livelab import LiveLab

RECORD = "links.json"  # "host:if" -> {"impair": {...}, "down": bool, "peer": "host:if"}
USAGE = ("lab link [--name LAB] [HOST:IF [loss PCT] [rate RATE] [delay MS] [jitter MS] [duplicate PCT] "
         "[corrupt PCT] | HOST:IF down|up|clear]")
Cable = Callable[[str, bool], str]  # (host, up) -> what the lab's own unplug/plug said


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise BadInput(f"{message} (usage: {USAGE})")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="lab link", add_help=False, usage=USAGE,
                description="Impair a link of a running lab, pull its cable, undo it, or list what is in place. "
                            "Impairments act on what the interface sends.")
    p.add_argument("--name", default=None, metavar="LAB", help="the lab (default: the lab of this shell, SDNLAB_NAME)")
    p.add_argument("target", nargs="?", metavar="HOST:IF",
                   help="an interface of a lab host: node1:eth0 (a node's underlay), pod1:eth0, node1:vethXXXX; "
                        "without it: list the impairments in place")
    p.add_argument("words", nargs="*", metavar="SETTING VALUE | down | up | clear",
                   help="loss PCT (0-100, random drops), rate RATE (10mbit, 512kbit, 1gbit; token bucket), "
                        "delay MS, jitter MS (needs delay), duplicate PCT, corrupt PCT (these four need the "
                        "kernel's netem), each on top of what the interface has (0 removes one); "
                        "down/up: pull/plug the link's cable; clear: remove everything and plug it back")
    return p


# --- the lab's record ------------------------------------------------------------------------------------

def record_path(lab: str) -> str:
    return os.path.join(paths.run_dir(lab), RECORD)


def read(lab: str) -> Dict[str, dict]:
    try:
        with open(record_path(lab)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _write(lab: str, links: Dict[str, dict]) -> None:
    path = record_path(lab)
    tmp = path + ".tmp"
    with paths.open_private(tmp) as f:
        json.dump({k: v for k, v in links.items() if v.get("impair") or v.get("down")}, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


@contextmanager
def _locked(lab: str) -> Iterator[None]:
    """One `lab link` change of a lab at a time (two shells must not interleave their read-change-write)."""
    with open(os.open(record_path(lab) + ".lock", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


# --- the kernel's side -------------------------------------------------------------------------------------

def _split(target: str) -> Tuple[str, str]:
    if target.count(":") != 1 or not all(target.split(":")):
        raise BadInput(f"give a link as HOST:IF, e.g. pod1:eth0 (got {target!r})")
    host, dev = target.split(":")
    return host, impair.check_ifname(dev)


def _link(lab: LiveLab, host: str, dev: str) -> dict:
    """The interface as `ip -j link` shows it in its host (BadInput if it has none of that name)."""
    r = lab.run(host, f"ip -j link show dev {dev}")
    try:
        found = json.loads(r.stdout) if r.returncode == 0 else []
    except ValueError:
        found = []
    if not found:
        names = [d["ifname"] for d in json.loads(lab.run(host, "ip -j link show").stdout or "[]")
                 if d.get("ifname") != "lo"]
        raise BadInput(f"{host} has no interface {dev!r} (its interfaces: {', '.join(names) or 'none'})")
    return found[0]


def netfilter_sees(lab: LiveLab, host: str, dev: str, link: dict) -> bool:
    """iptables in the host sees what leaves dev: dev is no switch's port (a Linux bridge's or an Open
    vSwitch's, whose frames never pass the host's IP stack)."""
    if link.get("master"):
        return False
    r = lab.run(host, f'[ -n "$OVS_RUNDIR" ] && ovs-vsctl --timeout=3 port-to-br {dev}')
    return r.returncode != 0


def peer(lab: LiveLab, host: str, link: dict) -> Optional[Tuple[str, str]]:
    """The other end of a veth: the namespace the host knows its peer in (its netns id, named by
    `ip netns list-id`), if that is a lab host's, and there the interface with the peer's index
    (None: not a veth, or its other end is in no lab host)."""
    if "link_index" not in link or "link_netnsid" not in link:
        return None
    r = lab.run(host, "ip -j netns list-id")
    names = {d.get("nsid"): d.get("name", "") for d in json.loads(r.stdout or "[]")} if r.returncode == 0 else {}
    prefix = paths.netns_name("", lab.name)
    other = names.get(link["link_netnsid"], "")
    if not other.startswith(prefix) or other[len(prefix):] not in lab.hosts:
        return None
    other = other[len(prefix):]
    r = lab.run(other, "ip -j link show")
    for d in json.loads(r.stdout or "[]") if r.returncode == 0 else []:
        if d.get("ifindex") == link["link_index"]:
            return other, d["ifname"]
    return None


def _apply(lab: LiveLab, host: str, dev: str, imp: Impairment, old: Impairment, kernel: impair.Kernel) -> None:
    """The interface goes to `imp`; on a failure it goes back to `old` and the failure is raised."""
    r = lab.run(host, impair.script(impair.render(dev, imp, kernel)))
    if r.returncode != 0:
        lab.run(host, impair.script(impair.render(dev, old, kernel)))
        raise LabError(f"{host}:{dev}: the kernel refused the impairment: {(r.stderr or r.stdout).strip()}")


def cable_by_request(lab_name: str) -> Cable:
    def cable(host: str, up: bool) -> str:
        from lab import control
        return control.request(lab_name, "plug" if up else "unplug", host)
    return cable


def set_cable(lab: LiveLab, host: str, dev: str, up: bool, cable: Optional[Cable]) -> Tuple[str, str]:
    """Pull (plug) the link's cable at its other end; returns what was done and the other end's name."""
    if dev == "eth0" and lab.role(host) in ("node", "external") and cable is not None:
        try:  # the lab's own unplug/plug: the plane hears of it (OpenShift: the node goes offline)
            return cable(host, up), "underlay"
        except BadInput as exc:
            if "takes no" not in str(exc) and "no `" not in str(exc) and "answers no" not in str(exc):
                raise
    link = _link(lab, host, dev)
    other = peer(lab, host, link)
    state = "up" if up else "down"
    if other is None:  # no other end in the lab: the interface itself (its routes go with it when down)
        lab.sh(host, f"ip link set dev {dev} {state}")
        return f"{host}:{dev} {state}", ""
    lab.sh(other[0], f"ip link set dev {other[1]} {state}")
    return f"{host}:{dev}: cable {'plugged in' if up else 'pulled'} (its other end {other[0]}:{other[1]} {state})", \
        f"{other[0]}:{other[1]}"


# --- the verb ---------------------------------------------------------------------------------------------

def listing(lab: LiveLab) -> str:
    """The lab's record, each impairment checked against the kernel (one removed by hand shows as such)."""
    links = read(lab.name)
    if not links:
        return f"no link impairments in lab {lab.name!r}"
    from lab.table import format_table
    rows = []
    for target, v in sorted(links.items()):
        imp = Impairment.from_dict(v.get("impair", {}))
        text = imp.describe()
        host, dev = target.split(":")
        if not imp.empty:
            r = lab.run(host, f"tc qdisc show dev {dev}; iptables -w -S {impair.chain(dev)} 2>/dev/null")
            if host not in lab.hosts or not impair.held_by(imp, impair.probe_kernel(), r.stdout, r.stdout):
                text += " (recorded, but the kernel no longer has it: `lab link " + target + " clear`)"
        rows.append([target, text, "down" if v.get("down") else "up"])
    return format_table(["LINK", "IMPAIRMENT", "CABLE"], rows)


def change(lab_name: str, target: str, words: Sequence[str], cable: Optional[Cable] = None) -> str:
    """One `lab link HOST:IF ...` change, checked whole before anything is touched."""
    words = list(words)
    lab = LiveLab(lab_name)
    host, dev = _split(target)
    if words == ["clear"] and host not in lab.hosts and f"{host}:{dev}" in read(lab_name):
        with _locked(lab_name):  # its host is gone, and what was on it: only the record is left to drop
            _write(lab_name, {t: v for t, v in read(lab_name).items() if t != f"{host}:{dev}"})
        return f"{host}:{dev}: forgotten ({host} is gone)"
    lab.need(host)
    link = _link(lab, host, dev)
    target = f"{host}:{dev}"
    with _locked(lab_name):
        links = read(lab_name)
        entry = dict(links.get(target, {}))
        old = Impairment.from_dict(entry.get("impair", {}))
        if words in (["down"], ["up"]):
            up = words == ["up"]
            did, _other = set_cable(lab, host, dev, up, cable)
            entry["down"] = not up
            links[target] = entry
            _write(lab_name, links)
            return did
        if words == ["clear"]:
            kernel = impair.probe_kernel()
            _apply(lab, host, dev, Impairment(), old, kernel)
            said = [] if old.empty else [f"{target}: impairments cleared (were: {old.describe()})"]
            if entry.get("down"):
                said.append(set_cable(lab, host, dev, True, cable)[0])
            said = said or [f"{target}: nothing to clear"]
            links.pop(target, None)
            _write(lab_name, links)
            return "\n".join(said)
        if any(w in ("down", "up", "clear") for w in words):
            raise BadInput(f"down, up and clear stand alone (usage: {USAGE})")
        new = impair.parse(words, old)
        kernel = impair.probe_kernel()
        sees = netfilter_sees(lab, host, dev, link)
        other = peer(lab, host, link) if new.loss and not sees else None
        why = impair.refusal(new, kernel, sees, target, ":".join(other) if other else "")
        if why:
            raise BadInput(why)
        _apply(lab, host, dev, new, old, kernel)
        entry["impair"] = new.to_dict()
        links[target] = entry
        _write(lab_name, links)
        return f"{target}: {new.describe()}"


def clear_all(lab_name: str, cable: Optional[Cable] = None) -> List[str]:
    """Every link of the lab back as it was (`lab fault repair --all`); cable: the lab's unplug/plug (None:
    the other end of a node's underlay link is plugged back directly)."""
    return [change(lab_name, target, ["clear"], cable) for target in sorted(read(lab_name))]


def main(argv: Sequence[str], lab_name: Optional[str] = None, cable: Optional[Cable] = None) -> int:
    """`lab link ...` and the CLI verb `link ...` (lab_name: the CLI's own lab; cable: its unplug/plug)."""
    if any(w in ("-h", "--help") for w in argv):
        print(parser().format_help().rstrip())
        return 0
    a = parser().parse_args(list(argv))
    name = paths.check_name(a.name or lab_name or paths.lab_name())
    if a.target is None:
        print(listing(LiveLab(name)))
        return 0
    from lab.requirements import require_root
    require_root()
    print(change(name, a.target, a.words, cable if cable is not None else cable_by_request(name)))
    return 0


def link_verb(net, verbs: Dict[str, tuple]) -> Dict[str, tuple]:
    """The CLI verb `link` on the CLI's own lab (it replaces Mininet's `link A B up|down`); a node's underlay
    cable goes through the topology's own `unplug`/`plug` verbs when it has them."""
    import io
    from contextlib import redirect_stdout

    def cable(host: str, up: bool) -> str:
        verb = verbs.get("plug" if up else "unplug")
        if verb is None:
            raise BadInput(f"lab {net.name!r} answers no `{'plug' if up else 'unplug'}`")
        out = io.StringIO()
        with redirect_stdout(out):
            verb[0](host)
        return out.getvalue().strip()

    def do_link(line: str) -> None:
        main(line.split(), lab_name=net.name, cable=cable)

    return {"link": (do_link, "link [HOST:IF [loss PCT] [rate RATE] [delay MS] [jitter MS] [duplicate PCT] "
                              "[corrupt PCT] | HOST:IF down|up|clear]: impair a link, pull its cable, list")}
