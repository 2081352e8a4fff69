"""Golden files in real dump form, and the live dumps compared with them.

- `*.flows`: `#` header lines, then one flow a line as `ovs-ofctl -O OpenFlow13 --no-names --no-stats
  dump-flows br0` prints it;
- `*.iptables`: `#` header, then `iptables-save` text (filter and nat); a trailing `   # <component>` says
  which component adds a rule and is not part of it;
- `change-*.diff`: `@@ <node>` sections of `- <flow>` / `+ <flow>`: the net change of one event. A
  section `@@ <node> (<note>)` is a later or conditional change (3.11's hourly SyncVNIDRules); `settled`
  adds them, for labs that render the state after that sync.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, List, Set, Tuple

Change = Tuple[Set[str], Set[str]]  # (added, removed)
DUMP = "ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0"
_ANNOTATION = re.compile(r"\s+# [a-z]+$")


def _body(path: str) -> List[str]:
    with open(path) as f:
        return [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]


def read_flows(path: str) -> List[str]:
    return sorted(_body(path))


def read_change(path: str, settled: bool = False) -> Dict[str, Change]:
    """{node: (added, removed)} of the event; with settled, the noted sections applied after it in order."""
    out: Dict[str, Change] = {}
    node, include = "", True
    for line in _body(path):
        if line.startswith("@@ "):
            node, _sp, note = line[3:].partition(" ")
            include = settled or not note
            out.setdefault(node, (set(), set()))
        elif include and line[:2] in ("+ ", "- "):
            added, removed = out[node]
            flow = line[2:]
            if line[0] == "+":
                removed.discard(flow) if flow in removed else added.add(flow)
            else:
                added.discard(flow) if flow in added else removed.add(flow)
    return out


def dump_flows(node) -> List[str]:
    from lab.shell import run
    return sorted(line.strip() for line in run(node, DUMP).splitlines() if "actions=" in line)


def changes(nodes: Dict[str, object], action: Callable[[], object]) -> Dict[str, Change]:
    """Run action; each node's br0 change as (added, removed), read from the switch before and after."""
    before = {name: set(dump_flows(node)) for name, node in nodes.items()}
    action()
    after = {name: set(dump_flows(node)) for name, node in nodes.items()}
    return {name: (after[name] - before[name], before[name] - after[name]) for name in nodes}


def flows_diff(got: List[str], want: List[str]) -> Dict[str, List[str]]:
    """What an assertion prints: the golden's flows the switch lacks, and the switch's the golden lacks."""
    return {"missing": sorted(set(want) - set(got)), "extra": sorted(set(got) - set(want))}


def iptables_chains(lines: List[str]) -> Dict[Tuple[str, str], List[str]]:
    """{(table, chain): rules in order} of iptables-save text; a declared empty chain maps to []."""
    table, chains = "", {}  # type: str, Dict[Tuple[str, str], List[str]]
    for line in lines:
        line = _ANNOTATION.sub("", line)
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            chains.setdefault((table, line[1:].split()[0]), [])
        elif line.startswith("-A "):
            chains.setdefault((table, line.split()[1]), []).append(line)
    return chains


def read_iptables(path: str) -> Dict[Tuple[str, str], List[str]]:
    return iptables_chains(_body(path))


def saved_iptables(node) -> Dict[Tuple[str, str], List[str]]:
    from lab.shell import run
    return iptables_chains(run(node, "iptables-save -t filter; iptables-save -t nat").splitlines())


def read_iptables_change(path: str) -> Dict[str, Dict[str, Change]]:
    """{node: {table: (added, removed)}} of a `change-*.iptables.diff` (`@@ <node> <table>` sections of
    `+ <rule>` / `- <rule>` in iptables-save form); a section with no lines is a table that does not change."""
    out: Dict[str, Dict[str, Change]] = {}
    node, table = "", ""
    for line in _body(path):
        if line.startswith("@@ "):
            node, table = line[3:].split()[:2]
            out.setdefault(node, {}).setdefault(table, (set(), set()))
        elif line[:2] in ("+ ", "- "):
            added, removed = out[node][table]
            (added if line[0] == "+" else removed).add(_ANNOTATION.sub("", line[2:]))
    return out


def saved_rules(node) -> Dict[str, Set[str]]:
    """{table: set of `-A` rules} of the node's filter and nat tables, as iptables-save prints them."""
    out: Dict[str, Set[str]] = {"filter": set(), "nat": set()}
    for (table, _chain), rules in saved_iptables(node).items():
        out.setdefault(table, set()).update(rules)
    return out


def rule_changes(before: Dict[str, Set[str]], after: Dict[str, Set[str]]) -> Dict[str, Change]:
    """Per table (added, removed) between two `saved_rules` readings."""
    return {t: (after.get(t, set()) - before.get(t, set()), before.get(t, set()) - after.get(t, set()))
            for t in sorted(set(before) | set(after))}


def fill_change(change: Dict[str, Change], edit: Callable[[str], str]) -> Dict[str, Change]:
    """The change with every flow passed through edit (a documented, per-datapath form of one flow)."""
    return {node: ({edit(f) for f in added}, {edit(f) for f in removed}) for node, (added, removed) in change.items()}
