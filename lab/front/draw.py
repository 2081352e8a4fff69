"""Pictures of a lab with Graphviz `dot`: the topology (nodes, pods, bridges, tun0, tunnels, underlay,
external host), a node's OpenFlow pipeline (tables, gotos, flows per table), a packet's path.

`lab draw TOPOLOGY [options] --what topology|pipeline -o FILE.svg|.png` draws from the pure model and the
renderer: no root, nothing built. In a running lab the CLI verb `draw` (and `lab draw --name LAB ...`)
draws what the lab holds: its hosts, the live flows with their packet counters, and `draw path SRC DST`
(the ofproto/trace of a packet, tables visited per node, drawn over the topology).
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from lab.errors import BadInput, LabError

FORMATS = ("svg", "png")
PATH_COLOUR = "red3"
BR = "\\n"  # a line break inside a dot label


@dataclass
class Box:
    """A host in the picture (node, pod, external host, etcd, router) and the devices drawn inside it."""

    name: str
    role: str  # node, pod, external, service
    ip: str = ""
    node: str = ""  # a pod's node
    devices: List[Tuple[str, str]] = field(default_factory=list)  # (device, label): br0, tun0, cni0, flannel.1


@dataclass
class Picture:
    title: str
    underlay: str
    boxes: List[Box]
    tunnels: List[Tuple[str, str, str]] = field(default_factory=list)  # (node, node, label)
    bridge: str = "br0"  # the device a node's pods hang on
    overlay_dev: str = ""  # the device tunnels start from (vxlan0 on br0, flannel.1)

    def of_role(self, role: str) -> List[Box]:
        return [b for b in self.boxes if b.role == role]


def _q(text: str) -> str:
    return '"' + str(text).replace('"', '\\"') + '"'  # labels keep dot's own \\n line breaks


def _id(*parts: str) -> str:
    return _q(":".join(parts))


# --- pictures of the models ----------------------------------------------------------------------------

def openshift_picture(cluster) -> Picture:
    cn = cluster.network
    boxes = []
    for hs in cluster.hostsubnets:
        boxes.append(Box(hs.name, "node", hs.host_ip, devices=[
            ("br0", "br0\\nvxlan0 = 1, tun0 = 2"), ("tun0", f"tun0\\n{hs.gateway}"),
            ("vxlan0", f"vxlan0\\nVNI from reg0, {cn.vxlan_port}/udp")]))
    boxes += [Box(p.name, "pod", p.ip, node=p.node, devices=[("eth0", f"port {p.ofport}: {p.veth}")])
              for p in cluster.pods]
    if cluster.external:
        boxes.append(Box(cluster.external.name, "external", cluster.external.ip))
    nodes = cluster.hostsubnets
    tunnels = [(a.name, b.name, f"VXLAN {cn.vxlan_port}") for i, a in enumerate(nodes) for b in nodes[i + 1:]]
    return Picture(f"OpenShift SDN 3.11 ({cn.plugin}), cluster network {cn.cidr}", cluster.underlay, boxes,
                   tunnels, bridge="br0", overlay_dev="vxlan0")


def flannel_picture(cluster) -> Picture:
    cfg = cluster.config
    vxlan = cfg.backend == "vxlan"
    boxes = []
    for n in cluster.nodes:
        devices = [("cni0", f"cni0\\n{n.gateway}")]
        devices.append(("flannel.1", f"flannel.1\\n{n.vtep_ip}/32") if vxlan else ("eth0", f"eth0 (host-gw)\\n{n.ip}"))
        boxes.append(Box(n.name, "node", n.ip, devices=devices))
    boxes += [Box(p.name, "pod", p.ip, node=p.node, devices=[("eth0", p.veth)]) for p in cluster.pods]
    boxes.append(Box("ext", "external", cluster.external_ip))
    if cluster.etcd_ip:
        boxes.append(Box("etcd", "service", cluster.etcd_ip))
    if cluster.routed:
        boxes.append(Box("router", "service", f"{cluster.router_ip(0)}, {cluster.router_ip(1)}"))
    nodes = cluster.nodes
    label = f"VXLAN VNI {cfg.vni}" if vxlan else "host-gw route"
    tunnels = [(a.name, b.name, label) for i, a in enumerate(nodes) for b in nodes[i + 1:]]
    underlay = " + ".join(s.cidr for s in cluster.segments)
    return Picture(f"Flannel {cfg.backend}, network {cfg.network}", underlay, boxes, tunnels,
                   bridge="cni0", overlay_dev="flannel.1" if vxlan else "eth0")


def raw_picture(lab) -> Picture:
    p2p = lab.kind == "p2p"
    boxes = []
    for i, (name, ip) in enumerate(lab.hosts):
        dev = (("vxlan20", f"vxlan20\\n{lab.p2p_overlay[i]}/24") if p2p
               else ("br0", f"bridge {lab.docker_net}\\nvxlan100"))
        boxes.append(Box(name, "node", ip, devices=[dev]))
    if not p2p:
        boxes += [Box(c, "pod", ip, node=h, devices=[("eth0", "")]) for c, h, ip in lab.containers]
    (a, _), (b, _) = lab.hosts
    vni = lab.p2p_vni if p2p else lab.docker_vni
    return Picture(f"raw VXLAN ({'point to point' if p2p else 'two docker bridges'})", "172.16.1.0/24", boxes,
                   [(a, b, f"VXLAN VNI {vni}, {lab.port}/udp")], bridge="vxlan20" if p2p else "br0",
                   overlay_dev="vxlan20" if p2p else "br0")


def picture_of(model) -> Picture:
    """The picture of any model the topologies build."""
    if hasattr(model, "hostsubnets"):
        return openshift_picture(model)
    if hasattr(model, "segments"):
        return flannel_picture(model)
    if hasattr(model, "p2p_vni"):
        return raw_picture(model)
    raise LabError(f"no picture for {type(model).__name__}")


# --- dot text ------------------------------------------------------------------------------------------

@dataclass
class PathHop:
    """One node a traced packet crossed: the tables it visited and where it left."""

    node: str
    tables: List[int]
    end: str  # "output vxlan0", "drop in table 90", ...


def topology_dot(pic: Picture, path: Sequence[PathHop] = (), src: str = "", dst: str = "") -> str:
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
                     f"[style=dashed, color=darkgreen, fontcolor=darkgreen, label={_q(label)}, constraint=false];")
    lines += _path_edges(pic, path, src, dst)
    lines.append("}")
    return "\n".join(lines) + "\n"


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


_TABLE = re.compile(r"\btable=(\d+)")
_GOTO = re.compile(r"goto_table:(\d+)|resubmit\(,(\d+)\)")
_OUTPUT = re.compile(r"output:([^,\s]+)")
_PACKETS = re.compile(r"n_packets=(\d+)")
PORT_NAMES = {"1": "vxlan0", "2": "tun0", "NXM_NX_REG2[]": "pod port (reg2)"}


@dataclass
class TableInfo:
    flows: int = 0
    packets: Optional[int] = None  # live dumps only
    gotos: Dict[int, int] = field(default_factory=dict)  # table -> flows that go there
    outputs: Dict[str, int] = field(default_factory=dict)
    drops: int = 0


def pipeline(flows: Sequence[str]) -> Dict[int, TableInfo]:
    """Tables of a flow list (rendered strings or a live dump), their gotos, outputs and drops."""
    tables: Dict[int, TableInfo] = {}
    for flow in flows:
        m = _TABLE.search(flow)
        if not m or "actions=" not in flow:
            continue
        t = tables.setdefault(int(m.group(1)), TableInfo())
        t.flows += 1
        p = _PACKETS.search(flow)
        if p:
            t.packets = (t.packets or 0) + int(p.group(1))
        actions = flow.split("actions=", 1)[1]
        for g in _GOTO.finditer(actions):
            to = int(g.group(1) or g.group(2))
            t.gotos[to] = t.gotos.get(to, 0) + 1
        for o in _OUTPUT.finditer(actions):
            port = PORT_NAMES.get(o.group(1), f"port {o.group(1)}")
            t.outputs[port] = t.outputs.get(port, 0) + 1
        if actions.strip() == "drop":
            t.drops += 1
    return tables


def pipeline_dot(node: str, flows: Sequence[str], visited: Sequence[int] = ()) -> str:
    tables = pipeline(flows)
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


def rendered_flows(model, node: str) -> List[str]:
    """A node's flows as the renderer makes them (OpenShift)."""
    if not hasattr(model, "hostsubnets"):
        raise BadInput("--what pipeline is for OpenShift labs (Open vSwitch br0)")
    from lab.planes.openshift.node.flows import render_node_flows
    if node not in [h.name for h in model.hostsubnets]:
        raise BadInput(f"no node {node!r} (nodes: {', '.join(h.name for h in model.hostsubnets)})")
    return render_node_flows(model, node)


def write(dot_text: str, out: str) -> str:
    """Run dot; the format follows the file name (.svg or .png)."""
    fmt = out.rsplit(".", 1)[-1].lower() if "." in out else ""
    if fmt not in FORMATS:
        raise BadInput(f"-o {out}: the file name ends in .svg or .png")
    from lab.requirements import require_packages
    require_packages({"dot": "graphviz"})
    r = subprocess.run(["dot", f"-T{fmt}", "-o", out], input=dot_text, text=True, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise LabError(f"dot failed: {r.stderr.strip()}")
    return out


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
    model = topology.model(args)  # validates, as `lab run` would
    if args.what == "pipeline":
        text = pipeline_dot(args.node, rendered_flows(model, args.node))
    else:
        text = topology_dot(picture_of(model))
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
    text = live_dot(a.name, a.what, a.args)
    print(f"wrote {write(text, a.output)}")
    return 0


# --- a running lab, reached by its name (from another shell, or its own CLI) ---------------------------

def live_picture(lab) -> Picture:
    """What the running lab holds: its nodes, their devices and addresses, the pods by their gateway."""
    if not lab.nodes:
        raise BadInput(f"drawing a running lab works for openshift and flannel labs; {lab.name!r} is {lab.topology}")
    openshift = lab.is_openshift()
    boxes, gateways = [], {}
    for node in lab.nodes:
        addrs = lab.addresses(node)
        if openshift:
            devices = [("br0", "br0\\nvxlan0 = 1, tun0 = 2"), ("tun0", f"tun0\\n{addrs['tun0'].ip}"),
                       ("vxlan0", "vxlan0")]
            gateways[str(addrs["tun0"].ip)] = node
        else:
            devices = [("cni0", f"cni0\\n{addrs['cni0'].ip}" if "cni0" in addrs else "cni0")]
            if "flannel.1" in addrs:
                devices.append(("flannel.1", f"flannel.1\\n{addrs['flannel.1']}"))
            if "cni0" in addrs:
                gateways[str(addrs["cni0"].ip)] = node
        boxes.append(Box(node, "node", lab.underlay_ip(node), devices=devices))
    for pod in lab.pods:
        route = lab.sh(pod, "ip -4 route show default").split()
        gw = route[route.index("via") + 1] if "via" in route else ""
        boxes.append(Box(pod, "pod", lab.ip_of(pod), node=gateways.get(gw, ""), devices=[("eth0", "")]))
    for host in lab.hosts:
        if host in ("ext", "etcd", "router"):
            addrs = lab.addresses(host)
            ip = ", ".join(str(a.ip) for d, a in sorted(addrs.items()) if d != "lo")
            boxes.append(Box(host, "external" if host == "ext" else "service", ip))
    under = str(ipaddress.ip_interface(f"{boxes[0].ip}/24").network)
    nodes = lab.nodes
    flannel_vxlan = any(d == "flannel.1" for b in boxes for d, _l in b.devices)
    label = "VXLAN" if openshift or flannel_vxlan else "host-gw route"
    tunnels = [(a, b, label) for i, a in enumerate(nodes) for b in nodes[i + 1:]]
    if openshift:
        return Picture(f"lab {lab.name}: OpenShift SDN (running)", under, boxes, tunnels, "br0", "vxlan0")
    return Picture(f"lab {lab.name}: Flannel (running)", under, boxes, tunnels, "cni0",
                   "flannel.1" if flannel_vxlan else "eth0")


def live_trace(lab, src: str, dst: str) -> List[PathHop]:
    """ofproto/trace of an ICMP echo from pod src to dst on the running switches, node after node."""
    from lab.observe.trace import parse_trace
    from lab.planes.openshift.observe.trace import packet_fields
    if not lab.is_openshift():
        raise BadInput("draw path follows ofproto/trace: it is for OpenShift labs")
    lab.need(src, "pod")
    pic = live_picture(lab)
    node = next(b.node for b in pic.boxes if b.name == src)
    src_ip, dst_ip = lab.ip_of(src), lab.ip_of(dst)
    src_mac = lab.sh(src, "cat /sys/class/net/eth0/address").strip()
    dst_is_pod = dst in lab.pods or dst_ip in [b.ip for b in pic.of_role("pod")]
    dst_host = dst if dst in lab.hosts else next((b.name for b in pic.of_role("pod") if b.ip == dst_ip), "")
    dst_mac = lab.sh(dst_host if dst_is_pod else node,
                     f"cat /sys/class/net/{'eth0' if dst_is_pod else 'tun0'}/address").strip()
    ofport = lab.sh(node, f"ovs-vsctl --bare --columns=ofport find interface external_ids:sandbox={src}").strip()
    pkt = packet_fields(src_ip, src_mac, dst_ip, dst_mac)
    hops = []
    flow = f"in_port={ofport},{pkt}"
    seen = set()
    while node and node not in seen:
        seen.add(node)
        trace = parse_trace(lab.sh(node, f"ovs-appctl ofproto/trace br0 '{flow}'"))
        port = trace.output_port
        end = (f"drop in table {trace.tables[-1] if trace.tables else 0}" if trace.dropped
               else f"output {PORT_NAMES.get(str(port), f'port {port}')}")
        hops.append(PathHop(node, trace.tables, end))
        if not trace.tun_dst:
            break
        here = next(b.ip for b in pic.of_role("node") if b.name == node)
        node = next((b.name for b in pic.of_role("node") if b.ip == trace.tun_dst), "")
        flow = f"in_port=1,tun_src={here},tun_dst={trace.tun_dst},tun_id={_tunnel_id(trace)},{pkt}"
    return hops


def _tunnel_id(trace) -> str:
    """The VNI the sending node put in the VXLAN header (table 90 moves REG0 there): the multitenant
    receiver's table 80 compares it with the destination's VNID, so the next hop must be traced with it."""
    for pattern in (r"NXM_NX_TUN_ID\[0\.\.31\] is now (0x[0-9a-f]+|\d+)",  # the move, as the trace reports it
                    r"\btun_id=(0x[0-9a-f]+|\d+)", r"\bvni=(0x[0-9a-f]+|\d+)"):  # kernel / userspace actions
        m = re.search(pattern, trace.raw)
        if m:
            return m.group(1)
    return "0"


def live_dot(name: str, what: str, args: Sequence[str]) -> str:
    from lab.front.faults import LiveLab
    from lab.requirements import require_root
    require_root()  # the lab's namespaces and switches
    lab = LiveLab(name)
    if what == "topology":
        if args:
            raise BadInput("draw topology takes no arguments")
        return topology_dot(live_picture(lab))
    if what == "pipeline":
        if len(args) != 1 or not lab.is_openshift():
            raise BadInput("usage: draw pipeline NODE -o FILE (an OpenShift lab)")
        node = lab.need(args[0], "node")
        dump = lab.sh(node, "ovs-ofctl -O OpenFlow13 --no-names dump-flows br0")
        return pipeline_dot(node, dump.splitlines())
    if len(args) != 2:
        raise BadInput("usage: draw path SRC DST -o FILE")
    hops = live_trace(lab, args[0], args[1])
    return topology_dot(live_picture(lab), hops, args[0], args[1])


def draw_verb(net):
    """The CLI verb `draw`, on the CLI's own lab."""
    def do_draw(line: str) -> None:
        live_main(line.split(), lab_name=net.name)

    return {"draw": (do_draw, "draw topology | pipeline NODE | path SRC DST -o FILE.svg|.png: Graphviz pictures")}
