"""`ovs-appctl ofproto/trace` parsed: tables visited, register loads, and where the packet ends."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional

_TABLE = re.compile(r"^\s*(\d+)\.\s+(.*?)(?:,\s*)?priority (\d+)(?:, cookie (0x[0-9a-f]+))?\s*$")
_BRIDGE = re.compile(r'^bridge\("([^"]+)"\)')
_LOAD = re.compile(r"^\s+((?:load|move|set_field):\S+)")
_OUTPUT = re.compile(r"^\s+output:(\S+)")
_PORT_IS = re.compile(r"->\s+output port is (\d+)")
_TUN_DST = re.compile(r"set_field:([\d.]+)->tun_dst")
_SHOW_PORT = re.compile(r"^\s*(\d+)\(([^)]+)\):", re.M)
_REG_LOAD = re.compile(r"^load:(0x[0-9a-f]+|\d+)->NXM_NX_REG(\d)\[\]$")
_TUN_ID_NOW = re.compile(r"NXM_NX_TUN_ID\[0\.\.31\] is now (0x[0-9a-f]+|\d+)")
_TUN_ID_SENT = re.compile(r"\b(?:tun_id|vni)=(0x[0-9a-f]+|\d+)")  # in the datapath actions (kernel / userspace)


@dataclass
class Step:
    table: int
    match: str
    priority: int
    cookie: Optional[str]
    actions: List[str] = field(default_factory=list)


@dataclass
class Trace:
    bridge: str
    steps: List[Step]
    datapath_actions: str
    raw: str
    output_port: Optional[int] = None
    output_name: Optional[str] = None
    tun_dst: Optional[str] = None

    @property
    def tables(self) -> List[int]:
        return [s.table for s in self.steps]

    @property
    def path(self) -> str:
        return " > ".join(str(t) for t in self.tables)

    @property
    def dropped(self) -> bool:
        return self.output_port is None

    @property
    def tun_id(self) -> Optional[int]:
        """The tunnel id the packet left with (openshift-sdn moves reg0 into it), None if not tunnelled."""
        if not self.tun_dst:
            return None
        found = [m.group(1) for m in _TUN_ID_NOW.finditer(self.raw)] or _TUN_ID_SENT.findall(self.datapath_actions)
        return int(found[-1], 0) if found else 0

    def registers(self, tun_id: int = 0) -> Dict[int, int]:
        """reg0.. as the last step left them (whole-register loads, and reg0 from the tunnel id)."""
        regs: Dict[int, int] = {}
        for action in (a for s in self.steps for a in s.actions):
            m = _REG_LOAD.match(action)
            if m:
                regs[int(m.group(2))] = int(m.group(1), 0)
            elif action.startswith("move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[]"):
                regs[0] = tun_id
        return regs

    def flow_field(self, name: str) -> Optional[str]:
        """A field of the traced flow as ofproto/trace restates it (`Flow: ...,nw_dst=10.128.0.2,...`)."""
        for line in self.raw.splitlines():
            if line.startswith("Flow:"):
                for part in line[len("Flow:"):].strip().split(","):
                    if part.startswith(f"{name}="):
                        return part.split("=", 1)[1]
        return None

    @property
    def loads(self) -> List[str]:
        return [a for s in self.steps for a in s.actions if a.startswith(("load:", "move:", "set_field:"))]

    def summary(self) -> str:
        if self.dropped:
            end = f"drop in table {self.tables[-1]}" if self.tables else "drop"
        elif self.tun_dst:
            end = f"output {self.output_name or self.output_port} (tun_dst={self.tun_dst})"
        else:
            end = f"output {self.output_name or self.output_port}"
        return f"{self.path}: {end}"


def parse_trace(text: str, bridge: str = "br0") -> Trace:
    """Parse the first bridge's section (later bridges are the underlay's, e.g. br-phy)."""
    steps: List[Step] = []
    current_bridge = None
    output = None
    tun_dst = None
    dp_actions = ""
    for line in text.splitlines():
        m = _BRIDGE.match(line)
        if m:
            current_bridge = m.group(1)
            continue
        if line.startswith("Datapath actions:"):
            dp_actions = line.split(":", 1)[1].strip()
            continue
        if line.startswith(("Final flow:", "Megaflow:")):
            current_bridge = None
            continue
        if current_bridge != bridge:
            continue
        m = _TABLE.match(line)
        if m:
            steps.append(Step(int(m.group(1)), m.group(2).rstrip(", "), int(m.group(3)), m.group(4)))
            continue
        if not steps:
            continue
        stripped = line.strip()
        if stripped and not stripped.startswith("->"):
            steps[-1].actions.append(stripped)
        m = _TUN_DST.search(line)
        if m:
            tun_dst = m.group(1)
        m = _OUTPUT.match(line)
        if m and m.group(1).isdigit():
            output = int(m.group(1))
        m = _PORT_IS.search(line)
        if m:
            output = int(m.group(1))
    if dp_actions == "drop":
        output = None
    return Trace(bridge=bridge, steps=steps, datapath_actions=dp_actions, raw=text,
                 output_port=output, tun_dst=tun_dst if output == 1 else None)


def ofproto_trace(node, flow: str, bridge: str = "br0") -> Trace:
    """Trace `flow` through a lab node's bridge; port numbers are mapped back to port names."""
    from lab.shell import run
    trace = parse_trace(run(node, f"ovs-appctl ofproto/trace {bridge} '{flow}'"), bridge)
    if trace.output_port is not None:
        trace.output_name = port_names(node, bridge).get(trace.output_port)
    return trace


def port_names(node, bridge: str = "br0") -> dict:
    """OpenFlow port number -> name, for this bridge only (br-phy has its own port 1)."""
    from lab.shell import run
    out = run(node, f"ovs-ofctl -O OpenFlow13 show {bridge}")
    return {int(m.group(1)): m.group(2) for m in _SHOW_PORT.finditer(out)}
