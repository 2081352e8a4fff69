"""Pictures of a lab with Graphviz `dot`: the topology (nodes, pods, bridges, tun0, tunnels, underlay,
external host), a node's OpenFlow pipeline (tables, gotos, flows per table), a packet's path. The planes
make the pictures as data (lab.picture, through the registry); this module draws them.

`lab draw TOPOLOGY [options] --what topology|pipeline -o FILE.svg|.png` draws from the pure model and the
renderer: no root, nothing built. In a running lab the CLI verb `draw` (and `lab draw --name LAB ...`)
draws what the lab holds: its hosts, the live flows with their packet counters, and `draw path SRC DST`
(the ofproto/trace of a packet, tables visited per node, drawn over the topology).
"""

from __future__ import annotations

import argparse
import re
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from lab import outfile, planes
from lab.errors import BadInput, LabError
from lab.observe.flows import parse_dump
from lab.picture import PathHop, Picture
from lab.plane import NotOffered

FORMATS = ("svg", "png")
PATH_COLOUR = "red3"
BR = "\\n"  # a line break inside a dot label


def _q(text: str) -> str:
    return '"' + str(text).replace('"', '\\"') + '"'  # labels keep dot's own \\n line breaks


def _id(*parts: str) -> str:
    return _q(":".join(parts))


FAULT_COLOUR = "red3"


@dataclass(frozen=True)
class Mark:
    """A place in the topology picture to point at (where an exercise's fault is): a device drawn in a node
    (host and device: br0, tun0, eth0, flannel.1...) or a whole pod or other host (device "")."""

    host: str
    device: str
    label: str


# --- dot text ------------------------------------------------------------------------------------------

def topology_dot(pic: Picture, path: Sequence[PathHop] = (), src: str = "", dst: str = "",
                 marks: Sequence[Mark] = ()) -> str:
    lines = ["digraph lab {", "  graph [rankdir=TB, fontname=Helvetica, compound=true, labelloc=t, "
             f"label={_q(pic.title + (f' - path {src} -> {dst}' if src else ''))}];",
             "  node [fontname=Helvetica, fontsize=10]; edge [fontname=Helvetica, fontsize=9, arrowhead=none];",
             f"  {_id('underlay')} [shape=box, style=\"rounded,filled\", fillcolor=lightyellow, "
             f"label={_q('underlay ' + pic.underlay)}];"]
    on_path = {h.node: h for h in path}
    for box in pic.of_role("node"):
        hop = on_path.get(box.name)
        lines.append(f"  subgraph {_q('cluster_' + box.name)} {{")
        label = f"{box.name}\\neth0 {box.ip}" + (f"\\n{' > '.join(map(str, hop.tables))}: {hop.end}" if hop else "")
        lines.append(f"    label={_q(label)}; style=rounded; color={PATH_COLOUR if hop else 'gray40'};"
                     f" fontcolor={PATH_COLOUR if hop else 'black'};")
        for dev, dev_label in box.devices:
            shape = "box" if dev in ("br0", "cni0") else "ellipse"
            lines.append(f"    {_id(box.name, dev)} [shape={shape}, label={_q(dev_label)}];")
        lines.append(f"    {_id(box.name, 'eth0')} [shape=ellipse, label={_q('eth0 ' + box.ip)}];")
        for pod in [p for p in pic.of_role("pod") if p.node == box.name]:
            port = next((lab for d, lab in pod.devices if d == "eth0"), "")
            lines.append(f"    {_id(pod.name)} [shape=box3d, style=filled, fillcolor=lightblue, "
                         f"label={_q(pod.name + BR + pod.ip)}];")
            lines.append(f"    {_id(pod.name)} -> {_id(box.name, pic.bridge)} [label={_q(port)}];")
        devs = [d for d, _l in box.devices]
        for dev in devs:
            if dev not in (pic.bridge, "eth0"):
                lines.append(f"    {_id(box.name, pic.bridge)} -> {_id(box.name, dev)};")
        lines.append("  }")
        lines.append(f"  {_id(box.name, 'eth0')} -> {_id('underlay')};")
    for box in pic.boxes:
        if box.role in ("external", "service"):
            lines.append(f"  {_id(box.name)} [shape=box, style=filled, fillcolor=lightgrey, "
                         f"label={_q(box.name + BR + box.ip)}];")
            lines.append(f"  {_id(box.name)} -> {_id('underlay')};")
    for a, b, label in pic.tunnels:
        lines.append(f"  {_id(a, pic.overlay_dev)} -> {_id(b, pic.overlay_dev)} "
                     f"[style=dashed, color=darkgreen, fontcolor=darkgreen, xlabel={_q(label)}, constraint=false];")
    lines += _path_edges(pic, path, src, dst)
    lines += _mark_lines(pic, marks)
    lines.append("}")
    return "\n".join(lines) + "\n"


def mark_target(pic: Picture, mark: Mark) -> str:
    """The dot id a mark points at; a device the picture does not draw points at its host."""
    drawn = {(b.name, d) for b in pic.of_role("node") for d, _l in b.devices} | {(b.name, "eth0") for b in pic.of_role("node")}
    if mark.device and (mark.host, mark.device) in drawn:
        return _id(mark.host, mark.device)
    if any(b.name == mark.host and b.role != "node" for b in pic.boxes):
        return _id(mark.host)
    if any(b.name == mark.host for b in pic.of_role("node")):
        return _id(mark.host, "eth0")
    raise BadInput(f"the picture has no {mark.host!r} to mark")


def _mark_lines(pic: Picture, marks: Sequence[Mark]) -> List[str]:
    """Each marked place drawn in red, and a red note beside it saying what is wrong there."""
    out = []
    for i, m in enumerate(marks, 1):
        target = mark_target(pic, m)
        out.append(f"  {target} [color={FAULT_COLOUR}, fontcolor={FAULT_COLOUR}, penwidth=3];")
        note = _id("fault", str(i))
        out.append(f"  {note} [shape=note, style=filled, fillcolor=mistyrose, color={FAULT_COLOUR}, "
                   f"fontcolor={FAULT_COLOUR}, label={_q(m.label)}];")
        out.append(f"  {note} -> {target} [color={FAULT_COLOUR}, penwidth=2, style=dashed, arrowhead=normal];")
    return out


def _path_edges(pic: Picture, path: Sequence[PathHop], src: str, dst: str) -> List[str]:
    """The traced packet as red arrows: source pod -> its node's switch -> tunnel -> ... -> where it ended."""
    if not path:
        return []
    style = f"color={PATH_COLOUR}, fontcolor={PATH_COLOUR}, penwidth=2.5, arrowhead=normal, constraint=false"
    names = {b.name for b in pic.boxes}
    out = []
    prev = _id(src) if src in names else None
    for i, hop in enumerate(path):
        here = _id(hop.node, pic.bridge)
        label = " > ".join(map(str, hop.tables))
        if prev:
            out.append(f"  {prev} -> {here} [{style}, label={_q(label)}];")
        prev = here
        if "vxlan0" in hop.end and i + 1 < len(path):
            out.append(f"  {here} -> {_id(path[i + 1].node, pic.bridge)} [{style}, style=dashed, label=\"VXLAN\"];")
            prev = None
    last = path[-1]
    end_at = _id(last.node, pic.bridge)
    if last.end.startswith("drop"):
        out.append(f"  {_id('drop')} [shape=octagon, style=filled, fillcolor={PATH_COLOUR}, fontcolor=white, "
                   f"label={_q(last.end)}];")
        out.append(f"  {end_at} -> {_id('drop')} [{style}];")
        return out
    if "tun0" in last.end:  # into the node's own stack (routed on, NATed)
        out.append(f"  {end_at} -> {_id(last.node, 'tun0')} [{style}];")
        end_at = _id(last.node, "tun0")
    if dst in names:
        out.append(f"  {end_at} -> {_id(dst)} [{style}];")
    return out


_GOTO = re.compile(r"goto_table:(\d+)|resubmit\(,(\d+)\)")
_OUTPUT = re.compile(r"output:([^,\s]+)")


@dataclass
class TableInfo:
    flows: int = 0
    packets: Optional[int] = None  # live dumps only
    gotos: Dict[int, int] = field(default_factory=dict)  # table -> flows that go there
    outputs: Dict[str, int] = field(default_factory=dict)
    drops: int = 0


def pipeline(flows: Sequence[str], port_names: Optional[Dict[str, str]] = None) -> Dict[int, TableInfo]:
    """Tables of a flow list (rendered strings or a live dump), their gotos, outputs and drops; ports named
    as the plane names its switch's fixed ports."""
    names = port_names or {}
    tables: Dict[int, TableInfo] = {}
    live = any("n_packets=" in f for f in flows)
    for flow in parse_dump("\n".join(flows)):
        t = tables.setdefault(flow.table, TableInfo())
        t.flows += 1
        if live:
            t.packets = (t.packets or 0) + flow.n_packets
        for g in _GOTO.finditer(flow.actions):
            to = int(g.group(1) or g.group(2))
            t.gotos[to] = t.gotos.get(to, 0) + 1
        for o in _OUTPUT.finditer(flow.actions):
            port = names.get(o.group(1), f"port {o.group(1)}")
            t.outputs[port] = t.outputs.get(port, 0) + 1
        if flow.actions == "drop":
            t.drops += 1
    return tables


def pipeline_dot(node: str, flows: Sequence[str], visited: Sequence[int] = (),
                 port_names: Optional[Dict[str, str]] = None) -> str:
    tables = pipeline(flows, port_names)
    lines = ["digraph pipeline {", "  graph [rankdir=LR, fontname=Helvetica, labelloc=t, "
             f"label={_q(f'{node}: br0 OpenFlow pipeline ({sum(t.flows for t in tables.values())} flows)')}];",
             "  node [fontname=Helvetica, fontsize=10, shape=box, style=rounded]; edge [fontname=Helvetica, fontsize=9];"]
    hit = set(visited)
    for n, t in sorted(tables.items()):
        label = f"table {n}\\n{t.flows} flow{'s' if t.flows != 1 else ''}"
        if t.packets is not None:
            label += f"\\n{t.packets} packets"
        colour = f", color={PATH_COLOUR}, penwidth=2" if n in hit else ""
        lines.append(f"  {_id('t', str(n))} [label={_q(label)}{colour}];")
    sinks = set()
    for n, t in sorted(tables.items()):
        for to, count in sorted(t.gotos.items()):
            lines.append(f"  {_id('t', str(n))} -> {_id('t', str(to))} [label={_q(count)}];")
        for port, count in sorted(t.outputs.items()):
            sinks.add(port)
            lines.append(f"  {_id('t', str(n))} -> {_id('out', port)} [label={_q(count)}];")
        if t.drops:
            sinks.add("drop")
            lines.append(f"  {_id('t', str(n))} -> {_id('out', 'drop')} [label={_q(t.drops)}, style=dotted];")
    for s in sorted(sinks):
        shape = "octagon" if s == "drop" else "ellipse"
        lines.append(f"  {_id('out', s)} [shape={shape}, style=filled, fillcolor=lightgrey, label={_q(s)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def check_output(out: str) -> str:
    """-o FILE.svg|.png, checked before any work (a bad place is one line and exit 2)."""
    return outfile.check_file(out, suffixes=tuple(f".{f}" for f in FORMATS))


def write(dot_text: str, out: str) -> str:
    """Run dot; the format follows the file name (.svg or .png); the file is written whole or not at all."""
    check_output(out)
    fmt = out.rsplit(".", 1)[-1].lower()
    from lab.requirements import require_packages
    require_packages({"dot": "graphviz"})
    r = subprocess.run(["dot", f"-T{fmt}"], input=dot_text.encode(), capture_output=True, timeout=60)
    if r.returncode != 0 or not r.stdout:
        raise LabError(f"dot failed: {r.stderr.decode(errors='replace').strip() or 'no output'}")
    return outfile.write(out, r.stdout)


# --- `lab draw` ----------------------------------------------------------------------------------------

USAGE = ("lab draw TOPOLOGY [topology options, e.g. -f MANIFEST] [--what topology|pipeline] [--node NODE] -o FILE.svg|.png\n"
         "       lab draw --name LAB [topology | pipeline NODE | path SRC DST] -o FILE   (a running lab, root)")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise BadInput(f"{message} (see `lab draw --help`)")


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {USAGE}")
        return 0 if argv else 2
    if argv[0] == "--name" or argv[0].startswith("--name="):
        return live_main(argv)
    import topologies
    topology = topologies.load(argv[0])
    p = _Parser(prog=f"lab draw {topology.name}", add_help=False)
    topology.add_arguments(p)
    p.add_argument("--what", choices=["topology", "pipeline"], default="topology")
    p.add_argument("--node", default="node1")
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args(argv[1:])
    check_output(args.output)
    model = topology.model(args)  # validates, as `lab run` would
    plane = planes.get(topology.plane)
    if args.what == "pipeline":
        try:
            flows = plane.flows(model, args.node)
        except NotOffered as exc:
            raise planes.not_offered(exc, "flows") from None
        text = pipeline_dot(args.node, flows, port_names=plane.port_names)
    else:
        text = topology_dot(plane.picture(model))
    print(f"wrote {write(text, args.output)}")
    return 0


def live_main(argv: Sequence[str], lab_name: Optional[str] = None) -> int:
    """A running lab: `[--name LAB] topology|pipeline NODE|path SRC DST -o FILE`."""
    p = _Parser(prog="draw", add_help=False)
    p.add_argument("--name", default=lab_name)
    p.add_argument("what", choices=["topology", "pipeline", "path"])
    p.add_argument("args", nargs="*")
    p.add_argument("-o", "--output", required=True)
    a = p.parse_args(list(argv))
    if not a.name:
        raise BadInput(f"which lab? --name LAB (usage: {USAGE})")
    check_output(a.output)
    text = live_dot(a.name, a.what, a.args)
    print(f"wrote {write(text, a.output)}")
    return 0


# --- a running lab, reached by its name (from another shell, or its own CLI) ---------------------------

def live_dot(name: str, what: str, args: Sequence[str]) -> str:
    from lab.livelab import LiveLab
    from lab.requirements import require_root
    require_root()  # the lab's namespaces and switches
    lab = LiveLab(name)
    plane = planes.get(lab.plane)
    if what == "topology":
        if args:
            raise BadInput("draw topology takes no arguments")
        return topology_dot(plane.live_picture(lab))
    if what == "pipeline":
        if len(args) != 1:
            raise BadInput("usage: draw pipeline NODE -o FILE")
        try:
            return pipeline_dot(args[0], plane.live_flows(lab, args[0]), port_names=plane.port_names)
        except NotOffered as exc:
            raise planes.not_offered(exc, "live_flows") from None
    if len(args) != 2:
        raise BadInput("usage: draw path SRC DST -o FILE")
    try:
        hops = plane.path(lab, args[0], args[1])
    except NotOffered as exc:
        raise planes.not_offered(exc, "path") from None
    return topology_dot(plane.live_picture(lab), hops, args[0], args[1])


def draw_verb(net):
    """The CLI verb `draw`, on the CLI's own lab."""
    def do_draw(line: str) -> None:
        live_main(line.split(), lab_name=net.name)

    return {"draw": (do_draw, "draw topology | pipeline NODE | path SRC DST -o FILE.svg|.png: Graphviz pictures")}
