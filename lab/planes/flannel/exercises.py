"""Workshop exercises on Flannel (vxlan, host-gw, etcd): broken and repaired."""

from __future__ import annotations

import ipaddress
import json
import os

from lab import paths
from lab.workshop.criteria import inject, reaches, repair
from lab.workshop.exercise import Criterion, Exercise, Outcome, Question, hints, text

FLANNEL = ("--nodes", "2", "--pods-per-node", "1", "--no-checks")  # pod1 on node1, pod2 on node2
BACKUP = "backup.db"  # the etcd snapshot the etcd-restore exercise starts from, in the etcd host's directory


def etcdctl(lab, args: str, check: bool = True) -> str:
    """etcdctl (v3 API) against the lab's etcd, from the etcd host."""
    ip = lab.ip_of("etcd") if "etcd" in lab.hosts else "172.16.1.2"
    return lab.sh("etcd", f"ETCDCTL_API=3 etcdctl --endpoints http://{ip}:2379 {args}", check=check)


def _fdb_for(node: str, remote: str) -> Criterion:
    def observe(lab) -> Outcome:
        ip = lab.underlay_ip(remote)
        lines = [" ".join(ln.split()) for ln in lab.sh(node, "bridge fdb show dev flannel.1").splitlines()
                 if f"dst {ip} " in ln + " "]
        return Outcome(bool(lines), lines[0] if lines else f"no FDB entry with dst {ip} on flannel.1")
    return Criterion(text(f"{node}: flannel.1 FDB entry for {remote}'s VTEP", f"{node}：flannel.1 上有 {remote} VTEP 的 FDB 表项"),
                     observe)


def _neigh_for(node: str, remote: str) -> Criterion:
    def observe(lab) -> Outcome:
        mac = _remote_vtep_mac(lab, remote)
        lines = [" ".join(ln.split()) for ln in lab.sh(node, "ip neigh show dev flannel.1").splitlines()
                 if mac and mac in ln]
        return Outcome(bool(lines), lines[0] if lines else f"no neighbour with lladdr {mac} on flannel.1")
    return Criterion(text(f"{node}: flannel.1 neighbour for {remote}'s VTEP", f"{node}：flannel.1 上有 {remote} VTEP 的邻居表项"),
                     observe)


def _remote_vtep_mac(lab, node: str) -> str:
    return lab.sh(node, "cat /sys/class/net/flannel.1/address").strip()


def _route_to(node: str, pod: str) -> Criterion:
    def observe(lab) -> Outcome:
        ip = lab.ip_of(pod)
        route = " ".join(lab.sh(node, f"ip -4 -o route get {ip} 2>&1 || true").split())
        ok = ("dev flannel.1" in route or "dev eth0" in route) and " via " in route
        return Outcome(ok, route)
    return Criterion(text(f"{node} routes to {pod}'s lease", f"{node} 有到 {pod} 所在租约的路由"), observe)


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


def _hostgw_solve(lab) -> None:
    s1, s2 = _leases(lab)
    lab.sh("node1", f"ip route replace {s2} via {_router_toward(lab, 'node1')}")
    lab.sh("node2", f"ip route replace {s1} via {_router_toward(lab, 'node2')}")
    lab.sh("router", f"ip route replace {s1} via {lab.underlay_ip('node1')}; "
                     f"ip route replace {s2} via {lab.underlay_ip('node2')}")


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
        criteria=(reaches("pod1", "pod2"), _fdb_for("node1", "node2")),
        setup=inject(("fdb", "node1", "node2")), solve=repair("fdb"),
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
        criteria=(reaches("pod1", "pod2"), _neigh_for("node1", "node2")),
        setup=inject(("neigh", "node1", "node2")), solve=repair("neigh"),
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
        criteria=(reaches("pod1", "pod2"), _route_to("node1", "pod2")),
        setup=inject(("route", "node1", "pod2")), solve=repair("route"),
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
        criteria=(reaches("pod1", "ext"), reaches("pod1", "pod2")),
        setup=inject(("masquerade", "node1")), solve=repair("masquerade"),
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
        criteria=(_lease_back("node2"), reaches("pod1", "pod2")),
        setup=_etcd_setup, solve=_etcd_solve,
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
        hints(["`node1 cat /run/flannel/subnet.env`; the agent's status.json: {lab_dir}/node1/flannel/status.json",
               "host-gw routes a lease `via <node IP>`: the kernel refuses a next hop that is not on a local segment",
               "node1 and node2 route each other's lease via the router's address on their segment; the router "
               "routes each lease via its node"],
              ["`node1 cat /run/flannel/subnet.env`；代理的 status.json：{lab_dir}/node1/flannel/status.json",
               "host-gw 用 `via <节点 IP>` 路由租约：内核拒绝不在本地网段上的下一跳",
               "node1 和 node2 经各自网段上的路由器地址路由对方的租约；路由器再把每个租约路由到其节点"]),
        questions=(Question("via", text("node1's next hop for node2's lease", "node1 到 node2 租约的下一跳"),
                            lambda lab: _router_toward(lab, "node1")),),
        criteria=(reaches("pod1", "pod2"),),
        setup=_hostgw_setup, solve=_hostgw_solve,
    ),
]
