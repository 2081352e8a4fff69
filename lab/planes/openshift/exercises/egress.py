"""Traffic that leaves a project, as ovs-multitenant 3.11 shapes it: an egress IP (and its node going down),
multicast inside a project, an EgressNetworkPolicy. The student types `oc patch|annotate|apply` (and
`unplug`) in the lab's CLI; grading observes what the external host's listener saw, multicast datagrams
received, the table-100/101/120 flows and the SNAT rule's counter, the API objects as `oc get` shows them (asked of
the lab's own process), and that nothing was made by hand (lab.workshop.drift). Nothing a question is graded
against is stored where the student reads it: it is observed when `check` runs."""

from __future__ import annotations

import ipaddress
import os
import random
import re
import sys
import time
from typing import List, Optional

from lab import paths
from lab.errors import LabError
from lab.planes.openshift.exercises.common import oc, oc_yaml, private_file, unplug
from lab.workshop.drift import nothing_hand_made
from lab.workshop.exercise import Criterion, Exercise, Outcome, Question, WrongFix, hints, text

MANIFESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "manifests")
STREAM = os.path.join(MANIFESTS, "stream.yaml")
DENY_EXT = os.path.join(MANIFESTS, "deny-ext.yaml")

# pod1 (p1) and pod2 (p2) on node1, pod3 (p1) and pod4 (p2) on node2
MULTITENANT = ("--nodes", "2", "--pods-per-node", "2", "--plugin", "multitenant", "--no-checks")
EGRESS_IP = "172.16.1.100"
MULTICAST = "netnamespace.network.openshift.io/multicast-enabled"
GROUP, GROUP_PORT = "239.1.1.1", 5555
PY = sys.executable


def _patch(kind: str, name: str, ips: List[str]) -> str:
    return f"""patch {kind} {name} -p '{{"egressIPs": [{", ".join(f'"{ip}"' for ip in ips)}]}}'"""


def _vnid(lab, project: str) -> int:
    """The project's VNID as `oc get netnamespaces` shows it now (the lab's state, not the start's record)."""
    for line in oc(lab, "get netnamespaces").splitlines()[1:]:
        words = line.split()
        if len(words) >= 2 and words[0] == project:
            return int(words[1])
    raise LabError(f"`oc get netnamespaces` lists no {project}")


def _hostsubnet_egress_ips(lab) -> dict:
    """node -> its EGRESS IPS column of `oc get hostsubnets` (the last bracketed list of its row)."""
    out = {}
    for line in oc(lab, "get hostsubnets").splitlines()[1:]:
        lists = re.findall(r"\[([^\]]*)\]", line)
        if line.split() and lists:
            out[line.split()[0]] = [ip.strip() for ip in lists[-1].split(",") if ip.strip()]
    return out


def _netnamespace(lab, name: str) -> dict:
    return oc_yaml(lab, f"get netnamespace {name}")


def _egress_ip_objects(host: str):
    """`oc get netnamespace p1` asks for EGRESS_IP and `oc get hostsubnets` has host (only) hosting it."""
    def observe(lab) -> Outcome:
        asked = _netnamespace(lab, "p1").get("egressIPs") or []
        hosted = _hostsubnet_egress_ips(lab)
        holders = sorted(n for n, ips in hosted.items() if EGRESS_IP in ips)
        ok = asked == [EGRESS_IP] and holders == [host]
        return Outcome(ok, f"oc get netnamespace p1: egressIPs {asked}; oc get hostsubnets: {EGRESS_IP} hosted by "
                           f"{', '.join(holders) or 'no node'}")
    return Criterion(text(f"oc get: NetNamespace p1 asks for {EGRESS_IP}, HostSubnet {host} hosts it",
                          f"oc get：NetNamespace p1 申请 {EGRESS_IP}，由 HostSubnet {host} 承载"), observe)


def _snat_by_hand(node: str):
    """A wrong fix: the egress IP put on node's underlay device and an iptables SNAT of pod1 to it, by hand."""
    def apply(lab) -> None:
        dev = "br-phy" if "br-phy" in lab.addresses(node) else "eth0"
        lab.sh(node, f"ip addr add {EGRESS_IP}/24 dev {dev} && iptables -t nat -I POSTROUTING -s "
                     f"{lab.ip_of('pod1')} -j SNAT --to-source {EGRESS_IP}")
    return apply


def _underlay_ip_held(lab, node: str) -> str:
    """The node's underlay address as its own kernel holds it (br-phy on the userspace datapath, else eth0)."""
    addrs = lab.addresses(node)
    for dev in ("br-phy", "eth0"):
        if dev in addrs:
            return str(addrs[dev].ip)
    return ""


def _reg0(flow: str) -> Optional[int]:
    m = re.search(r"\breg0=(0x[0-9a-f]+|\d+)\b", flow)
    return int(m.group(1), 0) if m else None


def _flows_of(lab, node: str, project: str, table: Optional[int] = None) -> List[str]:
    """node's flows that match the project's VNID in reg0 (one table, or all)."""
    vnid = _vnid(lab, project)
    return [f for f in lab.flows(node, table) if _reg0(f.split(" actions=")[0]) == vnid]


def _table(flow: str) -> int:
    return int(re.search(r"table=(\d+)", flow).group(1))


def _run_file(lab, what: str) -> str:
    return os.path.join(paths.run_dir(lab.name), f"ws-{what}-{os.getpid()}-{random.randrange(10 ** 6)}")


def _wait_ready(path: str, seconds: float = 6.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.exists(path) and "ready" in open(path).read():
            return True
        time.sleep(0.1)
    return False


def _stop(lab, host: str, base: str) -> None:
    """The background process this module started in host, by its pid file; then its files."""
    lab.sh(host, f"[ -f {base}.pid ] && kill $(cat {base}.pid) 2>/dev/null", check=False)
    for suffix in (".pid", ".out"):
        try:
            os.unlink(base + suffix)
        except OSError:
            pass


def listener_source(lab, pod: str, want: str = "", seconds: float = 8.0) -> str:
    """A TCP listener started on the external host for this observation; pod connects to it (again, until
    the deadline, while the listener reports another source than `want`); the source address the listener
    saw for the last connection, '' when none arrived."""
    port = random.randint(20000, 29999)
    base = _run_file(lab, "listener")
    lab.sh("ext", f"timeout 30 {PY} -m lab.observe.probe serve tcp {port} 500 > {base}.out 2>&1 & echo $! > {base}.pid")
    try:
        if not _wait_ready(base + ".out"):
            raise RuntimeError(f"the listener on ext did not start: {open(base + '.out').read().strip()}")
        deadline = time.monotonic() + seconds
        while True:
            out = lab.sh(pod, f"{PY} -m lab.observe.probe ask tcp {lab.ip_of('ext')} {port} hi", check=False)
            m = re.search(r"hi from (\d+\.\d+\.\d+\.\d+)", out)
            seen = m.group(1) if m else ""
            if not want or seen == want or time.monotonic() > deadline:
                return seen
            time.sleep(0.3)
    finally:
        _stop(lab, "ext", base)


def _listener_sees(pod: str, what_en: str, what_zh: str, want) -> Criterion:
    """ext's listener sees `want(lab)` as the source of pod's connection ('' : no connection arrives)."""
    def observe(lab) -> Outcome:
        expected = want(lab)
        seen = listener_source(lab, pod, expected, seconds=8.0 if expected else 0)
        ok = seen == expected
        return Outcome(ok, f"{pod} -> ext ({lab.ip_of('ext')}): " + (f"the listener saw {seen}" if seen
                                                                      else "no connection reached the listener"))
    return Criterion(text(f"ext's listener: {what_en}", f"ext 上的监听程序：{what_zh}"), observe)


def _node_ip(node: str):
    return lambda lab: lab.underlay_ip(node)


# -- egress-ip

def _egress_flow_via(lab, node: str, target: str) -> Outcome:
    flows = _flows_of(lab, node, "p1", 100)
    want = f"set_field:{lab.underlay_ip(target)}->tun_dst"
    found = [f for f in flows if want in f]
    return Outcome(bool(found), found[0] if found else
                   f"{node} table 100: {'; '.join(flows) or 'no flow'} for p1's VNID {_vnid(lab, 'p1'):#x}")


def _mark(lab) -> str:
    """The pkt_mark node2's table-100 flow sets for p1's VNID."""
    for f in _flows_of(lab, "node2", "p1", 100):
        m = re.search(r"set_field:(0x[0-9a-f]+)->pkt_mark", f)
        if m:
            return hex_value(m.group(1))
    return ""


def hex_value(value: str) -> str:
    """`0x53cff0`, `53CFF0`, `0x0053cff0` -> `0x53cff0`."""
    v = value.strip().lower()
    return hex(int(v, 16)) if re.fullmatch(r"(0x)?[0-9a-f]+", v) else v


def snat_packets(lab, node: str) -> Optional[int]:
    """Packets counted by node's OPENSHIFT-MASQUERADE rule that SNATs to the egress IP (None: no such rule)."""
    out = lab.sh(node, "iptables -t nat -nvxL OPENSHIFT-MASQUERADE")
    line = next((ln for ln in out.splitlines() if f"to:{EGRESS_IP}" in ln.split()), None)
    return int(line.split()[0]) if line else None


def _snat_counter_moves(lab) -> Outcome:
    before = snat_packets(lab, "node2")
    if before is None:
        return Outcome(False, f"node2's OPENSHIFT-MASQUERADE has no rule with to:{EGRESS_IP}")
    listener_source(lab, "pod1", EGRESS_IP)
    after = snat_packets(lab, "node2")
    return Outcome(after > before, f"SNAT to:{EGRESS_IP} counted {before} -> {after} packets while pod1 connected to ext")


def _no_egress_ips(lab) -> None:
    """The start of egress-ip: node2 plugged in, no egress IP anywhere."""
    unplug(lab, "node2", plugged=True)
    for line in (_patch("netnamespace", "p1", []), _patch("hostsubnet", "node1", []), _patch("hostsubnet", "node2", [])):
        oc(lab, line)


def _egress_ip_on_node2(lab) -> None:
    oc(lab, _patch("hostsubnet", "node2", [EGRESS_IP]))
    oc(lab, _patch("netnamespace", "p1", [EGRESS_IP]))


# -- egress-node-down

def _egress_node_dead(lab) -> None:
    """The start of egress-node-down: p1 leaves through node2's egress IP, then node2's cable is pulled."""
    unplug(lab, "node2", plugged=True)
    oc(lab, _patch("hostsubnet", "node1", []))
    _egress_ip_on_node2(lab)
    unplug(lab, "node2")


def _dead_node_tun_dst(lab) -> str:
    """Where node1 sent p1's external traffic once node2 was gone: the dead egress node's underlay address,
    observed when graded (node1's table-100 tunnel while it is still there, else node2's own kernel), never
    a note in the lab's record, which the student can read."""
    for f in _flows_of(lab, "node1", "p1", 100):
        m = re.search(r"set_field:([\d.]+)->tun_dst", f)
        if m:
            return m.group(1)
    return _underlay_ip_held(lab, "node2")


def _move_egress_ip_to_node1(lab) -> None:
    oc(lab, _patch("hostsubnet", "node2", []))
    oc(lab, _patch("hostsubnet", "node1", [EGRESS_IP]))


def _egress_local(lab) -> Outcome:
    """node1 marks p1's external traffic itself (pkt_mark, on to tun0 by table 101), no tunnel."""
    flows = _flows_of(lab, "node1", "p1", 100)
    local = [f for f in flows if "->pkt_mark" in f and "tun_dst" not in f]
    return Outcome(bool(local), local[0] if local else
                   f"node1 table 100: {'; '.join(flows) or 'no flow'} for p1's VNID {_vnid(lab, 'p1'):#x}")


def _deciding_table(lab) -> str:
    """The table of node1 whose flow for p1's VNID sends its external traffic to a tunnel, a mark or a drop."""
    tables = sorted({_table(f) for f in _flows_of(lab, "node1", "p1")
                     if re.search(r"tun_dst|pkt_mark|actions=drop", f) and _table(f) < 110})
    return ",".join(map(str, tables))


# -- multicast

def _heard(lab, receiver: str, want: bool) -> Outcome:
    """A listener on the group in receiver while source sends; want=True: poll until a datagram arrives (the
    sender repeats), False: nothing may arrive within a few seconds."""
    base = _run_file(lab, "mcast")
    lab.sh(receiver, f"timeout 20 {PY} -m lab.observe.mcast listen {GROUP} {GROUP_PORT} 12 > {base}.out 2>&1 "
                     f"& echo $! > {base}.pid")
    try:
        if not _wait_ready(base + ".out"):
            raise RuntimeError(f"the multicast listener in {receiver} did not start")
        deadline = time.monotonic() + (5 if want else 2.5)
        lines: List[str] = []
        while time.monotonic() < deadline:
            lab.sh("source", f"{PY} -m lab.observe.mcast send {GROUP} {GROUP_PORT} hello 2", check=False)
            lines = [ln for ln in open(base + ".out").read().splitlines()[1:] if " from " in ln]
            if lines and want:
                break
            time.sleep(0.3)
        return Outcome(bool(lines) == want, f"{receiver} listening on {GROUP}:{GROUP_PORT}: "
                                            + (f"{len(lines)} datagram(s), first: {lines[0]}" if lines else "nothing"))
    finally:
        _stop(lab, receiver, base)


def _receives(receiver: str, where_en: str, where_zh: str) -> Criterion:
    return Criterion(text(f"source's datagram to {GROUP} reaches {receiver} ({where_en})",
                          f"source 发往 {GROUP} 的数据报到达 {receiver}（{where_zh}）"),
                     lambda lab: _heard(lab, receiver, True))


def _multicast_table(lab) -> str:
    """The table on node1 whose flow for stream's VNID outputs to the local pods' ports."""
    tables = sorted({_table(f) for f in _flows_of(lab, "node1", "stream")
                     if _table(f) >= 110 and "output:" in f.split("actions=", 1)[-1]})
    return ",".join(map(str, tables))


# -- egress-firewall

def _no_egress_policy(lab) -> None:
    """The start of egress-firewall: no EgressNetworkPolicy in p1."""
    lines = oc(lab, "get egressnetworkpolicy -n p1").splitlines()
    if lines and lines[0].split()[:1] == ["NAME"]:
        for name in (ln.split()[0] for ln in lines[1:] if ln.strip()):
            oc(lab, f"delete egressnetworkpolicy {name} -n p1")


def _egress_policy(namespace: str, cidr: str):
    """A wrong fix: an EgressNetworkPolicy as a student may write it (wrong project or CIDR), made with `oc`."""
    def apply(lab) -> None:
        body = (f"apiVersion: network.openshift.io/v1\nkind: EgressNetworkPolicy\nmetadata: {{name: default, "
                f"namespace: {namespace}}}\nspec:\n  egress:\n  - type: Deny\n    to: {{cidrSelector: {cidr}}}\n")
        oc(lab, f"create -f {private_file(lab, 'wrong-egress.yaml', body)}")
    return apply


def _drop_by_hand(lab) -> None:
    vnid = _vnid(lab, "p1")
    for node in lab.nodes:
        lab.sh(node, f"ovs-ofctl -O OpenFlow13 add-flow br0 'table=101,priority=1,ip,reg0={vnid},"
                     f"nw_dst={lab.ip_of('ext')},actions=drop'")


def _policy_denies_ext(lab) -> Outcome:
    """`oc get egressnetworkpolicy -n p1 -o yaml`, asked of the lab: the first rule matching ext denies it."""
    ext = ipaddress.ip_address(lab.ip_of("ext"))
    items = oc_yaml(lab, "get egressnetworkpolicy -n p1").get("items") or []
    for pol in items:
        for rule in (pol.get("spec") or {}).get("egress") or []:
            cidr = ((rule.get("to") or {}).get("cidrSelector") or "")
            try:
                hit = ext in ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                continue
            if hit:
                name = pol.get("metadata", {}).get("name", "?")
                return Outcome(rule.get("type") == "Deny", f"egressnetworkpolicy {name}: {rule.get('type')} to {cidr}")
    names = ", ".join(p.get("metadata", {}).get("name", "?") for p in items) or "<none>"
    return Outcome(False, f"oc get egressnetworkpolicy -n p1: {names}; no rule matches ext ({ext})")


def _multicast_annotated(lab) -> Outcome:
    value = (_netnamespace(lab, "stream").get("metadata") or {}).get("annotations", {}).get(MULTICAST)
    return Outcome(value == "true", f"oc get netnamespace stream: {MULTICAST}={value if value is not None else '<unset>'}")


def _control(c: Criterion) -> Criterion:
    """The criterion as a control: it holds at the start too (a path the task does not touch)."""
    return Criterion(c.name, c.observe, control=True)


def _denies_ext(lab) -> Outcome:
    """node1's table 101 drops p1's traffic to the external host (a CIDR holding it, or everything)."""
    ext = ipaddress.ip_address(lab.ip_of("ext"))
    flows = _flows_of(lab, "node1", "p1", 101)
    for f in flows:
        m = re.search(r"nw_dst=([\d./]+)", f)
        if f.endswith("actions=drop") and (m is None or ext in ipaddress.ip_network(m.group(1), strict=False)):
            return Outcome(True, f)
    return Outcome(False, f"node1 table 101: {'; '.join(flows) or 'no flow'} for p1's VNID {_vnid(lab, 'p1'):#x}")


EXERCISES = [
    Exercise(
        "egress-ip", "openshift", MULTITENANT, 20,
        text("A fixed source address for a project (EgressIP)", "为项目指定固定的出口源地址（EgressIP）"),
        text(f"ovs-multitenant: the firewall in front of the external host ext lets project p1 in only from "
             f"{EGRESS_IP}. Today p1's pods leave the cluster with their node's address (pod1 on node1 with "
             f"node1's). Give p1 the egress IP {EGRESS_IP}, hosted by node2, the way a cluster administrator does "
             f"(two `oc patch` lines in the lab's CLI); p2 must keep leaving as before.\n"
             f"Also `answer mark 0x...`: the pkt_mark (hex) node2 sets on p1's traffic for OPENSHIFT-MASQUERADE.",
             f"ovs-multitenant：外部主机 ext 前面的防火墙只允许来自 {EGRESS_IP} 的项目 p1 流量。目前 p1 的 Pod 以所在"
             f"节点的地址离开集群（node1 上的 pod1 使用 node1 的地址）。像集群管理员那样给 p1 配置由 node2 承载的出口 "
             f"IP {EGRESS_IP}（在实验 CLI 中执行两条 `oc patch`）；p2 的流量必须保持不变。\n同时 `answer mark 0x...`："
             f"node2 给 p1 的流量设置、供 OPENSHIFT-MASQUERADE 使用的 pkt_mark（十六进制）。"),
        hints(["`oc get hostsubnets` and `oc get netnamespaces` have EGRESS IPS columns: a node hosts the address, "
               "a NetNamespace asks for it",
               f"`oc patch hostsubnet node2 -p '{{\"egressIPs\": [\"{EGRESS_IP}\"]}}'` and the same for "
               "`netnamespace p1`; then `trace pod1 ext tcp 80` shows table 100 tunnelling to node2",
               "`oc get netnamespaces` gives p1's NETID; `node2 ovs-ofctl -O OpenFlow13 dump-flows br0 table=100` "
               "shows `reg0=<NETID in hex>` with `set_field:0x...->pkt_mark`; `node2 iptables -t nat -nvL "
               "OPENSHIFT-MASQUERADE` SNATs that mark"],
              ["`oc get hostsubnets` 和 `oc get netnamespaces` 都有 EGRESS IPS 列：节点承载地址，NetNamespace 申请地址",
               f"`oc patch hostsubnet node2 -p '{{\"egressIPs\": [\"{EGRESS_IP}\"]}}'`，再对 `netnamespace p1` 做同样的"
               "修改；之后 `trace pod1 ext tcp 80` 显示表 100 经隧道发往 node2",
               "`oc get netnamespaces` 给出 p1 的 NETID；`node2 ovs-ofctl -O OpenFlow13 dump-flows br0 table=100` "
               "显示 `reg0=<NETID 的十六进制>` 与 `set_field:0x...->pkt_mark`；`node2 iptables -t nat -nvL "
               "OPENSHIFT-MASQUERADE` 按该标记做 SNAT"]),
        questions=(Question("mark", text("the pkt_mark node2 sets for p1", "node2 为 p1 设置的 pkt_mark"), _mark,
                            hex_value),),
        criteria=(_listener_sees("pod1", f"pod1 (p1, node1) connects from {EGRESS_IP}",
                                 f"pod1（p1，node1）的连接源地址为 {EGRESS_IP}", lambda lab: EGRESS_IP),
                  Criterion(text("node1 table 100: p1's VNID goes through the tunnel to node2 (tun_dst)",
                                 "node1 表 100：p1 的 VNID 经隧道发往 node2（tun_dst）"),
                            lambda lab: _egress_flow_via(lab, "node1", "node2")),
                  Criterion(text(f"node2's SNAT to {EGRESS_IP} counts pod1's connection",
                                 f"node2 上到 {EGRESS_IP} 的 SNAT 规则计数随 pod1 的连接增长"), _snat_counter_moves),
                  _egress_ip_objects("node2"),
                  _control(_listener_sees("pod2", "pod2 (p2, node1) still connects from node1's address",
                                          "pod2（p2，node1）仍以 node1 的地址连接", _node_ip("node1"))),
                  nothing_hand_made()),
        setup=_no_egress_ips, solve=_egress_ip_on_node2,
        wrong_fixes=(
            WrongFix("the egress IP hosted by node1 instead of node2",
                     lambda lab: (oc(lab, _patch("hostsubnet", "node1", [EGRESS_IP])),
                                  oc(lab, _patch("netnamespace", "p1", [EGRESS_IP]))) and None,
                     answers=(("mark", "0x0"),)),
            WrongFix("only the NetNamespace patched (no node hosts the IP)",
                     lambda lab: oc(lab, _patch("netnamespace", "p1", [EGRESS_IP])) and None, answers=(("mark", "0x1"),)),
            WrongFix("the address and a SNAT rule made by hand on node1, no `oc`", _snat_by_hand("node1"),
                     answers=(("mark", "0x53cff1"),)),
            WrongFix("patched right, but the answer is p1's NETID, not the mark", _egress_ip_on_node2,
                     answers=(("mark", hex(5492721)),))),
    ),
    Exercise(
        "egress-node-down", "openshift", MULTITENANT, 20,
        text("The egress node is down", "出口节点宕机"),
        text(f"ovs-multitenant: project p1 leaves the cluster through the egress IP {EGRESS_IP}, hosted by node2. "
             f"node2's underlay cable has just been pulled (`unplug node2`) and node2 stays dead. pod1 (p1, node1) "
             f"no longer reaches ext, while pod2 (p2, node1) still does. Find what happens to p1's packets, then "
             f"bring p1 back out with the same address without node2 (do not `plug` it).\n"
             f"Also `answer tun_dst IP`: where node1 kept sending p1's external traffic once node2 was gone, and "
             f"`answer table N`: the table on node1 that decides it.",
             f"ovs-multitenant：项目 p1 通过由 node2 承载的出口 IP {EGRESS_IP} 离开集群。node2 的底层网线刚被拔掉"
             f"（`unplug node2`），而且 node2 不会恢复。pod1（p1，node1）无法再访问 ext，而 pod2（p2，node1）仍然可以。"
             f"找出 p1 的包去了哪里，然后在没有 node2 的情况下让 p1 以同一地址重新出去（不要 `plug`）。\n"
             f"同时 `answer tun_dst IP`：node2 宕机后 node1 仍把 p1 的外部流量发往哪里；`answer table 号码`："
             f"node1 上做出这一决定的表。"),
        hints(["`trace pod1 ext tcp 80`: node1's part of the path ends in the tunnel; `node1 tcpdump -ni eth0 "
               "udp port 4789` shows where the VXLAN goes (and nothing comes back)",
               "With a single egress IP 3.11 does not fail over: the traffic is black-holed at the dead node. "
               "`oc get hostsubnets` shows which node hosts the address",
               f"`oc patch hostsubnet node2 -p '{{\"egressIPs\": []}}'`, then `oc patch hostsubnet node1 -p "
               f"'{{\"egressIPs\": [\"{EGRESS_IP}\"]}}'`; `flows node1 100` then marks p1 locally"],
              ["`trace pod1 ext tcp 80`：node1 上的路径止于隧道；`node1 tcpdump -ni eth0 udp port 4789` 显示 VXLAN "
               "发往哪里（且没有回应）",
               "只有一个出口 IP 时 3.11 不会故障切换：流量在宕机节点处被黑洞。`oc get hostsubnets` 显示哪个节点承载该地址",
               f"`oc patch hostsubnet node2 -p '{{\"egressIPs\": []}}'`，再 `oc patch hostsubnet node1 -p "
               f"'{{\"egressIPs\": [\"{EGRESS_IP}\"]}}'`；之后 `flows node1 100` 在本地给 p1 打标记"]),
        questions=(Question("tun_dst", text("where node1 sent p1's traffic with node2 down",
                                            "node2 宕机时 node1 把 p1 的流量发往何处"),
                            _dead_node_tun_dst),
                   Question("table", text("the table on node1 that decides", "node1 上做出决定的表"), _deciding_table,
                            lambda s: ",".join(re.findall(r"\d+", s)))),
        criteria=(_listener_sees("pod1", f"pod1 (p1, node1) connects from {EGRESS_IP} again",
                                 f"pod1（p1，node1）重新以 {EGRESS_IP} 连接", lambda lab: EGRESS_IP),
                  Criterion(text("node1 table 100 marks p1's traffic itself (no tunnel to node2)",
                                 "node1 表 100 自己给 p1 的流量打标记（不再经隧道发往 node2）"), _egress_local),
                  _egress_ip_objects("node1"),
                  _control(_listener_sees("pod2", "pod2 (p2, node1) connects from node1's address",
                                          "pod2（p2，node1）以 node1 的地址连接", _node_ip("node1"))),
                  nothing_hand_made()),
        setup=_egress_node_dead, solve=_move_egress_ip_to_node1,
        wrong_fixes=(
            WrongFix("node2 plugged back in (the task says it stays dead)", lambda lab: unplug(lab, "node2", plugged=True),
                     answers=(("tun_dst", "172.16.1.11"), ("table", "101"))),
            WrongFix("the address and a SNAT rule made by hand on node1, no `oc`", _snat_by_hand("node1"),
                     answers=(("tun_dst", "172.16.1.100"), ("table", "90"))),
            WrongFix("moved right, but the answers name node1 and table 101", _move_egress_ip_to_node1,
                     answers=(("tun_dst", "172.16.1.11"), ("table", "101")))),
    ),
    Exercise(
        "multicast", "openshift", ("--nodes", "2", "--pods-per-node", "0", "--plugin", "multitenant", "--no-checks",
                                   "-f", STREAM), 15,
        text("Multicast inside a project", "项目内的组播"),
        text(f"ovs-multitenant: in project stream the pod source (node1) sends UDP datagrams to the group "
             f"{GROUP}:{GROUP_PORT}; viewer1 (node1) and viewer2 (node2) listen, and receive nothing: openshift-sdn "
             f"drops multicast unless the project asks for it. Enable multicast for stream the way 3.11 does; the "
             f"pod outsider (project other, node2) must still receive nothing.\n"
             f"Try it: `viewer2 python3 -m lab.observe.mcast listen {GROUP} {GROUP_PORT} 10 &` then "
             f"`source python3 -m lab.observe.mcast send {GROUP} {GROUP_PORT} hello`.\n"
             f"Also `answer table N`: the table whose per-VNID flow delivers the group's datagrams to a node's "
             f"local pods.",
             f"ovs-multitenant：项目 stream 中的 Pod source（node1）向组 {GROUP}:{GROUP_PORT} 发送 UDP 数据报；viewer1"
             f"（node1）和 viewer2（node2）在监听，却什么也收不到：除非项目申请，openshift-sdn 会丢弃组播。像 3.11 那样为 "
             f"stream 开启组播；Pod outsider（项目 other，node2）必须仍然收不到。\n试一试：`viewer2 python3 -m "
             f"lab.observe.mcast listen {GROUP} {GROUP_PORT} 10 &`，然后 `source python3 -m lab.observe.mcast send "
             f"{GROUP} {GROUP_PORT} hello`。\n同时 `answer table 号码`：按 VNID 把组播数据报交给本节点 Pod 的流表所在的表。"),
        hints(["`flows node1 110`: multicast from a pod meets table 110, which sends only the enabled VNIDs on",
               f"3.11 reads an annotation of the NetNamespace: `{MULTICAST}`",
               f"`oc annotate netnamespace stream {MULTICAST}=true`; then `changes` shows tables 110, 111 "
               "(copies to the other nodes) and 120 (the local pods)"],
              ["`flows node1 110`：来自 Pod 的组播进入表 110，只有开启了组播的 VNID 才会被继续转发",
               f"3.11 读取 NetNamespace 的注解：`{MULTICAST}`",
               f"`oc annotate netnamespace stream {MULTICAST}=true`；之后 `changes` 显示表 110、111（复制到其他节点）"
               "和 120（本地 Pod）"]),
        questions=(Question("table", text("the table delivering to local pods by VNID", "按 VNID 交给本地 Pod 的表"),
                            _multicast_table, lambda s: ",".join(re.findall(r"\d+", s))),),
        criteria=(_receives("viewer1", "same node", "同一节点"), _receives("viewer2", "the other node", "另一节点"),
                  Criterion(text(f"outsider (project other) receives nothing from {GROUP}",
                                 f"outsider（项目 other）收不到 {GROUP} 的数据报"),
                            lambda lab: _heard(lab, "outsider", False), control=True),
                  Criterion(text(f"oc get netnamespace stream: {MULTICAST}=true",
                                 f"oc get netnamespace stream 显示注解 {MULTICAST}=true"), _multicast_annotated),
                  nothing_hand_made()),
        setup=lambda lab: oc(lab, f"annotate netnamespace stream {MULTICAST}-"),
        solve=lambda lab: oc(lab, f"annotate netnamespace stream {MULTICAST}=true"),
        wrong_fixes=(
            WrongFix("the wrong project annotated (other)",
                     lambda lab: oc(lab, f"annotate netnamespace other {MULTICAST}=true") and None,
                     answers=(("table", "120"),)),
            WrongFix("annotated `yes` (3.11 reads only `true`)",
                     lambda lab: oc(lab, f"annotate netnamespace stream {MULTICAST}=yes") and None,
                     answers=(("table", "120"),)),
            WrongFix("enabled right, but the answer is table 110 (the one that lets it out)",
                     lambda lab: oc(lab, f"annotate netnamespace stream {MULTICAST}=true") and None,
                     answers=(("table", "110"),))),
    ),
    Exercise(
        "egress-firewall", "openshift", MULTITENANT, 15,
        text("Keep a project away from a host (EgressNetworkPolicy)", "禁止项目访问某台主机（EgressNetworkPolicy）"),
        text("ovs-multitenant: project p1 must no longer reach the external host ext (172.16.1.254) from any of "
             "its pods, on any node; project p2 keeps reaching it. Write an EgressNetworkPolicy for p1 and create "
             "it with `oc create -f FILE` (or `oc apply -f FILE`) in the lab's CLI.",
             "ovs-multitenant：项目 p1 的任何 Pod（在任何节点上）都不能再访问外部主机 ext（172.16.1.254）；项目 p2 仍然"
             "可以访问。为 p1 编写一个 EgressNetworkPolicy，并在实验 CLI 中用 `oc create -f 文件`（或 `oc apply -f "
             "文件`）创建它。"),
        hints(["An EgressNetworkPolicy (apiVersion network.openshift.io/v1) lists rules in spec.egress, each "
               "`type: Allow|Deny` with `to: {cidrSelector: CIDR}`; the first match wins",
               "3.11 renders it into table 101 of every node, by the project's VNID: `flows node1 101`",
               f"A ready one: `oc create -f {DENY_EXT}`; `trace pod1 ext tcp 80` then ends in table 101"],
              ["EgressNetworkPolicy（apiVersion network.openshift.io/v1）在 spec.egress 中列出规则，每条为 "
               "`type: Allow|Deny` 加 `to: {cidrSelector: CIDR}`；按顺序第一条匹配生效",
               "3.11 按项目的 VNID 把它写入每个节点的表 101：`flows node1 101`",
               f"现成的答案：`oc create -f {DENY_EXT}`；之后 `trace pod1 ext tcp 80` 止于表 101"]),
        criteria=(_listener_sees("pod1", "nothing arrives from pod1 (p1, node1)", "收不到 pod1（p1，node1）的连接",
                                 lambda lab: ""),
                  _listener_sees("pod3", "nothing arrives from pod3 (p1, node2)", "收不到 pod3（p1，node2）的连接",
                                 lambda lab: ""),
                  _control(_listener_sees("pod2", "pod2 (p2, node1) still connects", "pod2（p2，node1）仍能连接",
                                          _node_ip("node1"))),
                  Criterion(text("oc get egressnetworkpolicy -n p1: a policy denies ext",
                                 "oc get egressnetworkpolicy -n p1：有策略拒绝 ext"), _policy_denies_ext),
                  Criterion(text("node1 table 101: p1's traffic to ext is dropped", "node1 表 101：p1 发往 ext 的流量被丢弃"),
                            _denies_ext),
                  nothing_hand_made()),
        setup=_no_egress_policy, solve=lambda lab: oc(lab, f"create -f {DENY_EXT}"),
        wrong_fixes=(
            WrongFix("table-101 drop flows for p1 made by hand on every node, no EgressNetworkPolicy", _drop_by_hand),
            WrongFix("the policy created in p2 instead of p1", _egress_policy("p2", "172.16.1.254/32")),
            WrongFix("a policy that denies another network", _egress_policy("p1", "172.16.2.0/24"))),
    ),
]
