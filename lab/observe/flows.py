"""Flow dumps: normalised per table, parsed into fields, and per-flow hit counters around an action."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

_NOTE = re.compile(r"note:([0-9A-Fa-f]{2}(?:\.[0-9A-Fa-f]{2})*)")
_STAT_FIELDS = ("cookie", "duration", "n_packets", "n_bytes", "idle_age", "hard_age", "idle_timeout", "hard_timeout")


def _pad_note(match: re.Match) -> str:
    octets = match.group(1).split(".")
    # NXAST_NOTE is 10 bytes of header plus the note, padded to a multiple of 8
    total = -(-(10 + len(octets)) // 8) * 8
    return "note:" + ".".join(octets + ["00"] * (total - 10 - len(octets)))


def as_stored(flows: List[str]) -> List[str]:
    """Flows as the switch keeps them: a note action is zero-padded to its 8-byte boundary."""
    return [_NOTE.sub(_pad_note, f) for f in flows]


@dataclass(frozen=True)
class Flow:
    table: int
    priority: int
    match: str
    actions: str
    cookie: int = 0
    n_packets: int = 0
    line: str = field(default="", compare=False)  # as the dump printed it

    @property
    def key(self) -> Tuple[int, int, str]:
        return (self.table, self.priority, self.match)

    def __str__(self) -> str:
        return f"table={self.table}, priority={self.priority}{', ' + self.match if self.match else ''}, actions={self.actions}"


def parse_dump(text: str) -> List[Flow]:
    """Parse `ovs-ofctl -O OpenFlow13 --no-names dump-flows br0` output."""
    flows = []
    for line in text.splitlines():
        line = line.strip()
        if not line or "actions=" not in line or line.startswith(("OFPST", "NXST")):
            continue
        head, actions = line.split("actions=", 1)
        fields: Dict[str, str] = {}
        match: List[str] = []
        for part in (p.strip() for p in head.replace(", ", ",").split(",")):
            if not part:
                continue
            name, _, value = part.partition("=")
            if name in _STAT_FIELDS or name in ("table", "priority"):
                fields[name] = value
            else:
                match.append(part)
        flows.append(Flow(
            table=int(fields.get("table", 0)),
            priority=int(fields.get("priority", 32768)),
            match=",".join(match),
            actions=actions.strip(),
            cookie=int(fields.get("cookie", "0"), 0),
            n_packets=int(fields.get("n_packets", 0)),
            line=line,
        ))
    return flows


OFCTL = "ovs-ofctl -O OpenFlow13 --no-names"  # ports by number: a terminal would make ovs-ofctl print names
DUMP = f"{OFCTL} dump-flows br0"
MAX_TABLE = 254  # OpenFlow tables 0..254 (255 means "all")
FLOWS_USAGE = "usage: flows <node> [table]"


def parse_table(word: str) -> int:
    """An OpenFlow table number as a user types it."""
    try:
        table = int(word, 10)
    except ValueError:
        table = -1
    if not 0 <= table <= MAX_TABLE:
        from lab.errors import LabError
        raise LabError(f"flows: table must be a number 0..{MAX_TABLE}, not {word!r}")
    return table


def flows_command(net, line: str) -> str:
    """The CLI's `flows <node> [table]`: br0 per table, without cookies, durations and counters."""
    from lab.errors import LabError
    words = line.split()
    if not words or len(words) > 2:
        raise LabError(FLOWS_USAGE)
    if words[0] not in net.nameToNode:
        raise LabError(f"unknown node {words[0]!r} ({FLOWS_USAGE})")
    table = parse_table(words[1]) if len(words) == 2 else None
    return format_tables(dump(net[words[0]], table))


def dump(node, table: Optional[int] = None, stats: bool = True) -> List[Flow]:
    """A node's br0 flows (a lab host, or a running lab's host handle: lab.livelab); without stats the
    lines are what add-flow takes back as they are (cookie included)."""
    from lab.shell import run
    where = f" table={table}" if table is not None else ""
    return parse_dump(run(node, f"{OFCTL}{'' if stats else ' --no-stats'} dump-flows br0{where}"))


def dump_lines(node, table: Optional[int] = None) -> List[str]:
    """The flows as the dump prints them without counters, one string each."""
    return [f.line for f in dump(node, table, stats=False)]


def by_table(flows: List[Flow]) -> Dict[int, List[Flow]]:
    tables: Dict[int, List[Flow]] = {}
    for f in sorted(flows, key=lambda f: (f.table, -f.priority, f.match)):
        tables.setdefault(f.table, []).append(f)
    return tables


def format_tables(flows: List[Flow]) -> str:
    """Normalised dump: no cookies, durations or counters; grouped by table, highest priority first."""
    out = []
    for table, rows in by_table(flows).items():
        out.append(f"table {table}:")
        out.extend(f"  priority={f.priority}{',' + f.match if f.match else ''} actions={f.actions}" for f in rows)
    return "\n".join(out)


def hit_deltas(node, action: Callable[[], object]) -> Dict[Tuple[int, int, str], int]:
    """Run action; return how many packets each flow matched meanwhile (only flows that moved)."""
    from lab.shell import run
    # flow counters are pushed by the revalidators; wait for a round so they are current
    run(node, "ovs-appctl revalidator/wait")
    before = {f.key: f.n_packets for f in dump(node)}
    action()
    run(node, "ovs-appctl revalidator/wait")
    after = {f.key: f.n_packets for f in dump(node)}
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
