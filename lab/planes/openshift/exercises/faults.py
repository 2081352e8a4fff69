"""Break/fix on OpenShift SDN: the lab starts broken (lab.faults), the student finds and repairs it.

Every criterion observes the behaviour the task names (a ping seen at the real peer, a rule's counter moving
while the exercise's packets flow, the VNI on the wire, the trace through the running switches); `control`
marks what holds on the broken lab by design. Each exercise lists the wrong fixes its criteria refuse."""

from __future__ import annotations

import ipaddress
import re
import shlex
from typing import Dict, List, Optional, Tuple

from lab.errors import LabError
from lab.faults import WRONG_MAC
from lab.observe.flows import OFCTL
from lab.planes.openshift.exercises.common import api
from lab.planes.openshift.exercises.paths import SMALL
from lab.workshop.criteria import PeerCapture, digits, inject, ping_seen_at, reaches, repair
from lab.workshop.exercise import Criterion, Exercise, Outcome, Question, Stage, WrongFix, hints, text

VXLAN_PORT = 1  # br0's vxlan0 (lab.planes.openshift.node.flows.VXLAN_OFPORT)


# --- what the lab is, read from the lab itself ---------------------------------------------------------

def _subnet(lab, node: str) -> str:
    """node's HostSubnet as its tun0 holds it (`10.129.0.0/23`)."""
    return str(lab.addresses(node)["tun0"].network)


def _node_holding(lab, ip: str) -> str:
    """The node whose subnet holds ip."""
    for n in lab.nodes:
        tun0 = lab.addresses(n).get("tun0")
        if tun0 is not None and ipaddress.ip_address(ip) in tun0.network:
            return n
    raise LabError(f"no node's subnet holds {ip}")


def _netid(lab, project: str) -> int:
    """project's NETID as the lab's API server has it (not a file the student can edit)."""
    return int(api(lab)["netnamespaces"][project])


def _project_of(lab, pod: str) -> str:
    return next(p["namespace"] for p in api(lab)["pods"] if p["name"] == pod)


def _ofctl(node: str, flow: str) -> Tuple[str, str]:
    return node, f"{OFCTL} add-flow br0 {shlex.quote(flow)}"


def _run(*steps: Tuple[str, str]):
    """A wrong fix as the student types it: (host, command) after (host, command)."""
    def apply(lab) -> None:
        for host, command in steps:
            lab.sh(host, command)
    return apply


def _with_lab(make):
    """A wrong fix whose commands need the lab's own values: make(lab) -> [(host, command)]."""
    def apply(lab) -> None:
        for host, command in make(lab):
            lab.sh(host, command)
    return apply


def _alias(host: str, target: str):
    """The gaming attempt: target's address put on host's loopback, so host answers itself."""
    return _with_lab(lambda lab: [(host, f"ip addr add {lab.ip_of(target)}/32 dev lo")])


# --- the trace through the running switches ----------------------------------------------------------

def _hops(lab, src: str, dst: str):
    """[(node, Trace)]: ofproto/trace of an echo request from pod src to pod dst, node after node."""
    from lab.planes.openshift.observe.follow import follow_vxlan
    from lab.planes.openshift.observe.trace import packet_fields
    src_ip, dst_ip = lab.ip_of(src), lab.ip_of(dst)
    node = _node_holding(lab, src_ip)
    mac = {h: lab.sh(h, "cat /sys/class/net/eth0/address").strip() for h in (src, dst)}
    ofport = int(lab.sh(node, f"ovs-vsctl --bare --columns=ofport find interface external_ids:sandbox={src}"))
    return follow_vxlan(lab.host, {n: lab.underlay_ip(n) for n in lab.nodes}, node,
                        packet_fields(src_ip, mac[src], dst_ip, mac[dst]), ofport)


def _drop_table(src: str, dst: str, node: str):
    """The table of node's switch that drops src's packet to dst; once fixed, the table whose flow sends it
    into the tunnel (the same table: where the missing flow belongs)."""
    def truth(lab) -> str:
        hops = _hops(lab, src, dst)
        for n, t in hops:
            if t.dropped:
                return str(t.tables[-1]) if n == node and t.tables else ""
        first = hops[0][1]
        return next((str(s.table) for s in first.steps if any("->tun_dst" in a for a in s.actions)), "")
    return truth


def _trace_tun_dst(src: str, dst: str):
    def truth(lab) -> str:
        hops = _hops(lab, src, dst)
        return (hops[0][1].tun_dst or "") if hops and not hops[0][1].dropped else ""
    return truth


def _trace_last_port(src: str, dst: str):
    """The OpenFlow port the last switch on the way outputs the packet to (the pod's own port)."""
    def truth(lab) -> str:
        hops = _hops(lab, src, dst)
        last = hops[-1][1] if hops else None
        return str(last.output_port) if last is not None and not last.dropped and len(hops) > 1 else ""
    return truth


# --- flow-90 ------------------------------------------------------------------------------------------

def _priority(flow: str) -> int:
    m = re.search(r"priority=(\d+)", flow)
    return int(m.group(1)) if m else 32768  # OpenFlow's default

def _tunnels_to(node: str, remote: str) -> Criterion:
    """node's table-90 flow for remote's subnet (the one of highest priority) sets tun_dst to remote's underlay
    IP and outputs to vxlan0; the subnet and the IP are read from the lab (the traffic: _vxlan_arrives)."""
    def observe(lab) -> Outcome:
        subnet, want = _subnet(lab, remote), lab.underlay_ip(remote)
        flows = sorted((f for f in lab.flows(node, 90) if re.search(rf"nw_dst={re.escape(subnet)}(,|\s|$)", f)),
                       key=_priority, reverse=True)
        if not flows:
            return Outcome(False, f"{node}'s table 90 holds no flow for {subnet}")
        flow = flows[0]
        dst = re.search(r"set_field:([\d.]+)->tun_dst", flow)
        out = re.search(r"output:(\d+)", flow)
        seen = flow.split("actions=")[-1]
        ok = bool(dst and dst.group(1) == want and out and int(out.group(1)) == VXLAN_PORT)
        return Outcome(ok, f"{node} table 90 for {subnet}: actions={seen}"
                           + ("" if ok else f" ({remote} is {want}; vxlan0 is port {VXLAN_PORT})"))
    return Criterion(text(f"{node} table 90: the flow for {remote}'s subnet tunnels to {remote}'s address",
                          f"{node} 表 90：{remote} 子网的流表经隧道发往 {remote} 的地址"), observe)


def _vxlan_arrives(src: str, dst: str, sender: str, receiver: str, vnid_of: Optional[str] = None) -> Criterion:
    """A capture on receiver sees src's ping to dst inside VXLAN from sender's underlay address (with
    vnid_of's project NETID as the VNI, when given)."""
    def observe(lab) -> Outcome:
        ip, from_ip, to_ip = lab.ip_of(dst), lab.underlay_ip(sender), lab.underlay_ip(receiver)
        _answered, seen = ping_seen_at(lab, src, ip, receiver, bpf="udp port 4789", tries=2, until_seen=True)
        if seen is None:
            return Outcome(False, f"{receiver} saw no VXLAN carrying {src}'s ping to {dst}")
        head = f"{receiver} saw {seen.src} > {seen.dst} VXLAN vni {seen.vni}"
        if (seen.src, seen.dst) != (from_ip, to_ip):
            return Outcome(False, f"{head} ({sender} is {from_ip}, {receiver} is {to_ip})")
        if vnid_of is not None:
            project = _project_of(lab, vnid_of)
            want = _netid(lab, project)
            return Outcome(seen.vni == want, f"{head}; project {project}'s NETID is {want}")
        return Outcome(True, head)
    what = f"{src}'s packet to {dst} reaches {receiver} over VXLAN from {sender}"
    return Criterion(text(what + (f" with {vnid_of}'s project VNID" if vnid_of else ""),
                          f"{src} 发往 {dst} 的包经 VXLAN 从 {sender} 到达 {receiver}"
                          + (f"，且带 {vnid_of} 所属项目的 VNID" if vnid_of else "")), observe)


# --- forged-tun-src ------------------------------------------------------------------------------------

def _table_with_any(pattern: str):
    """The table whose flows match pattern, on any node of the lab: where the student should have looked."""
    def truth(lab) -> str:
        for n in lab.nodes:
            for f in lab.flows(n):
                if re.search(pattern, f):
                    return re.search(r"table=(\d+)", f).group(1)  # type: ignore[union-attr]
        return ""
    return truth


def _accepts_tun_src(node: str, remote: str) -> Criterion:
    """While pod1 pings pod2, node's table-10 flow for remote's tun_src counts the packets (its action goes on
    to table 30) and table 10's drop counts none."""
    def observe(lab) -> Outcome:
        ip = lab.underlay_ip(remote)
        flows = [f for f in lab.flows(node, 10) if re.search(rf"tun_src={re.escape(ip)}\b", f)]
        moved = lab.hit_deltas(node, lambda: lab.ping("pod1", lab.ip_of("pod2"), tries=2))
        accepted = sum(n for (table, _p, match), n in moved.items() if table == 10 and f"tun_src={ip}" in match)
        drops = sum(n for (table, priority, _m), n in moved.items() if table == 10 and priority == 0)
        onward = bool(flows) and all("goto_table:30" in f for f in flows)
        ok = accepted > 0 and drops == 0 and onward
        return Outcome(ok, f"{node} table 10: tun_src={ip} flow(s) {len(flows)}"
                           f"{', on to table 30' if onward else ''}, counted +{accepted}; the drop counted +{drops} "
                           "while pod1 pinged pod2")
    return Criterion(text(f"{node}'s table 10 lets {remote}'s VXLAN through by its tun_src (counters)",
                          f"{node} 的表 10 按 tun_src 放行来自 {remote} 的 VXLAN（计数器）"), observe)


# --- masquerade ----------------------------------------------------------------------------------------

def _masquerade_counters(lab, node: str) -> Dict[str, int]:
    """node's MASQUERADE rules of the nat table (any chain) -> packets counted (`iptables-save -c`)."""
    found = {}
    for line in lab.sh(node, "iptables-save -t nat -c").splitlines():
        m = re.match(r"\[(\d+):\d+\] (-A .* -j MASQUERADE.*)$", line)
        if m:
            found[m.group(2)] = int(m.group(1))
    return found


def _masquerade_counts(node: str, pod: str, target: str) -> Criterion:
    def observe(lab) -> Outcome:
        before = _masquerade_counters(lab, node)
        lab.ping(pod, lab.ip_of(target), tries=2)
        after = _masquerade_counters(lab, node)
        moved = {r: n - before.get(r, 0) for r, n in after.items() if n > before.get(r, 0)}
        if moved:
            rule, n = max(moved.items(), key=lambda kv: kv[1])
            return Outcome(True, f"+{n} packet(s): {rule}")
        return Outcome(False, f"no MASQUERADE rule of {node} counted {pod}'s pings to {target} "
                              f"({len(after)} MASQUERADE rule(s) in its nat table)")
    return Criterion(text(f"a MASQUERADE rule of {node} counts {pod}'s packets to {target}",
                          f"{node} 的 MASQUERADE 规则计数 {pod} 发往 {target} 的包"), observe)


def _source_seen_at(target: str, pod: str, node: str) -> Criterion:
    """target's own capture sees pod's ping arrive from node's underlay address (SNAT)."""
    def observe(lab) -> Outcome:
        want = lab.underlay_ip(node)
        _answered, seen = ping_seen_at(lab, pod, lab.ip_of(target), target, until_seen=True)
        if seen is None:
            return Outcome(False, f"{target} saw no echo request from {pod}")
        return Outcome(seen.src == want, f"{target} saw: {seen.line.split(' ', 1)[-1]} ({node} is {want})")
    return Criterion(text(f"{target} sees {pod}'s packets from {node}'s address",
                          f"{target} 看到 {pod} 的包来自 {node} 的地址"), observe)


# --- mtu -----------------------------------------------------------------------------------------------

def _tun0_mtu(lab) -> Outcome:
    """The kernel's MTU of node1's tun0 and what OVS will keep asking for (it owns the port)."""
    mtu = lab.sh("node1", "cat /sys/class/net/tun0/mtu").strip()
    request = lab.sh("node1", "ovs-vsctl get interface tun0 mtu_request").strip()
    ok = mtu == "1450" and request in ("1450", "[]")
    return Outcome(ok, f"node1 tun0 mtu {mtu}, OVS mtu_request {request}")


# --- stale-arp -----------------------------------------------------------------------------------------

def _neighbour_right(lab) -> Outcome:
    ip = lab.ip_of("pod2")
    entry = " ".join(lab.sh("pod1", f"ip neigh show {ip}").split())
    real = lab.sh("pod2", "cat /sys/class/net/eth0/address").strip()
    ok = WRONG_MAC not in entry and (not entry or real in entry or "lladdr" not in entry)
    return Outcome(ok, entry or f"no entry for {ip} (pod1 will ARP)")


# --- tx-checksum ---------------------------------------------------------------------------------------

def _tx_off(lab) -> Outcome:
    line = next((ln for ln in lab.sh("pod1", "ethtool -k eth0").splitlines() if ln.startswith("tx-checksumming")), "")
    return Outcome(line.split(":")[-1].strip().startswith("off"), f"pod1 eth0 {line.strip()}")


def _udp_answered_by_peer(lab) -> Outcome:
    """pod1's UDP traceroute arrives: pod2 itself sends the ICMP port-unreachable (it accepted the datagram,
    checksum and all), captured on pod2, and traceroute lists pod2."""
    ip, src = lab.ip_of("pod2"), lab.ip_of("pod1")
    with PeerCapture(lab, "pod2", "icmp[icmptype] == icmp-unreach") as cap:
        out = lab.sh("pod1", f"traceroute -n -w1 -q3 -m3 {ip}", check=False)  # three probes: one may be lost
        answer = cap.first(lambda p: p.src == ip and p.dst == src)
    hops = [ln.split()[1] for ln in out.splitlines()[1:] if len(ln.split()) > 1 and ln.split()[0].isdigit()]
    arrived = any(ip in ln.split() for ln in out.splitlines()[1:])
    seen = f"UDP traceroute pod1 -> pod2: {' '.join(hops) or 'no hops'}; "
    seen += f"pod2 answered: {answer.line.split(' ', 1)[-1]}" if answer else "pod2 sent no port-unreachable"
    return Outcome(arrived and answer is not None, seen)


# --- wrong-vnid and vnid-on-the-wire --------------------------------------------------------------------

def _loaded_vnids(lab, pod: str) -> List[int]:
    """The VNIDs pod's table-20 flows (its ARP and IP) load into REG0 on its node's switch."""
    ip = lab.ip_of(pod)
    return [int(m.group(1), 16) for f in lab.flows(_node_holding(lab, ip), 20)
            if re.search(rf"(nw_src|arp_spa)={re.escape(ip)}\b", f)
            for m in [re.search(r"(?:load|set_field):(0x[0-9a-f]+)->(?:NXM_NX_REG0\[\]|reg0)", f)] if m]


def _vnid_of(pod: str):
    def observe(lab) -> Outcome:
        project = _project_of(lab, pod)
        want = _netid(lab, project)
        loads = _loaded_vnids(lab, pod)
        ok = len(loads) >= 2 and all(v == want for v in loads)  # its ARP flow and its IP flow
        return Outcome(ok, f"{pod}'s table-20 flows load {', '.join(hex(v) for v in loads) or 'nothing'}; "
                           f"project {project} has VNID {want:#x}")
    return Criterion(text(f"{pod}'s port carries its project's VNID (its flows' REG0 load)",
                          f"{pod} 的端口带有其项目的 VNID（其流表载入 REG0 的值）"),
                     observe)


def _vnid_number(value: str) -> str:
    """A VNID typed in hex or decimal, as a decimal string."""
    return str(int(value.strip(), 0)) if re.fullmatch(r"\s*(0x[0-9a-fA-F]+|\d+)\s*", value) else value.strip()


def _tagging_table(pod: str):
    """The table of pod's node whose flows for pod's address load a VNID into REG0."""
    def truth(lab) -> str:
        ip = lab.ip_of(pod)
        for f in lab.flows(_node_holding(lab, ip)):
            if re.search(rf"(nw_src|arp_spa)={re.escape(ip)}\b.*(->NXM_NX_REG0\[\]|->reg0)", f):
                return re.search(r"table=(\d+)", f).group(1)  # type: ignore[union-attr]
        return ""
    return truth


def _isolated(src: str, dst: str) -> Criterion:
    """src's pings to dst (another project) get no answer and dst's capture sees none of them arrive."""
    def observe(lab) -> Outcome:
        ip = lab.ip_of(dst)
        answered, seen = ping_seen_at(lab, src, ip, dst, tries=2, until_seen=True)
        ok = not answered and seen is None
        return Outcome(ok, f"{src} -> {dst} ({ip}): " + ("no answer, nothing arrived (isolated)" if ok else
                                                         "arrived at " + dst if seen else "answered"))
    return Criterion(text(f"{src} stays isolated from {dst} (another project)", f"{src} 与 {dst}（另一项目）保持隔离"),
                     observe, control=True)


def _wire_vni(lab) -> str:
    """The VNI in the VXLAN header node2 receives while pod1 pings pod3 (same project), from node2's capture."""
    _answered, seen = ping_seen_at(lab, "pod1", lab.ip_of("pod3"), "node2", bpf="udp port 4789", tries=2, until_seen=True)
    return str(seen.vni) if seen is not None and seen.vni is not None else ""


def _wire_project(lab) -> str:
    vni = _wire_vni(lab)
    return next((p for p, v in api(lab)["netnamespaces"].items() if str(v) == vni), "")


# --- node-route ----------------------------------------------------------------------------------------

def _routes_pods_to_tun0(node: str) -> Criterion:
    """node's kernel sends every pod's address into tun0 (`ip route get`), as one route for the cluster."""
    def observe(lab) -> Outcome:
        ways = {}
        for pod in lab.pods:
            words = lab.sh(node, f"ip -4 -o route get {lab.ip_of(pod)} 2>&1", check=False).split()
            ways[pod] = "tun0" if "dev" in words and words[words.index("dev") + 1] == "tun0" and "via" not in words \
                else " ".join(words[:6]) or "?"
        ok = all(w == "tun0" for w in ways.values())
        return Outcome(ok, "; ".join(f"{p}: {w}" for p, w in ways.items()))
    return Criterion(text(f"{node}'s kernel routes every pod into tun0", f"{node} 的内核把每个 Pod 路由进 tun0"), observe)


MULTITENANT = ("--nodes", "2", "--pods-per-node", "2", "--plugin", "multitenant", "--no-checks")


def _flow_90(tun_dst: str = "", nw_dst: str = "", port: int = VXLAN_PORT, node: str = "node1"):
    """node2's table-90 flow put on node as the student writes it (the lab's values unless given wrong ones)."""
    def make(lab) -> List[Tuple[str, str]]:
        dst = tun_dst.format(node1=lab.underlay_ip("node1")) or lab.underlay_ip("node2")
        subnet = nw_dst or _subnet(lab, "node2")
        return [_ofctl(node, f"table=90,priority=100,ip,nw_dst={subnet},actions=move:NXM_NX_REG0[]->"
                                f"NXM_NX_TUN_ID[0..31],set_field:{dst}->tun_dst,output:{port}")]
    return _with_lab(make)


def _vnid_flows(vnid_of_project: str = "", ip_only: bool = False):
    """pod1's table-20 flows rewritten to load project's NETID (or only the IP flow: the ARP one stays wrong)."""
    def make(lab) -> List[Tuple[str, str]]:
        ip, netid = lab.ip_of("pod1"), _netid(lab, vnid_of_project or _project_of(lab, "pod1"))
        node = _node_holding(lab, ip)
        flows = [f for f in lab.flows(node, 20) if re.search(rf"(nw_src|arp_spa)={re.escape(ip)}\b", f)
                 and (not ip_only or f"nw_src={ip}" in f)]
        return [_ofctl(node, re.sub(r"load:0x[0-9a-f]+->NXM_NX_REG0\[\]", f"load:{netid:#x}->NXM_NX_REG0[]", f))
                for f in flows]
    return _with_lab(make)


FLOW_90_HINTS = hints(
    ["`trace pod1 pod2`: where does the packet end?",
     "Compare `flows node1 90` with `oc get hostsubnets`: one subnet has no flow",
     "`node1 ovs-ofctl -O OpenFlow13 add-flow br0 'table=90,priority=100,ip,nw_dst=<subnet>,"
     "actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:<node2 IP>->tun_dst,output:1'`"],
    ["`trace pod1 pod2`：包在哪里结束？", "对比 `flows node1 90` 与 `oc get hostsubnets`：有一个子网没有流表",
     "`node1 ovs-ofctl -O OpenFlow13 add-flow br0 'table=90,priority=100,ip,nw_dst=<子网>,"
     "actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:<node2 IP>->tun_dst,output:1'`"])

STAGES_NOTE = text("`check` grades the stage you are at; `stage next` moves on once it passes.",
                   "`check` 评判当前阶段；通过后用 `stage next` 进入下一阶段。")


def _staged(en: str, zh: str) -> Dict[str, str]:
    return text(f"{en}\n{STAGES_NOTE['en']}", f"{zh}\n{STAGES_NOTE['zh']}")


EXERCISES = [
    Exercise(
        "flow-90", "openshift", SMALL, 15,
        text("Lost route to a node's subnet (table 90)", "到某节点子网的流丢失（表 90）"),
        _staged("pod1 on node1 cannot reach pod2 on node2, though both nodes are up. In three stages: find where "
                "node1's switch drops the packet, put the missing flow back, prove the fix with a trace.",
                "node1 上的 pod1 无法访问 node2 上的 pod2，但两个节点都正常。分三个阶段：找出 node1 的交换机在哪里丢包，"
                "把缺失的流表加回去，再用 trace 证明修复。"),
        FLOW_90_HINTS,
        stages=(
            Stage(text("Find the drop", "找到丢包处"),
                  text("Follow pod1's packet to pod2 through the switches (`trace pod1 pod2`).\n"
                       "`answer table N`: the table of node1's switch where the packet is dropped.",
                       "跟踪 pod1 发往 pod2 的包经过的交换机（`trace pod1 pod2`）。\n"
                       "`answer table 号码`：node1 的交换机在哪个表丢弃该包。"),
                  questions=(Question("table", text("the table where node1 drops the packet", "node1 丢包所在的表"),
                                      _drop_table("pod1", "pod2", "node1"), digits),)),
            Stage(text("Put the flow back", "把流表加回去"),
                  text("Put the missing flow back on node1: the other node's HostSubnet (`oc get hostsubnets`) "
                       "tells you its subnet and its address. pod2 must answer pod1, and pod1's packets must "
                       "arrive at node2 over VXLAN.",
                       "在 node1 上把缺失的流表加回去：另一节点的 HostSubnet（`oc get hostsubnets`）给出它的子网和"
                       "地址。pod2 必须应答 pod1，pod1 的包必须经 VXLAN 到达 node2。"),
                  criteria=(reaches("pod1", "pod2"), _tunnels_to("node1", "node2"),
                            _vxlan_arrives("pod1", "pod2", "node1", "node2")),
                  solve=repair("flow-90")),
            Stage(text("Prove it with a trace", "用 trace 证明"),
                  text("Trace pod1's packet to pod2 again (`trace pod1 pod2 -v`, or `node1 ovs-appctl ofproto/trace "
                       "br0 ...`).\n`answer tun_dst IP`: the tunnel destination node1's switch sets; "
                       "`answer port N`: the OpenFlow port node2's switch outputs the packet to.",
                       "再次跟踪 pod1 发往 pod2 的包（`trace pod1 pod2 -v`，或 `node1 ovs-appctl ofproto/trace br0 ...`）。\n"
                       "`answer tun_dst IP`：node1 的交换机设置的隧道目的地址；`answer port 号码`：node2 的交换机把包"
                       "输出到的 OpenFlow 端口。"),
                  questions=(Question("tun_dst", text("the tun_dst node1's trace shows", "node1 的 trace 显示的 tun_dst"),
                                      _trace_tun_dst("pod1", "pod2")),
                             Question("port", text("node2's output port in the trace", "trace 中 node2 的输出端口"),
                                      _trace_last_port("pod1", "pod2"), digits)),
                  criteria=(reaches("pod1", "pod2", control=True),)),  # fixed in stage 2: holds from the start
        ),
        setup=inject(("flow-90", "node1", "node2")), solve=repair("flow-90"),
        wrong_fixes=(
            WrongFix("table-90 flow with the wrong tun_dst (node1's own address)", _flow_90(tun_dst="{node1}")),
            WrongFix("table-90 flow that outputs to tun0 (port 2) instead of vxlan0", _flow_90(port=2)),
            WrongFix("table-90 flow for the whole cluster network instead of node2's subnet",
                     _flow_90(nw_dst="10.128.0.0/14")),
            WrongFix("the missing flow added on node2, not node1",
                     _flow_90(node="node2")),
            WrongFix("pod2's address on pod1's loopback (a local alias)", _alias("pod1", "pod2")),
            WrongFix("wrong answers: the table before the drop, node1's own address, the tunnel port",
                     answers=(("table", "30"), ("tun_dst", "172.16.1.11"), ("port", "1"))),
        ),
    ),
    Exercise(
        "forged-tun-src", "openshift", SMALL, 15,
        text("VXLAN from an unknown tunnel source (table 10)", "来自未知隧道源的 VXLAN（表 10）"),
        text("pod1 (node1) cannot reach pod2 (node2); pod2's replies are not the problem. node2 treats node1's "
             "VXLAN packets as forged. Find the table that drops them and restore node2's trust in node1.\n"
             "Also `answer table N`: the table that checks tun_src.",
             "pod1（node1）无法访问 pod2（node2）。node2 把来自 node1 的 VXLAN 包当作伪造的。找出丢弃它们的表，"
             "并恢复 node2 对 node1 的信任。\n同时 `answer table 号码`：检查 tun_src 的表。"),
        hints(["`node2 tcpdump -ni eth0 udp port 4789` shows the VXLAN arriving; so the drop is in node2's br0",
               "`flows node2 10`: one node's tun_src is missing; its n_packets of the drop flow move "
               "(`node2 ovs-ofctl -O OpenFlow13 dump-flows br0 table=10`)",
               "`node2 ovs-ofctl -O OpenFlow13 add-flow br0 'table=10,priority=100,tun_src=<node1 IP>,actions=goto_table:30'`"],
              ["`node2 tcpdump -ni eth0 udp port 4789` 能看到 VXLAN 到达，所以丢包发生在 node2 的 br0",
               "`flows node2 10`：缺少某个节点的 tun_src；丢弃流的 n_packets 在增长",
               "`node2 ovs-ofctl -O OpenFlow13 add-flow br0 'table=10,priority=100,tun_src=<node1 IP>,actions=goto_table:30'`"]),
        questions=(Question("table", text("the table that checks tun_src", "检查 tun_src 的表"),
                            _table_with_any(r"tun_src="), digits),),
        criteria=(reaches("pod1", "pod2"), _accepts_tun_src("node2", "node1")),
        setup=inject(("tun-src", "node2", "node1")), solve=repair("tun-src"),
        wrong_fixes=(
            WrongFix("table 10 accepts every tunnel source (no tun_src match)",
                     _run(_ofctl("node2", "table=10,priority=50,actions=goto_table:30"))),
            WrongFix("table-10 flow for node2's own address instead of node1's",
                     _with_lab(lambda lab: [_ofctl("node2", f"table=10,priority=100,tun_src={lab.underlay_ip('node2')},"
                                                            "actions=goto_table:30")])),
            WrongFix("the tun_src flow added on node1, not node2",
                     _with_lab(lambda lab: [_ofctl("node1", f"table=10,priority=100,tun_src={lab.underlay_ip('node1')},"
                                                            "actions=goto_table:30")])),
            WrongFix("table 10's drop flow deleted (a table miss drops as well)",
                     _run(("node2", f"{OFCTL} --strict del-flows br0 'table=10,priority=0'"))),
            WrongFix("pod2's address on pod1's loopback (a local alias)", _alias("pod1", "pod2")),
            WrongFix("wrong answer: the table after the check", answers=(("table", "30"),)),
        ),
    ),
    Exercise(
        "masquerade", "openshift", SMALL, 10,
        text("Pods cannot reach the outside (SNAT)", "Pod 无法访问外部（SNAT）"),
        text("pod1 on node1 cannot reach the external host ext, while pod2 on node2 can. Find out why and fix "
             "node1.",
             "node1 上的 pod1 无法访问外部主机 ext，而 node2 上的 pod2 可以。找出原因并修复 node1。"),
        hints(["`node1 tcpdump -ni eth0 icmp` while pod1 pings ext: which source address leaves node1?",
               "Compare `node1 iptables -t nat -S OPENSHIFT-MASQUERADE` with node2's",
               "`node1 iptables -t nat -A OPENSHIFT-MASQUERADE -s 10.128.0.0/14 -m comment --comment "
               "\"masquerade pod-to-service and pod-to-external traffic\" -j MASQUERADE`"],
              ["pod1 ping ext 时运行 `node1 tcpdump -ni eth0 icmp`：离开 node1 的源地址是什么？",
               "对比 node1 与 node2 的 `iptables -t nat -S OPENSHIFT-MASQUERADE`",
               "`node1 iptables -t nat -A OPENSHIFT-MASQUERADE -s 10.128.0.0/14 -j MASQUERADE`"]),
        criteria=(reaches("pod1", "ext"), _masquerade_counts("node1", "pod1", "ext"),
                  _source_seen_at("ext", "pod1", "node1"), reaches("pod2", "ext", control=True)),
        setup=inject(("masquerade", "node1")), solve=repair("masquerade"),
        wrong_fixes=(
            WrongFix("a MASQUERADE rule for a foreign source plus ext's address on pod1's loopback",
                     _with_lab(lambda lab: [("node1", "iptables -t nat -A OPENSHIFT-MASQUERADE -s 192.168.77.0/24 "
                                                      "-j MASQUERADE"),
                                            ("pod1", f"ip addr add {lab.ip_of('ext')}/32 dev lo")])),
            WrongFix("a MASQUERADE rule for a foreign source (it never matches)",
                     _run(("node1", "iptables -t nat -A OPENSHIFT-MASQUERADE -s 192.168.77.0/24 -j MASQUERADE"))),
            WrongFix("a MASQUERADE rule for traffic leaving by tun0 (the pods' way in, not out)",
                     _run(("node1", "iptables -t nat -A OPENSHIFT-MASQUERADE -s 10.128.0.0/14 -o tun0 -j MASQUERADE"))),
            WrongFix("a route on ext back to the pods through node1 (no SNAT at all)",
                     _with_lab(lambda lab: [("ext", f"ip route add {_subnet(lab, 'node1')} via "
                                                    f"{lab.underlay_ip('node1')}")])),
            WrongFix("the MASQUERADE rule added on node2, not node1",
                     _run(("node2", "iptables -t nat -A OPENSHIFT-MASQUERADE -s 10.128.0.0/14 -j MASQUERADE"))),
        ),
    ),
    Exercise(
        "mtu", "openshift", SMALL, 15,
        text("Big packets vanish (MTU)", "大包消失（MTU）"),
        text("node1 reaches pod2 with a small ping, but a ping with 1460 bytes of payload (`ping -s 1460`) gets "
             "no answer. VXLAN adds 50 bytes to every packet on a 1500-byte underlay. Fix node1.",
             "node1 用小包能 ping 通 pod2，但 1460 字节负载的 ping（`ping -s 1460`）没有应答。在 1500 字节的底层网络上，"
             "VXLAN 给每个包增加 50 字节。修复 node1。"),
        hints(["Compare `node1 ip link show tun0` with node2's", "The underlay MTU is 1500: what is left for the overlay?",
               "tun0 is an OVS internal port: `node1 ovs-vsctl set interface tun0 mtu_request=1450`"],
              ["对比 node1 与 node2 的 `ip link show tun0`", "底层 MTU 是 1500：留给 overlay 的是多少？",
               "tun0 是 OVS 内部端口：`node1 ovs-vsctl set interface tun0 mtu_request=1450`"]),
        criteria=(reaches("node1", "pod2", size=1460),
                  Criterion(text("node1's tun0 MTU is 1450 (the kernel's, and what OVS keeps)",
                                 "node1 的 tun0 MTU 为 1450（内核的值，以及 OVS 保持的值）"), _tun0_mtu),
                  reaches("node1", "pod2", control=True)),
        setup=inject(("mtu", "node1", "1500")), solve=repair("mtu"),
        wrong_fixes=(
            WrongFix("pod2's address on node1's loopback (a local alias)", _alias("node1", "pod2")),
            WrongFix("tun0's MTU set with ip link (OVS puts its mtu_request back)",
                     _run(("node1", "ip link set tun0 mtu 1450"))),
            WrongFix("a route with a smaller MTU for pod2 alone",
                     _with_lab(lambda lab: [("node1", f"ip route add {lab.ip_of('pod2')}/32 dev tun0 mtu lock 1400")])),
            WrongFix("tun0's MTU fixed on node2, not node1", _run(("node2", "ovs-vsctl set interface tun0 mtu_request=1450"))),
        ),
    ),
    Exercise(
        "stale-arp", "openshift", SMALL, 10,
        text("A stale ARP entry", "过期的 ARP 表项"),
        text("pod1 cannot reach pod2 any more; everything on the nodes looks right. Find the problem inside pod1 "
             "and fix it.",
             "pod1 再也无法访问 pod2，而节点上的一切看起来都正常。找出 pod1 内部的问题并修复。"),
        hints(["`pod1 ip neigh`: pods on other nodes are L2 neighbours (10.128.0.0/14 dev eth0)",
               "Compare the MAC pod1 has for pod2 with `pod2 ip link show eth0`",
               "`pod1 ip neigh del <pod2 IP> dev eth0` (pod1 then ARPs again, through table 50)"],
              ["`pod1 ip neigh`：其他节点上的 Pod 是二层邻居（10.128.0.0/14 dev eth0）",
               "对比 pod1 中 pod2 的 MAC 与 `pod2 ip link show eth0`",
               "`pod1 ip neigh del <pod2 IP> dev eth0`（之后 pod1 会经表 50 重新 ARP）"]),
        criteria=(reaches("pod1", "pod2"),
                  Criterion(text("pod1's neighbour entry for pod2 is right", "pod1 中 pod2 的邻居表项正确"), _neighbour_right)),
        setup=inject(("stale-arp", "pod1", "pod2")), solve=repair("stale-arp"),
        wrong_fixes=(
            WrongFix("pod2's address on pod1's loopback (a local alias)", _alias("pod1", "pod2")),
            WrongFix("`ip neigh flush dev eth0` (a permanent entry stays)", _run(("pod1", "ip neigh flush dev eth0"))),
            WrongFix("pod2's entry pointed at node1's tun0 MAC (the gateway's)",
                     _with_lab(lambda lab: [("pod1", f"ip neigh replace {lab.ip_of('pod2')} dev eth0 lladdr "
                                                     + lab.sh("node1", "cat /sys/class/net/tun0/address").strip()
                                                     + " nud permanent")])),
            WrongFix("the neighbours flushed in pod2, not pod1", _run(("pod2", "ip neigh flush dev eth0"))),
        ),
    ),
    Exercise(
        "tx-checksum", "openshift", SMALL, 15,
        text("Ping works, UDP does not (checksum offload)", "ping 通但 UDP 不通（校验和卸载）"),
        text("pod1 pings pod2, but a UDP traceroute from pod1 never reaches pod2 (and TCP fails too). On the "
             "userspace OVS datapath nobody fills in checksums a veth leaves to hardware. Fix pod1.",
             "pod1 能 ping 通 pod2，但从 pod1 出发的 UDP traceroute 永远到不了 pod2（TCP 也失败）。在用户态 OVS "
             "数据路径上，没有人会补上 veth 留给硬件计算的校验和。修复 pod1。"),
        hints(["`pod2 tcpdump -vni eth0 udp` shows `bad udp cksum`", "`pod1 ethtool -k eth0 | grep checksum`",
               "`pod1 ethtool -K eth0 tx off`"],
              ["`pod2 tcpdump -vni eth0 udp` 显示 `bad udp cksum`", "`pod1 ethtool -k eth0 | grep checksum`",
               "`pod1 ethtool -K eth0 tx off`"]),
        criteria=(Criterion(text("UDP traceroute pod1 -> pod2 arrives (pod2 answers it)",
                                 "UDP traceroute pod1 -> pod2 到达（pod2 作出应答）"), _udp_answered_by_peer),
                  Criterion(text("pod1's eth0 TX checksum offload is off", "pod1 的 eth0 关闭 TX 校验和卸载"), _tx_off),
                  reaches("pod1", "pod2", control=True)),
        setup=inject(("tx-checksum", "pod1")), solve=repair("tx-checksum"), datapaths=("netdev",),
        wrong_fixes=(
            WrongFix("pod2's address on pod1's loopback (a local alias)", _alias("pod1", "pod2")),
            WrongFix("TX checksum offload turned off on pod2, not pod1", _run(("pod2", "ethtool -K eth0 tx off >/dev/null"))),
            WrongFix("TX checksum offload turned off on node1's tun0", _run(("node1", "ethtool -K tun0 tx off >/dev/null"))),
        ),
    ),
    Exercise(
        "wrong-vnid", "openshift", MULTITENANT, 20,
        text("A pod in the wrong project (VNID)", "Pod 进入了错误的项目（VNID）"),
        _staged("ovs-multitenant: pod1 and pod3 are both in project p1 (`oc get pods --all-namespaces`), yet pod1 "
                "cannot reach pod3. In two stages: find which VNID tags pod1's packets, then give pod1 back its "
                "project's VNID.",
                "ovs-multitenant：pod1 和 pod3 都属于项目 p1（`oc get pods --all-namespaces`），但 pod1 无法访问 pod3。"
                "分两个阶段：找出给 pod1 的包打上的是哪个 VNID，然后恢复 pod1 所属项目的 VNID。"),
        hints(["`oc get netnamespaces` lists each project's NETID", "`flows node1 20`: the flows for pod1's port load REG0",
               "`node1 ovs-ofctl -O OpenFlow13 add-flow br0` with the same match and `load:<p1 NETID in hex>->NXM_NX_REG0[]`"],
              ["`oc get netnamespaces` 列出每个项目的 NETID", "`flows node1 20`：pod1 端口的流表加载 REG0",
               "用相同匹配条件和 `load:<p1 的 NETID 十六进制>->NXM_NX_REG0[]` 执行 `node1 ovs-ofctl -O OpenFlow13 add-flow br0`"]),
        stages=(
            Stage(text("Which VNID?", "哪个 VNID？"),
                  text("Find what tags pod1's packets with a VNID.\n`answer table N`: the table of node1's switch "
                       "that loads pod1's VNID into REG0; `answer vnid N`: project p1's VNID (NETID; hex or decimal).",
                       "找出是什么给 pod1 的包打上 VNID。\n`answer table 号码`：node1 的交换机中把 pod1 的 VNID 载入 REG0 "
                       "的表；`answer vnid 号码`：项目 p1 的 VNID（NETID；十六进制或十进制）。"),
                  questions=(Question("table", text("the table that loads pod1's VNID", "载入 pod1 的 VNID 的表"),
                                      _tagging_table("pod1"), digits),
                             Question("vnid", text("project p1's VNID", "项目 p1 的 VNID"),
                                      lambda lab: str(_netid(lab, "p1")), _vnid_number))),
            Stage(text("Give it back", "恢复它"),
                  text("Give pod1's port back its project's VNID. pod1 must reach pod3, the VXLAN node2 receives "
                       "from pod1 must carry p1's VNID, and p1 must stay isolated from p2.",
                       "恢复 pod1 端口所属项目的 VNID。pod1 必须能访问 pod3，node2 收到的来自 pod1 的 VXLAN 必须带 p1 "
                       "的 VNID，且 p1 与 p2 保持隔离。"),
                  criteria=(reaches("pod1", "pod3"), _vnid_of("pod1"),
                            _vxlan_arrives("pod1", "pod3", "node1", "node2", vnid_of="pod1"),
                            _isolated("pod1", "pod4")),
                  solve=repair("vnid")),
        ),
        setup=inject(("vnid", "pod1")), solve=repair("vnid"),
        wrong_fixes=(
            WrongFix("pod1's flows load p2's VNID (another wrong project)", _vnid_flows("p2")),
            WrongFix("only pod1's IP flow fixed (its ARP flow keeps the wrong VNID)", _vnid_flows(ip_only=True)),
            WrongFix("node2's table 80 lets every VNID through (a hand-made allow-all flow)",
                     _run(_ofctl("node2", "table=80,priority=400,actions=output:NXM_NX_REG2[]"))),
            WrongFix("pod3's address on pod1's loopback (a local alias)", _alias("pod1", "pod3")),
            WrongFix("wrong answers: the isolating table, the wrong VNID as p1's",
                     answers=(("table", "80"), ("vnid", "0x999"))),
        ),
    ),
    Exercise(
        "vnid-on-the-wire", "openshift", MULTITENANT, 15,
        text("The VNID on the wire", "线路上的 VNID"),
        text("ovs-multitenant carries each project's VNID in the VXLAN header between nodes. Capture on node2's "
             "eth0 while pod1 (project p1, node1) pings pod3 (p1, node2): which VNI does the header carry, and "
             "which project's NETID is it?\nAnswer with `answer vni N` (decimal) and `answer project NAME`.",
             "ovs-multitenant 在节点之间的 VXLAN 头中携带每个项目的 VNID。在 pod1（项目 p1，node1）ping pod3（p1，"
             "node2）时在 node2 的 eth0 上抓包：VXLAN 头中的 VNI 是多少？它是哪个项目的 NETID？\n用 `answer vni "
             "数字`（十进制）和 `answer project 名字` 作答。"),
        hints(["`node2 tcpdump -nni eth0 -c2 udp port 4789` while `pod1 ping -c1 pod3` runs",
               "tcpdump decodes the VXLAN header: `VXLAN, flags [I] (0x08), vni N`",
               "`oc get netnamespaces` maps NETIDs to projects; table 90 moves REG0 into NXM_NX_TUN_ID"],
              ["在 `pod1 ping -c1 pod3` 时运行 `node2 tcpdump -nni eth0 -c2 udp port 4789`",
               "tcpdump 会解析 VXLAN 头：`VXLAN, flags [I] (0x08), vni N`",
               "`oc get netnamespaces` 把 NETID 对应到项目；表 90 把 REG0 移到 NXM_NX_TUN_ID"]),
        questions=(Question("vni", text("the VNI on the wire", "线路上的 VNI"), _wire_vni, digits),
                   Question("project", text("whose NETID it is", "它是哪个项目的 NETID"), _wire_project)),
        wrong_fixes=(
            WrongFix("wrong answers: the UDP port, the default project", answers=(("vni", "4789"), ("project", "default"))),
            WrongFix("wrong answers: the other project", answers=(("vni", "0"), ("project", "p2"))),
        ),
    ),
    Exercise(
        "node-route", "openshift", SMALL, 10,
        text("A node loses its pods (route to the cluster network)", "节点无法访问 Pod（到集群网络的路由）"),
        text("Pods reach each other, but node1 itself cannot reach pod2 on node2 (health checks from the node "
             "would fail). Find what node1's kernel is missing and restore it.",
             "Pod 之间互通，但 node1 本身无法访问 node2 上的 pod2（来自节点的健康检查会失败）。找出 node1 内核缺少"
             "的配置并恢复。"),
        hints(["`node1 ip route get <pod2 IP>`: which way does node1 send it?",
               "An OpenShift node routes the whole cluster network into br0 through tun0",
               "`node1 ip route add 10.128.0.0/14 dev tun0`"],
              ["`node1 ip route get <pod2 IP>`：node1 从哪里发出？", "OpenShift 节点把整个集群网络经 tun0 路由进 br0",
               "`node1 ip route add 10.128.0.0/14 dev tun0`"]),
        criteria=(reaches("node1", "pod2"), _routes_pods_to_tun0("node1"), reaches("pod1", "pod2", control=True)),
        setup=inject(("route", "node1", "pod2")), solve=repair("route"),
        wrong_fixes=(
            WrongFix("pod2's address on node1's loopback (a local alias)", _alias("node1", "pod2")),
            WrongFix("a route for pod2 alone on tun0",
                     _with_lab(lambda lab: [("node1", f"ip route add {lab.ip_of('pod2')}/32 dev tun0")])),
            WrongFix("the cluster network routed to node2 over the underlay",
                     _with_lab(lambda lab: [("node1", f"ip route add 10.128.0.0/14 via {lab.underlay_ip('node2')}")])),
        ),
    ),
]
