"""Break/fix on OpenShift SDN: the lab starts broken (lab.faults), the student finds and repairs it."""

from __future__ import annotations

import re

from lab.faults import WRONG_MAC
from lab.planes.openshift.exercises.paths import SMALL
from lab.workshop.criteria import digits, inject, reaches, repair
from lab.workshop.exercise import Criterion, Exercise, Outcome, Question, hints, text


def _table(flow: str) -> int:
    return int(re.search(r"table=(\d+)", flow).group(1))


def _table_with(node: str, pattern: str):
    """The table whose flows match pattern: where the student should have looked."""
    def truth(lab) -> str:
        return next((str(_table(f)) for f in lab.flows(node) if re.search(pattern, f)), "")
    return truth


def _table_10_drops_nothing(lab) -> Outcome:
    """The counter of table 10's last flow (drop what no known tun_src matched) while pod1 pings pod2."""
    moved = lab.hit_deltas("node2", lambda: lab.ping("pod1", lab.ip_of("pod2"), tries=2))
    drops = sum(n for (table, priority, _m), n in moved.items() if table == 10 and priority == 0)
    return Outcome(drops == 0, f"node2 table 10 priority 0 (drop): n_packets +{drops} while pod1 pinged pod2")


def _masquerade_rule(lab) -> Outcome:
    rules = [r for r in lab.sh("node1", "iptables -t nat -S OPENSHIFT-MASQUERADE").splitlines() if "MASQUERADE" in r
             and r.startswith("-A") and r.rstrip().endswith("-j MASQUERADE")]
    return Outcome(bool(rules), rules[0] if rules else "OPENSHIFT-MASQUERADE holds no MASQUERADE rule")


def _tun0_mtu(lab) -> Outcome:
    mtu = lab.sh("node1", "cat /sys/class/net/tun0/mtu").strip()
    return Outcome(mtu == "1450", f"node1 tun0 mtu {mtu}")


def _neighbour_right(lab) -> Outcome:
    ip = lab.ip_of("pod2")
    entry = " ".join(lab.sh("pod1", f"ip neigh show {ip}").split())
    real = lab.sh("pod2", "cat /sys/class/net/eth0/address").strip()
    ok = WRONG_MAC not in entry and (not entry or real in entry or "lladdr" not in entry)
    return Outcome(ok, entry or f"no entry for {ip} (pod1 will ARP)")


def _tx_off(lab) -> Outcome:
    line = next((ln for ln in lab.sh("pod1", "ethtool -k eth0").splitlines() if ln.startswith("tx-checksumming")), "")
    return Outcome(line.split(":")[-1].strip().startswith("off"), f"pod1 eth0 {line.strip()}")


def _udp_traceroute(lab) -> Outcome:
    ip = lab.ip_of("pod2")
    out = lab.sh("pod1", f"traceroute -n -w1 -q3 -m3 {ip}", check=False)  # three probes: one may be lost
    hops = [ln.split()[1] for ln in out.splitlines()[1:] if ln.split() and ln.split()[0].isdigit()]
    arrived = any(ip in ln.split() for ln in out.splitlines()[1:])
    return Outcome(arrived, f"UDP traceroute pod1 -> pod2: {' '.join(hops) or 'no hops'}")


def _vnid_of(pod: str):
    def observe(lab) -> Outcome:
        project = lab.pod(pod)["namespace"]
        want = int(lab.inventory["netnamespaces"][project])
        node = lab.node_of(pod)
        ip = lab.ip_of(pod)
        loads = [int(m.group(1), 16) for f in lab.flows(node, 20) if re.search(rf"(nw_src|arp_spa)={re.escape(ip)}\b", f)
                 for m in [re.search(r"(?:load|set_field):(0x[0-9a-f]+)->(?:NXM_NX_REG0\[\]|reg0)", f)] if m]
        ok = bool(loads) and all(v == want for v in loads)
        return Outcome(ok, f"{pod}'s table-20 flows load {', '.join(hex(v) for v in loads) or 'nothing'}; "
                           f"project {project} has VNID {want:#x}")
    return Criterion(text(f"{pod}'s port carries its project's VNID (table 20)", f"{pod} 的端口带有其项目的 VNID（表 20）"),
                     observe)


def _wire_vni(lab) -> str:
    """The VNI in the VXLAN header node2 receives while pod1 pings pod3 (same project), as tcpdump decodes it."""
    seen = lab.first_packet("node2", "eth0", "udp port 4789", "pod1", f"ping -n -c1 -W1 {lab.ip_of('pod3')}")
    m = re.search(r"vni (\d+)", seen)
    return m.group(1) if m else ""


def _node_route(lab) -> Outcome:
    routes = [" ".join(ln.split()) for ln in lab.sh("node1", "ip -4 route show").splitlines() if "dev tun0" in ln]
    cluster = [r for r in routes if r.startswith("10.128.0.0/14 ")]
    return Outcome(bool(cluster), cluster[0] if cluster else "no route for 10.128.0.0/14 on tun0 "
                                                             f"(tun0 routes: {'; '.join(routes) or 'none'})")


MULTITENANT = ("--nodes", "2", "--pods-per-node", "2", "--plugin", "multitenant", "--no-checks")

def flow_present(node: str, table: int, pattern: str, what_en: str, what_zh: str) -> Criterion:
    def observe(lab) -> Outcome:
        pat = pattern.format(**{k: v for k, v in _names(lab).items()})
        flows = lab.flows(node, table)
        found = [f for f in flows if re.search(pat, f)]
        return Outcome(bool(found), found[0].split(" actions=")[0] if found
                       else f"missing: {node}'s table {table} holds {len(flows)} other flow(s)")
    return Criterion(text(f"{node} table {table}: {what_en}", f"{node} 表 {table}：{what_zh}"), observe)


def _names(lab) -> dict:
    """Values a flow pattern may name: {node1_ip}, {node2_subnet}, ..."""
    found = {}
    for n in lab.nodes:
        found[f"{n}_ip"] = re.escape(lab.underlay_ip(n))
        tun0 = lab.addresses(n).get("tun0")
        if tun0 is not None:
            found[f"{n}_subnet"] = re.escape(str(tun0.network))
    return found


EXERCISES = [
    Exercise(
        "flow-90", "openshift", SMALL, 15,
        text("Lost route to a node's subnet (table 90)", "到某节点子网的流丢失（表 90）"),
        text("pod1 on node1 cannot reach pod2 on node2, though both nodes are up. Find where node1's switch drops "
             "the packet and put the missing flow back (the other node's HostSubnet tells you what it must be).\n"
             "Also `answer table N`: the table that sends traffic for a remote node's subnet into the tunnel.",
             "node1 上的 pod1 无法访问 node2 上的 pod2，但两个节点都正常。找出 node1 的交换机在哪里丢包，并把缺失的"
             "流表加回去（参考另一节点的 HostSubnet）。\n同时 `answer table 号码`：把发往远端节点子网的流量送进隧道的表。"),
        hints(["`trace pod1 pod2`: where does the packet end?",
               "Compare `flows node1 90` with `oc get hostsubnets`: one subnet has no flow",
               "`node1 ovs-ofctl -O OpenFlow13 add-flow br0 'table=90,priority=100,ip,nw_dst=<subnet>,"
               "actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:<node2 IP>->tun_dst,output:1'`"],
              ["`trace pod1 pod2`：包在哪里结束？", "对比 `flows node1 90` 与 `oc get hostsubnets`：有一个子网没有流表",
               "`node1 ovs-ofctl -O OpenFlow13 add-flow br0 'table=90,priority=100,ip,nw_dst=<子网>,"
               "actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:<node2 IP>->tun_dst,output:1'`"]),
        questions=(Question("table", text("the table for remote subnets", "远端子网所用的表"),
                            _table_with("node1", r"\bip\b.*set_field:[\d.]+->tun_dst"), digits),),
        criteria=(reaches("pod1", "pod2"),
                  flow_present("node1", 90, r"nw_dst={node2_subnet}.*->tun_dst", "a flow for node2's subnet",
                               "有发往 node2 子网的流表")),
        setup=inject(("flow-90", "node1", "node2")), solve=repair("flow-90"),
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
                            _table_with("node2", r"tun_src="), digits),),
        criteria=(reaches("pod1", "pod2"),
                  flow_present("node2", 10, r"tun_src={node1_ip}\b", "accepts tun_src of node1", "接受 node1 的 tun_src"),
                  Criterion(text("node2's table-10 drop counter stays still", "node2 表 10 的丢弃计数不再增长"),
                            _table_10_drops_nothing)),
        setup=inject(("tun-src", "node2", "node1")), solve=repair("tun-src"),
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
        criteria=(reaches("pod1", "ext"),
                  Criterion(text("node1 masquerades pod traffic", "node1 对 Pod 流量做 MASQUERADE"), _masquerade_rule)),
        setup=inject(("masquerade", "node1")), solve=repair("masquerade"),
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
                  Criterion(text("node1's tun0 MTU is 1450", "node1 的 tun0 MTU 为 1450"), _tun0_mtu)),
        setup=inject(("mtu", "node1", "1500")), solve=repair("mtu"),
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
        criteria=(Criterion(text("UDP traceroute pod1 -> pod2 arrives", "UDP traceroute pod1 -> pod2 到达"), _udp_traceroute),
                  Criterion(text("pod1's eth0 TX checksum offload is off", "pod1 的 eth0 关闭 TX 校验和卸载"), _tx_off)),
        setup=inject(("tx-checksum", "pod1")), solve=repair("tx-checksum"), datapaths=("netdev",),
    ),
    Exercise(
        "wrong-vnid", "openshift", MULTITENANT, 20,
        text("A pod in the wrong project (VNID)", "Pod 进入了错误的项目（VNID）"),
        text("ovs-multitenant: pod1 and pod3 are both in project p1 (`oc get pods --all-namespaces`), yet pod1 "
             "cannot reach pod3. Find what tags pod1's packets and give pod1 back its project's VNID.\n"
             "Also `answer vnid N`: project p1's VNID (NETID).",
             "ovs-multitenant：pod1 和 pod3 都属于项目 p1（`oc get pods --all-namespaces`），但 pod1 无法访问 pod3。"
             "找出是什么给 pod1 的包打上标记，并恢复 pod1 所属项目的 VNID。\n同时 `answer vnid 号码`：项目 p1 的 "
             "VNID（NETID）。"),
        hints(["`oc get netnamespaces` lists each project's NETID", "`flows node1 20`: the flows for pod1's port load REG0",
               "`node1 ovs-ofctl -O OpenFlow13 add-flow br0` with the same match and `load:<p1 NETID in hex>->NXM_NX_REG0[]`"],
              ["`oc get netnamespaces` 列出每个项目的 NETID", "`flows node1 20`：pod1 端口的流表加载 REG0",
               "用相同匹配条件和 `load:<p1 的 NETID 十六进制>->NXM_NX_REG0[]` 执行 `node1 ovs-ofctl -O OpenFlow13 add-flow br0`"]),
        questions=(Question("vnid", text("project p1's VNID", "项目 p1 的 VNID"),
                            lambda lab: str(lab.inventory["netnamespaces"]["p1"]), lambda s: str(int(s.strip(), 0))
                            if re.fullmatch(r"\s*(0x[0-9a-fA-F]+|\d+)\s*", s) else s.strip()),),
        criteria=(reaches("pod1", "pod3"), _vnid_of("pod1")),
        setup=inject(("vnid", "pod1")), solve=repair("vnid"),
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
                   Question("project", text("whose NETID it is", "它是哪个项目的 NETID"),
                            lambda lab: next((p for p, v in lab.inventory["netnamespaces"].items()
                                              if str(v) == _wire_vni(lab)), ""))),
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
        criteria=(reaches("node1", "pod2"),
                  Criterion(text("node1 routes the cluster network on tun0", "node1 经 tun0 路由集群网络"), _node_route)),
        setup=inject(("route", "node1", "pod2")), solve=repair("route"),
    ),
]
