"""Workshop exercises on Flannel (vxlan, host-gw, etcd): broken and repaired."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import replace

from lab import paths
from lab.planes.flannel.drift import etcdctl, no_drift
from lab.workshop.criteria import inject, reaches, repair
from lab.workshop.exercise import Criterion, Exercise, Outcome, Question, Stage, WrongFix, hints, text

FLANNEL = ("--nodes", "2", "--pods-per-node", "1", "--no-checks")  # pod1 on node1, pod2 on node2
BACKUP = "backup.db"  # the etcd snapshot the etcd-restore exercise starts from, in the etcd host's directory


def _fdb_for(node: str, remote: str) -> Criterion:
    """node's flannel.1 sends remote's VTEP MAC to remote's underlay address (both must be right)."""
    def observe(lab) -> Outcome:
        ip, mac = lab.underlay_ip(remote), _remote_vtep_mac(lab, remote)
        lines = [" ".join(ln.split()) for ln in lab.sh(node, "bridge fdb show dev flannel.1").splitlines()]
        right = [ln for ln in lines if ln.startswith(mac + " ") and f"dst {ip} " in ln + " "]
        near = [ln for ln in lines if ln.startswith(mac + " ") or f"dst {ip} " in ln + " "]
        return Outcome(bool(right), (right or near or [f"no FDB entry {remote}'s VTEP MAC -> dst {ip} on flannel.1"])[0])
    return Criterion(text(f"{node}: flannel.1 FDB entry for {remote}'s VTEP", f"{node}：flannel.1 上有 {remote} VTEP 的 FDB 表项"),
                     observe)


def _neigh_for(node: str, remote: str) -> Criterion:
    """node's flannel.1 resolves remote's VTEP address (the .0 of its lease) to remote's VTEP MAC."""
    def observe(lab) -> Outcome:
        mac, vtep = _remote_vtep_mac(lab, remote), _vtep_ip(lab, remote)
        lines = [" ".join(ln.split()) for ln in lab.sh(node, f"ip neigh show {vtep} dev flannel.1").splitlines()]
        ok = any(f"lladdr {mac}" in ln and "FAILED" not in ln and "INCOMPLETE" not in ln for ln in lines)
        return Outcome(ok, lines[0] if lines else f"no neighbour {vtep} on flannel.1")
    return Criterion(text(f"{node}: flannel.1 neighbour for {remote}'s VTEP", f"{node}：flannel.1 上有 {remote} VTEP 的邻居表项"),
                     observe)


def _remote_vtep_mac(lab, node: str) -> str:
    return lab.sh(node, "cat /sys/class/net/flannel.1/address").strip()


def _vtep_ip(lab, node: str) -> str:
    """node's VTEP address: flannel.1's, the .0 of its lease."""
    return str(lab.addresses(node)["flannel.1"].ip)


def _arrives(src: str, dst: str) -> Criterion:
    """src pings dst and is answered, and dst's own capture sees the echo request with src's own address:
    proven at the real peer (a local alias answers without dst seeing anything; a NAT on the way shows)."""
    def observe(lab) -> Outcome:
        ip, mine = lab.ip_of(dst), lab.ip_of(src)
        if not lab.ping(src, ip):
            return Outcome(False, f"{src} -> {dst} ({ip}): no answer")
        seen = lab.first_packet_source(dst, "eth0", f"icmp and icmp[0] == 8 and dst host {ip}", src,
                                       f"ping -n -c1 -W1 {ip}")
        ok = seen == mine
        return Outcome(ok, f"{src} -> {dst} ({ip}): answered; {dst}'s eth0 sees the request from "
                           + (seen or "nobody (no request reached it)"))
    return Criterion(text(f"{src} reaches {dst}: answered, and {dst} captures the request from {src}'s address",
                          f"{src} 能访问 {dst}：有应答，且 {dst} 抓包看到来自 {src} 地址的请求"), observe)


def _natted_at(node: str, src: str, dst: str) -> Criterion:
    """dst (outside the cluster) captures src's echo request with node's underlay address as its source."""
    def observe(lab) -> Outcome:
        ip, want = lab.ip_of(dst), lab.underlay_ip(node)
        seen = lab.first_packet_source(dst, "eth0", f"icmp and icmp[0] == 8 and dst host {ip}", src,
                                       f"ping -n -c1 -W1 {ip}")
        return Outcome(seen == want, f"{dst}'s eth0 sees {src}'s request from {seen or 'nobody (none arrived)'}"
                                     f" (node's address {want})")
    return Criterion(text(f"{dst} sees {src}'s pings from {node}'s address (capture)",
                          f"{dst} 抓包看到 {src} 的 ping 源地址为 {node} 的地址"), observe)


def _masq_counters(lab, node: str) -> int:
    """Packets counted by node's MASQUERADE rules (nat table, every chain)."""
    total = 0
    for line in lab.sh(node, "iptables-save -c -t nat").splitlines():
        m = re.match(r"\[(\d+):\d+\] -A \S+ .*-j MASQUERADE", line)
        if m:
            total += int(m.group(1))
    return total


def _masq_moves(node: str, src: str, dst: str) -> Criterion:
    """A MASQUERADE rule on node counts src's new pings to dst: the rule matches the exercise's traffic."""
    def observe(lab) -> Outcome:
        ip = lab.ip_of(dst)
        before = _masq_counters(lab, node)
        for _ in range(2):  # each `ping -c1` is a new ICMP id, so a new conntrack entry: nat sees its first packet
            lab.sh(src, f"ping -n -c1 -W1 {ip}", check=False)
        moved = _masq_counters(lab, node) - before
        return Outcome(moved > 0, f"{node}: MASQUERADE rules counted {moved} packet(s) while {src} pinged {dst}")
    return Criterion(text(f"a MASQUERADE rule on {node} counts {src}'s pings to {dst}",
                          f"{node} 上的 MASQUERADE 规则计数随 {src} ping {dst} 增加"), observe)


def _route_to(node: str, pod: str) -> Criterion:
    """node routes pod's address as flanneld's vxlan backend does: via the remote VTEP (.0 of the lease)
    on flannel.1 (a host-gw style route over eth0 bypasses the VXLAN)."""
    def observe(lab) -> Outcome:
        ip = lab.ip_of(pod)
        route = " ".join(lab.sh(node, f"ip -4 -o route get {ip} 2>&1 || true").split())
        ok = f"via {_vtep_ip(lab, lab.node_of(pod))} dev flannel.1" in route
        return Outcome(ok, route)
    return Criterion(text(f"{node} routes to {pod}'s lease via its VTEP on flannel.1",
                          f"{node} 经 flannel.1 上的 VTEP 路由到 {pod} 所在租约"), observe)


def _lease_key(lab, node: str) -> str:
    subnet = lab.addresses(node).get("cni0") or lab.addresses(node).get("flannel.1")
    if subnet is not None:
        net = ipaddress.ip_network(f"{subnet.ip}/24", strict=False)
    else:
        raise ValueError(f"{node} has no lease address")
    return f"/coreos.com/network/subnets/{net.network_address}-24"


def _lease_back(node: str) -> Criterion:
    def observe(lab) -> Outcome:
        key = _lease_key(lab, node)
        value = etcdctl(lab, f"get {key} --print-value-only", check=False).strip()
        try:
            public = json.loads(value).get("PublicIP", "") if value else ""
        except ValueError:
            public = ""
        ok = public == lab.underlay_ip(node)
        return Outcome(ok, f"{key}: {value or 'missing'}")
    return Criterion(text(f"{node}'s lease is in etcd with its PublicIP", f"etcd 中有 {node} 的租约及其 PublicIP"), observe)


def _backup_path(lab) -> str:
    return os.path.join(paths.run_dir(lab.name), "etcd", BACKUP)


def _etcd_setup(lab) -> None:
    """The nightly backup exists (taken once: `reset` keeps the good one); then someone deletes node2's lease."""
    if not os.path.exists(_backup_path(lab)):
        etcdctl(lab, f"snapshot save {_backup_path(lab)} >/dev/null")
    etcdctl(lab, f"del {_lease_key(lab, 'node2')} >/dev/null")


def _etcd_solve(lab) -> None:
    from lab.daemons import etcd
    from lab.planes.flannel.realize import ETCD_NAME
    d = os.path.join(paths.run_dir(lab.name), "etcd", "etcd")
    data = os.path.join(d, "restored-workshop")
    lab.sh("etcd", f"rm -rf {data}")
    lab.sh("etcd", etcd.restore_script(ETCD_NAME, lab.ip_of("etcd"), d, _backup_path(lab), data))


def _router_toward(lab, node: str) -> str:
    mine = lab.addresses(node)["eth0"].network
    for addr in lab.addresses("router").values():
        if addr.ip in mine:
            return str(addr.ip)
    return ""


def _leases(lab):
    n1, n2 = lab.addresses("node1")["cni0"], lab.addresses("node2")["cni0"]
    return ipaddress.ip_network(f"{n1.ip}/24", strict=False), ipaddress.ip_network(f"{n2.ip}/24", strict=False)


def _hostgw_setup(lab) -> None:
    """As flanneld left it: no route between the leases (after `reset`, the student's routes are gone too)."""
    s1, s2 = _leases(lab)
    lab.sh("node1", f"ip route del {s2} 2>/dev/null || true")
    lab.sh("node2", f"ip route del {s1} 2>/dev/null || true")
    lab.sh("router", f"ip route del {s1} 2>/dev/null; ip route del {s2} 2>/dev/null || true")


def _hostgw_routes(lab) -> dict:
    """The routes the task asks for (host -> `ip route` specs): each lease through the router, the router
    routing each lease to its node."""
    s1, s2 = _leases(lab)
    return {"node1": [f"{s2} via {_router_toward(lab, 'node1')} dev eth0"],
            "node2": [f"{s1} via {_router_toward(lab, 'node2')} dev eth0"],
            "router": [f"{s1} via {lab.underlay_ip('node1')} dev eth0", f"{s2} via {lab.underlay_ip('node2')} dev eth1"]}


def _hostgw_solve(lab) -> None:
    for host, specs in _hostgw_routes(lab).items():
        for spec in specs:
            lab.sh(host, f"ip route replace {spec}")


def _alias(target: str, on: str):
    """A wrong fix: target's address on on's loopback, so on's pings are answered locally."""
    def apply(lab) -> None:
        lab.sh(on, f"ip addr add {lab.ip_of(target)}/32 dev lo")
    return apply


def _eth0_mac(lab, node: str) -> str:
    return lab.sh(node, "cat /sys/class/net/eth0/address").strip()


def _fdb_wrong_dst(lab) -> None:
    """node2's VTEP MAC sent to node1's own underlay address."""
    lab.sh("node1", f"bridge fdb append {_remote_vtep_mac(lab, 'node2')} dev flannel.1 dst {lab.underlay_ip('node1')}")


def _fdb_wrong_mac(lab) -> None:
    """node2's eth0 MAC (not its flannel.1 MAC) sent to node2."""
    lab.sh("node1", f"bridge fdb append {_eth0_mac(lab, 'node2')} dev flannel.1 dst {lab.underlay_ip('node2')}")


def _neigh_wrong_mac(lab) -> None:
    lab.sh("node1", f"ip neigh replace {_vtep_ip(lab, 'node2')} lladdr {_eth0_mac(lab, 'node2')} dev flannel.1 "
                    "nud permanent")


def _neigh_wrong_ip(lab) -> None:
    """The right MAC for the lease's gateway (.1, node2's cni0) instead of its VTEP (.0)."""
    gw = lab.addresses("node2")["cni0"].ip
    lab.sh("node1", f"ip neigh replace {gw} lladdr {_remote_vtep_mac(lab, 'node2')} dev flannel.1 nud permanent")


def _lease2(lab) -> str:
    return str(ipaddress.ip_network(f"{lab.addresses('node2')['cni0'].ip}/24", strict=False))


def _route_via(hop) -> object:
    def apply(lab) -> None:
        lab.sh("node1", f"ip route replace {_lease2(lab)} via {hop(lab)} dev eth0")
    return apply


def _masq_foreign_and_alias(lab) -> None:
    """The issue's attempt: a MASQUERADE rule for a source that never occurs, plus ext's address on pod1's lo."""
    lab.sh("node1", "iptables -t nat -A FLANNEL-POSTRTG -s 10.99.0.0/16 ! -d 224.0.0.0/4 -j MASQUERADE")
    _alias("ext", "pod1")(lab)


def _ext_route_back(lab) -> None:
    """ext learns a route back to the pod network: pings work unNATed."""
    lab.sh("ext", f"ip route replace 10.244.0.0/16 via {lab.underlay_ip('node1')}")


def _masq_first(lab) -> None:
    """MASQUERADE for every pod source, first: ext works, but pod-to-pod traffic is NATed too."""
    lab.sh("node1", "iptables -t nat -I FLANNEL-POSTRTG 1 -s 10.244.0.0/16 ! -d 224.0.0.0/4 -j MASQUERADE")


def _copy_lease(lab) -> None:
    """node1's lease value put under node2's key (PublicIP is node1's)."""
    value = etcdctl(lab, f"get {_lease_key(lab, 'node1')} --print-value-only").strip()
    etcdctl(lab, f"put {_lease_key(lab, 'node2')} '{value}' >/dev/null")


def _route_by_hand(lab) -> None:
    lab.sh("node1", f"ip route replace {_lease2(lab)} via {_lease2(lab).split('/')[0]} dev flannel.1 onlink")


def _hostgw_via_nodes(lab) -> None:
    """host-gw's own routes forced with onlink: the next hop is not on the segment, nobody answers its ARP."""
    s1, s2 = _leases(lab)
    lab.sh("node1", f"ip route replace {s2} via {lab.underlay_ip('node2')} dev eth0 onlink")
    lab.sh("node2", f"ip route replace {s1} via {lab.underlay_ip('node1')} dev eth0 onlink")


def _hostgw_nodes_only(lab) -> None:
    """The nodes route via the router, the router is not told where the leases are."""
    s1, s2 = _leases(lab)
    lab.sh("node1", f"ip route replace {s2} via {_router_toward(lab, 'node1')}")
    lab.sh("node2", f"ip route replace {s1} via {_router_toward(lab, 'node2')}")


EXERCISES = [
    Exercise(
        "flannel-fdb", "flannel", FLANNEL, 15,
        text("Flannel: a missing FDB entry", "Flannel：缺失的 FDB 表项"),
        text("Flannel vxlan backend: pod1 (node1) cannot reach pod2 (node2). flannel.1 runs with nolearning, "
             "so flanneld must program everything. Find what node1 is missing and add it.",
             "Flannel vxlan 后端：pod1（node1）无法访问 pod2（node2）。flannel.1 设置了 nolearning，所有表项都"
             "由 flanneld 写入。找出 node1 缺少的表项并补上。"),
        hints(["`node1 ip route show dev flannel.1`, `node1 ip neigh show dev flannel.1`, `node1 bridge fdb show dev flannel.1`",
               "Each remote lease needs a route, a neighbour (VTEP IP -> VTEP MAC) and an FDB entry (VTEP MAC -> node IP)",
               "`node1 bridge fdb append <node2 flannel.1 MAC> dev flannel.1 dst <node2 IP>`"],
              ["`node1 ip route show dev flannel.1`、`node1 ip neigh show dev flannel.1`、`node1 bridge fdb show dev flannel.1`",
               "每个远端租约都需要一条路由、一个邻居（VTEP IP -> VTEP MAC）和一条 FDB（VTEP MAC -> 节点 IP）",
               "`node1 bridge fdb append <node2 的 flannel.1 MAC> dev flannel.1 dst <node2 IP>`"]),
        setup=inject(("fdb", "node1", "node2")),
        stages=(
            Stage(text("find the missing entry", "找出缺失的表项"),
                  text("Compare node1's flannel.1 FDB with the VTEPs of the other nodes: which VTEP MAC has no FDB "
                       "entry on node1? `answer mac MAC`, then `stage next`.",
                       "对比 node1 的 flannel.1 FDB 与其他节点的 VTEP：哪个 VTEP MAC 在 node1 上没有 FDB 表项？"
                       "`answer mac MAC`，然后 `stage next`。"),
                  questions=(Question("mac", text("the VTEP MAC without an FDB entry on node1",
                                                  "node1 上没有 FDB 表项的 VTEP MAC"),
                                      lambda lab: _remote_vtep_mac(lab, "node2")),)),
            Stage(text("fix it", "修复"),
                  text("Add the entry so that node1 sends that MAC to node2's underlay address; pod1 must reach pod2.",
                       "补上该表项，使 node1 把这个 MAC 发往 node2 的底层地址；pod1 必须能访问 pod2。"),
                  criteria=(_arrives("pod1", "pod2"), _fdb_for("node1", "node2"), no_drift()),
                  solve=repair("fdb")),
        ),
        wrong_fixes=(WrongFix("fdb-dst-own-node", _fdb_wrong_dst),
                     WrongFix("fdb-eth0-mac-instead-of-vtep-mac", _fdb_wrong_mac),
                     WrongFix("pod2-address-on-pod1-loopback", _alias("pod2", "pod1")),
                     WrongFix("answer-all-zero-mac", answers=(("mac", "00:00:00:00:00:00"),))),
    ),
    Exercise(
        "flannel-neigh", "flannel", FLANNEL, 15,
        text("Flannel: a missing neighbour entry", "Flannel：缺失的邻居表项"),
        text("Flannel vxlan backend: pod1 (node1) cannot reach pod2 (node2); the FDB looks complete. Find what "
             "node1's flannel.1 cannot resolve and fix it.",
             "Flannel vxlan 后端：pod1（node1）无法访问 pod2（node2），FDB 看起来完整。找出 node1 的 flannel.1 "
             "无法解析的地址并修复。"),
        hints(["`node1 ip neigh show dev flannel.1`: one VTEP has no entry (or it is FAILED/INCOMPLETE)",
               "node2's VTEP is the .0 address of its lease; its MAC is `node2 cat /sys/class/net/flannel.1/address`",
               "`node1 ip neigh replace <node2 lease>.0 lladdr <MAC> dev flannel.1 nud permanent`"],
              ["`node1 ip neigh show dev flannel.1`：某个 VTEP 没有表项（或为 FAILED/INCOMPLETE）",
               "node2 的 VTEP 是其租约的 .0 地址；MAC 为 `node2 cat /sys/class/net/flannel.1/address`",
               "`node1 ip neigh replace <node2 租约>.0 lladdr <MAC> dev flannel.1 nud permanent`"]),
        criteria=(_arrives("pod1", "pod2"), _neigh_for("node1", "node2"), no_drift()),
        setup=inject(("neigh", "node1", "node2")), solve=repair("neigh"),
        wrong_fixes=(WrongFix("neigh-eth0-mac", _neigh_wrong_mac),
                     WrongFix("neigh-for-the-gateway-not-the-vtep", _neigh_wrong_ip),
                     WrongFix("pod2-address-on-pod1-loopback", _alias("pod2", "pod1"))),
    ),
    Exercise(
        "flannel-route", "flannel", FLANNEL, 10,
        text("Flannel: a missing route to a lease", "Flannel：缺失到某租约的路由"),
        text("Flannel vxlan backend: pod1 (node1) cannot reach pod2 (node2), though node2's lease is in etcd. "
             "Restore node1's route to it.",
             "Flannel vxlan 后端：pod1（node1）无法访问 pod2（node2），但 node2 的租约在 etcd 中。恢复 node1 到该租约的路由。"),
        hints(["`node1 etcdctl get /coreos.com/network/subnets --prefix` lists the leases",
               "`node1 ip route`: flanneld routes each lease `via <lease>.0 dev flannel.1 onlink`",
               "`node1 ip route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink`"],
              ["`node1 etcdctl get /coreos.com/network/subnets --prefix` 列出租约",
               "`node1 ip route`：flanneld 为每个租约写入 `via <租约>.0 dev flannel.1 onlink`",
               "`node1 ip route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink`"]),
        criteria=(_arrives("pod1", "pod2"), _route_to("node1", "pod2"), no_drift()),
        setup=inject(("route", "node1", "pod2")), solve=repair("route"),
        wrong_fixes=(WrongFix("route-via-node2-underlay", _route_via(lambda lab: lab.underlay_ip("node2"))),
                     WrongFix("route-via-ext", _route_via(lambda lab: lab.ip_of("ext"))),
                     WrongFix("pod2-address-on-pod1-loopback", _alias("pod2", "pod1"))),
    ),
    Exercise(
        "flannel-masquerade", "flannel", FLANNEL, 10,
        text("Flannel: pods cannot reach the outside", "Flannel：Pod 无法访问外部"),
        text("Flannel vxlan backend: pod1 (node1) cannot reach the external host ext, pod2 (node2) can. Pod to pod "
             "works. Find what flanneld installed on node2 but node1 lacks, and fix node1.",
             "Flannel vxlan 后端：pod1（node1）无法访问外部主机 ext，pod2（node2）可以，Pod 之间互通。找出 flanneld "
             "在 node2 上安装而 node1 缺少的配置，并修复 node1。"),
        hints(["`ext tcpdump -ni eth0 icmp` while pod1 pings ext: which source arrives?",
               "Compare `node1 iptables -t nat -S FLANNEL-POSTRTG` with node2's (flanneld's --ip-masq rules)",
               "Order matters: the RETURN rules for pod-to-pod traffic come before the MASQUERADE rules"],
              ["pod1 ping ext 时运行 `ext tcpdump -ni eth0 icmp`：到达的源地址是什么？",
               "对比 node1 与 node2 的 `iptables -t nat -S FLANNEL-POSTRTG`（flanneld 的 --ip-masq 规则）",
               "顺序很重要：Pod 之间流量的 RETURN 规则在 MASQUERADE 规则之前"]),
        criteria=(reaches("pod1", "ext"), _natted_at("node1", "pod1", "ext"), _masq_moves("node1", "pod1", "ext"),
                  replace(_arrives("pod1", "pod2"), control=True)),
        setup=inject(("masquerade", "node1")), solve=repair("masquerade"),
        wrong_fixes=(WrongFix("masquerade-foreign-source-and-ext-on-pod1-loopback", _masq_foreign_and_alias),
                     WrongFix("route-back-to-the-pods-on-ext", _ext_route_back),
                     WrongFix("masquerade-first-pod-to-pod-natted-too", _masq_first)),
    ),
    Exercise(
        "etcd-restore", "flannel", FLANNEL, 20,
        text("Restore Flannel's leases from an etcd snapshot", "从 etcd 快照恢复 Flannel 的租约"),
        text("Someone deleted node2's lease from etcd; node1's flanneld followed and removed its routes, so pod1 "
             "no longer reaches pod2. Last night's snapshot is {lab_dir}/etcd/backup.db. Restore etcd from it "
             "(the lab's etcd runs in the `etcd` host with data under {lab_dir}/etcd/etcd).",
             "有人从 etcd 删除了 node2 的租约；node1 的 flanneld 随之删除了路由，pod1 无法再访问 pod2。昨晚的快照是 "
             "{lab_dir}/etcd/backup.db。用它恢复 etcd（实验环境的 etcd 运行在 `etcd` 主机中，数据在 {lab_dir}/etcd/etcd）。"),
        hints(["`etcd etcdctl snapshot status {lab_dir}/etcd/backup.db -w table` shows what the snapshot holds",
               "Stop etcd (its pid is in {lab_dir}/etcd/etcd/etcd.pid), `etcdctl snapshot restore` into a new "
               "--data-dir, start etcd on it with the same name and URLs (`cat /proc/<pid>/cmdline` shows them)",
               "Or read the key from a restored copy and `etcdctl put` it back; the agents re-list and follow"],
              ["`etcd etcdctl snapshot status {lab_dir}/etcd/backup.db -w table` 显示快照内容",
               "停止 etcd（pid 在 {lab_dir}/etcd/etcd/etcd.pid），用 `etcdctl snapshot restore` 恢复到新的 "
               "--data-dir，以相同的名字和 URL 启动 etcd（`cat /proc/<pid>/cmdline` 可查看）",
               "或者从恢复出的副本中读出该键，再 `etcdctl put` 回去；各节点的代理会重新列出并跟随"]),
        criteria=(_lease_back("node2"), _arrives("pod1", "pod2"), no_drift()),
        setup=_etcd_setup, solve=_etcd_solve,
        wrong_fixes=(WrongFix("node1-lease-copied-under-node2-key", _copy_lease),
                     WrongFix("route-added-by-hand", _route_by_hand)),
    ),
    Exercise(
        "hostgw-router", "flannel", ("--nodes", "2", "--pods-per-node", "1", "--backend", "host-gw", "--routed",
                                     "--no-checks"), 20,
        text("Why host-gw fails across a router", "为什么 host-gw 跨路由器会失败"),
        text("Flannel host-gw: node1 (172.16.1.0/24) and node2 (172.16.2.0/24) sit on two segments joined by a "
             "router, and pod1 cannot reach pod2. Find why flanneld could not install its route (status.json, the "
             "kernel's words) and make pod1 reach pod2 without changing the backend: route the leases through "
             "the router.\nAlso `answer via IP`: the next hop node1 must use for node2's lease.",
             "Flannel host-gw：node1（172.16.1.0/24）和 node2（172.16.2.0/24）位于由路由器连接的两个网段，pod1 无法"
             "访问 pod2。找出 flanneld 为什么装不上路由（status.json，内核的报错），并在不改后端的前提下让 pod1 访问 "
             "pod2：让租约经路由器转发。\n同时 `answer via IP`：node1 到 node2 租约应使用的下一跳。"),
        hints(["`node1 cat {lab_dir}/node1/flannel/subnet.env`; the agent's status.json: {lab_dir}/node1/flannel/status.json",
               "host-gw routes a lease `via <node IP>`: the kernel refuses a next hop that is not on a local segment",
               "node1 and node2 route each other's lease via the router's address on their segment; the router "
               "routes each lease via its node"],
              ["`node1 cat {lab_dir}/node1/flannel/subnet.env`；代理的 status.json：{lab_dir}/node1/flannel/status.json",
               "host-gw 用 `via <节点 IP>` 路由租约：内核拒绝不在本地网段上的下一跳",
               "node1 和 node2 经各自网段上的路由器地址路由对方的租约；路由器再把每个租约路由到其节点"]),
        questions=(Question("via", text("node1's next hop for node2's lease", "node1 到 node2 租约的下一跳"),
                            lambda lab: _router_toward(lab, "node1")),),
        criteria=(_arrives("pod1", "pod2"), no_drift(_hostgw_routes)),
        setup=_hostgw_setup, solve=_hostgw_solve,
        wrong_fixes=(WrongFix("host-gw-routes-forced-onlink", _hostgw_via_nodes, (("via", "172.16.2.12"),)),
                     WrongFix("router-not-told-the-leases", _hostgw_nodes_only),
                     WrongFix("pod2-address-on-pod1-loopback", _alias("pod2", "pod1"))),
    ),
]
