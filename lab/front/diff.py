"""`lab diff [--name LAB] [HOST...]` and the CLI verb `diff [HOST...]`: what a running lab's kernels and switches
hold that the lab did not render (`+`), and what it renders that they lack (`-`), grouped per host and kind,
read like `diff`:

    @@ node2 routes @@
    + 198.51.100.0/24 dev tun0
    @@ node2 flows @@
    - br0 table=80 priority=150,ip,nw_src=10.128.0.0/14 actions=...

Exit 0 when the lab holds exactly what it renders (nothing printed), 1 when it differs, 2 on bad input. The
comparison is the plane's drift view (lab.plane.Plane.drift): OpenShift compares flows, iptables rules,
addresses and routes with its `rendered` control verb (lab.workshop.drift); Flannel compares routes, FDB entries
and neighbours with what flanneld programs for etcd's leases (lab.planes.flannel.drift). The kernel's side is
read over netlink (lab.observe.kernel)."""

from __future__ import annotations

import argparse
from typing import Dict, List, Optional, Sequence, Tuple

from lab import control, paths, planes
from lab.errors import BadInput
from lab.livelab import LiveLab

USAGE = "lab diff [--name LAB] [HOST...]"


class DiffLab(LiveLab):
    """A running lab as the drift views read it: LiveLab plus the lab's control verbs (ask)."""

    def ask(self, verb: str, line: str) -> str:
        return control.ask(self.name, verb, line)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise BadInput(f"{message} (usage: {USAGE})")


def parser(lab_name: Optional[str] = None) -> argparse.ArgumentParser:
    p = _Parser(prog="lab diff", add_help=False,
                description="What a running lab's kernels and switches hold that the lab did not render (+), and "
                            "what it renders that they lack (-), per host and kind. Exit 0 when equal, 1 when "
                            "different, 2 on bad input.")
    p.add_argument("--name", default=lab_name, help="the running lab (default: $SDNLAB_NAME or sdnlab)")
    p.add_argument("hosts", nargs="*", metavar="HOST",
                   help="only these hosts (default: every host the lab renders a state for)")
    p.add_argument("-h", "--help", action="store_true", help="this help")
    return p


def grouped(found: Sequence[Tuple[str, str, str]]) -> str:
    """diff-like text: a `@@ HOST KIND @@` line, then its +/- lines, in the order found."""
    groups: Dict[Tuple[str, str], List[str]] = {}
    for host, kind, line in found:
        groups.setdefault((host, kind), []).append(line)
    out = []
    for (host, kind), lines in groups.items():
        out.append(f"@@ {host} {kind} @@" if kind else f"@@ {host} @@")
        out += lines
    return "\n".join(out)


def differences(name: str, hosts: Sequence[str] = ()) -> List[Tuple[str, str, str]]:
    """(host, kind, +/- line) of the running lab `name` (hosts: only these, each checked)."""
    from lab.requirements import require_root
    require_root()  # the lab's namespaces and switches
    lab = DiffLab(name)
    for host in hosts:
        lab.need(host)
    return planes.get(lab.plane).drift(lab, list(hosts))


def main(argv: Sequence[str], lab_name: Optional[str] = None) -> int:
    p = parser(lab_name or paths.lab_name())
    a = p.parse_args(list(argv))
    if a.help:
        print(p.format_help().rstrip())
        return 0
    paths.check_name(a.name)
    found = differences(a.name, a.hosts)
    if found:
        print(grouped(found))
    return 1 if found else 0


REFUSAL = ("`diff` is not part of a workshop lab's CLI (it would show what the exercise broke): "
           "`task`, `hint` and `check` help")


def diff_verb(net):
    """The CLI verb `diff`, on the CLI's own lab; a workshop lab's CLI (its student's) refuses it."""
    from lab.front.faults import is_workshop
    if is_workshop(net.name):
        def refuse(_line: str) -> None:
            raise BadInput(REFUSAL)
        return {"diff": (refuse, "diff: not in a workshop lab")}

    def do_diff(line: str) -> None:
        if main(line.split(), lab_name=net.name) == 0:
            print("no differences: every host holds what the lab renders")

    return {"diff": (do_diff, "diff [HOST...]: what the kernels and switches hold that the lab did not render (+), "
                              "and what it renders that is missing (-)")}
