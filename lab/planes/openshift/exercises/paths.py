"""Read the OpenShift SDN data plane: a pod's veth and port, the paths table by table, SNAT, a Service."""

from __future__ import annotations

import os
import re
import time

from lab.workshop.criteria import digits, numbers
from lab.workshop.exercise import Criterion, Exercise, Outcome, Question, WrongFix, hints, text

SMALL = ("--nodes", "2", "--pods-per-node", "1", "--no-checks")  # pod1 on node1, pod2 on node2
TWO_PER_NODE = ("--nodes", "2", "--pods-per-node", "2", "--no-checks")  # pod1, pod2 on node1; pod3, pod4 on node2
WEB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "manifests", "web.yaml")


def _container(lab, node: str, pod: str, container: str) -> str:
    names = lab.docker(node, "ps --format '{{.Names}}'").split()
    return next(n for n in names if n.startswith(f"k8s_{container}_{pod}_"))


def _pause_inode(lab) -> str:
    pause = _container(lab, "node1", "pod1", "POD")
    pid = lab.docker("node1", f"inspect -f '{{{{.State.Pid}}}}' {pause}").strip()
    return digits(os.readlink(f"/proc/{pid}/ns/net"))


def _network_mode(lab) -> str:
    nginx = _container(lab, "node1", "pod1", "nginx")
    return lab.docker("node1", f"inspect -f '{{{{.HostConfig.NetworkMode}}}}' {nginx}").strip()


def _shares_netns(lab) -> Outcome:
    """Every container of pod1 lives in one network namespace: the same inode for all."""
    inodes = {}
    for line in lab.docker("node1", "ps --format '{{.Names}}'").split():
        if re.match(r"k8s_[^_]+_pod1_", line):
            pid = lab.docker("node1", f"inspect -f '{{{{.State.Pid}}}}' {line}").strip()
            inodes[line.split("_")[1]] = digits(os.readlink(f"/proc/{pid}/ns/net"))
    ok = len(inodes) >= 3 and len(set(inodes.values())) == 1
    return Outcome(ok, ", ".join(f"{c} net:[{i}]" for c, i in sorted(inodes.items())))


def _tables(lab, src: str, dst: str, hop: int) -> str:
    hops = lab.path(src, dst)
    return ",".join(str(t) for t in hops[hop].tables) if len(hops) > hop else ""


def _trace_criterion(src: str, dst: str) -> Criterion:
    """Control: the path the questions ask about works from the start (the exercise is reading, not fixing)."""
    def observe(lab) -> Outcome:
        hops = lab.path(src, dst)
        seen = "; ".join(f"{h.node}: {' > '.join(map(str, h.tables))}: {h.end}" for h in hops)
        return Outcome(bool(hops) and not hops[-1].end.startswith("drop"), seen)
    return Criterion(text(f"ofproto/trace {src} -> {dst} is delivered", f"ofproto/trace {src} -> {dst} 被送达"), observe,
                     control=True)


def _source_on(listener: str, dev: str, bpf: str, sender: str, dst: str):
    def truth(lab) -> str:
        return lab.first_packet_source(listener, dev, bpf, sender, f"ping -n -c1 -W1 {lab.ip_of(dst)}")
    return truth


def _tun_src(lab) -> str:
    """The outer source of the VXLAN packets that carry pod1's ping into node2: captured on node2's underlay."""
    bpf = "udp dst port 4789 and udp[28:2] = 0x0800 and udp[39] = 1"  # inner IPv4 ICMP
    return lab.first_packet_source("node2", "eth0", bpf, "pod1", f"ping -n -c1 -W1 {lab.ip_of('pod2')}")


def _answers(name: str, *pairs: str) -> WrongFix:
    """A wrong fix of a question exercise: wrong answers only (key, value, key, value...)."""
    return WrongFix(name, answers=tuple(zip(pairs[::2], pairs[1::2], strict=True)))


def _service_chain(lab) -> str:
    nat = lab.sh("node1", "iptables-save -t nat")
    m = re.search(r"-A KUBE-SERVICES -d (\S+)/32 .*default/web: cluster IP.* -j (KUBE-SVC-\S+)", nat)
    return m.group(2) if m else ""


def _service_endpoint(lab) -> str:
    nat = lab.sh("node1", "iptables-save -t nat")
    svc = _service_chain(lab)
    sep = re.search(rf"-A {re.escape(svc)} .*-j (KUBE-SEP-\S+)", nat)
    dnat = sep and re.search(rf"-A {re.escape(sep.group(1))} .*-j DNAT --to-destination (\S+)", nat)
    return dnat.group(1) if dnat else ""


def _cluster_ip(lab) -> str:
    m = re.search(r"-A KUBE-SERVICES -d (\S+)/32 .*default/web: cluster IP", lab.sh("node1", "iptables-save -t nat"))
    return m.group(1) if m else ""


def _traceroute_hops(lab) -> list:
    """Each hop's first answering address (three probes a hop: one lost probe must not change the answer).
    The kernel rate-limits ICMP errors (net.ipv4.icmp_ratelimit), so a traceroute right after another may see
    a hop silent: run again, for a few seconds at most, until every hop answered once."""
    hops: list = []
    deadline = time.monotonic() + 4
    while True:
        out = lab.sh("pod1", f"traceroute -n -w1 -q3 -T -p 80 -m 5 {_cluster_ip(lab)}", check=False)
        seen = []
        for line in out.splitlines()[1:]:
            words = line.split()
            if words and words[0].isdigit():
                seen.append(next((w for w in words[1:] if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", w)), "*"))
        if len(seen) == len(hops):  # a hop silent this time keeps the address it answered with before
            seen = [old if h == "*" else h for h, old in zip(seen, hops, strict=True)]
        hops = seen
        if "*" not in hops or time.monotonic() > deadline:
            return hops
        time.sleep(0.5)  # the ICMP rate limit's token comes back


def _request_web(lab) -> Outcome:
    ip = _cluster_ip(lab)
    out = lab.sh("pod1", f"wget -qO- -T 2 http://{ip}:80/ 2>&1 || curl -s -m 2 http://{ip}:80/", check=False)
    return Outcome(out.strip().startswith("web"), f"GET http://{ip}:80/ from pod1: {' '.join(out.split())[:60] or 'no answer'}")


EXERCISES = [
    Exercise(
        "veth-port", "openshift", SMALL + ("--runtime", "docker"), 15,
        text("Find a pod's veth and its br0 port", "找到 Pod 的 veth 及其在 br0 上的端口"),
        text("pod1 runs as Docker containers on node1 (a pause container plus nginx and tomcat). From inside "
             "node1, find the host end of pod1's eth0 (its veth) and the OpenFlow port number br0 gave it.\n"
             "Answer with `answer veth NAME` and `answer ofport N`.",
             "pod1 以 Docker 容器的形式运行在 node1 上（一个 pause 容器加 nginx、tomcat）。在 node1 上找到 pod1 的 "
             "eth0 在宿主机一端的 veth，以及 br0 分配给它的 OpenFlow 端口号。\n用 `answer veth 名字` 和 "
             "`answer ofport 号码` 作答。"),
        hints(["`node1 docker ps` lists the containers; the pause container is k8s_POD_pod1_...",
               "`docker inspect -f '{{.State.Pid}}' <pause>` gives its pid; `nsenter -t PID -n ip link` shows eth0@ifN",
               "ifN is the ifindex of the veth in node1: `node1 ip -o link | grep '^N:'`; then "
               "`node1 ovs-ofctl -O OpenFlow13 show br0` lists ports by number"],
              ["`node1 docker ps` 列出容器；pause 容器名为 k8s_POD_pod1_...",
               "`docker inspect -f '{{.State.Pid}}' <pause>` 得到 PID；`nsenter -t PID -n ip link` 显示 eth0@ifN",
               "ifN 是 node1 中 veth 的 ifindex：`node1 ip -o link | grep '^N:'`；再用 "
               "`node1 ovs-ofctl -O OpenFlow13 show br0` 查看端口号"]),
        questions=(Question("veth", text("pod1's veth on node1", "pod1 在 node1 上的 veth"), lambda lab: lab.host_veth("pod1")),
                   Question("ofport", text("its br0 port number", "它在 br0 上的端口号"),
                            lambda lab: lab.ofport("node1", "pod1"), digits)),
        wrong_fixes=(_answers("the-pod-side-name", "veth", "eth0"), _answers("vxlan0-port", "ofport", "1"),
                     _answers("tun0-port", "ofport", "2")),
    ),
    Exercise(
        "pause-netns", "openshift", SMALL + ("--runtime", "docker"), 15,
        text("The pause container's shared namespaces", "pause 容器共享的命名空间"),
        text("In Kubernetes every container of a pod joins the network namespace of the pod's pause (infra) "
             "container. On node1, find the inode of pod1's network namespace and the NetworkMode Docker shows "
             "for pod1's nginx container.\nAnswer with `answer inode N` and `answer networkmode VALUE`.",
             "在 Kubernetes 中，Pod 的每个容器都加入该 Pod 的 pause（infra）容器的网络命名空间。在 node1 上找出 "
             "pod1 网络命名空间的 inode 号，以及 pod1 的 nginx 容器在 Docker 中的 NetworkMode。\n用 "
             "`answer inode 号码` 和 `answer networkmode 值` 作答。"),
        hints(["`node1 docker ps --format '{{.Names}}'`: the pause container is k8s_POD_pod1_..., nginx is k8s_nginx_pod1_...",
               "`docker inspect -f '{{.State.Pid}}' NAME`, then `readlink /proc/PID/ns/net` prints net:[INODE]",
               "`docker inspect -f '{{.HostConfig.NetworkMode}}' k8s_nginx_pod1_...` prints container:<pause id>"],
              ["`node1 docker ps --format '{{.Names}}'`：pause 容器为 k8s_POD_pod1_...，nginx 为 k8s_nginx_pod1_...",
               "`docker inspect -f '{{.State.Pid}}' 名字`，再 `readlink /proc/PID/ns/net` 得到 net:[INODE]",
               "`docker inspect -f '{{.HostConfig.NetworkMode}}' k8s_nginx_pod1_...` 输出 container:<pause id>"]),
        questions=(Question("inode", text("pod1's network namespace inode", "pod1 网络命名空间的 inode"), _pause_inode, digits),
                   Question("networkmode", text("NetworkMode of pod1's nginx", "pod1 的 nginx 的 NetworkMode"),
                            _network_mode)),
        criteria=(Criterion(text("pod1's containers share one network namespace", "pod1 的容器共享同一网络命名空间"),
                            _shares_netns, control=True),),  # holds from the start: the pod is built that way
        wrong_fixes=(_answers("the-host-netns-inode", "inode", "4026531840"),
                     _answers("the-pause-containers-own-mode", "networkmode", "none"),
                     _answers("a-docker-network-name", "networkmode", "bridge")),
    ),
    Exercise(
        "same-node-path", "openshift", TWO_PER_NODE, 15,
        text("Same-node path, table by table", "同节点 Pod 间的路径：逐表追踪"),
        text("pod1 and pod2 both run on node1. Follow an ICMP packet from pod1 to pod2 through node1's br0 "
             "(OpenFlow tables) and find the port it leaves by.\nAnswer with `answer tables 0,20,...` and "
             "`answer port N`.",
             "pod1 和 pod2 都运行在 node1 上。追踪一个从 pod1 到 pod2 的 ICMP 包经过 node1 的 br0 的 OpenFlow 表，"
             "并找出它离开的端口。\n用 `answer tables 0,20,...` 和 `answer port 号码` 作答。"),
        hints(["`node1 ovs-ofctl -O OpenFlow13 --no-names dump-flows br0` shows the pipeline; table 0 sends pod traffic on",
               "`trace pod1 pod2` runs ovs-appctl ofproto/trace for you (or `node1 ovs-appctl ofproto/trace br0 in_port=...`)",
               "A local pod is delivered by table 70 (sets REG2 to the port) and 80 (output)"],
              ["`node1 ovs-ofctl -O OpenFlow13 --no-names dump-flows br0` 显示流水线；表 0 继续转发 Pod 流量",
               "`trace pod1 pod2` 会帮你运行 ovs-appctl ofproto/trace",
               "本地 Pod 由表 70（把端口写入 REG2）和表 80（output）送达"]),
        questions=(Question("tables", text("tables on node1", "node1 上经过的表"),
                            lambda lab: _tables(lab, "pod1", "pod2", 0), numbers),
                   Question("port", text("the br0 port the packet leaves by", "包离开 br0 的端口"),
                            lambda lab: lab.ofport("node1", "pod2"), digits)),
        wrong_fixes=(_answers("the-cross-node-tables", "tables", "0,20,21,30,90"),
                     _answers("without-the-local-delivery-table", "tables", "0,20,21,30,80"),
                     _answers("vxlan0-as-the-port", "port", "1")),
    ),
    Exercise(
        "cross-node-path", "openshift", SMALL, 20,
        text("Cross-node path and tun_src", "跨节点路径与 tun_src"),
        text("pod1 (node1) pings pod2 (node2). The packet leaves node1 through vxlan0. On the receiving node "
             "the tunnel source decides whether it is accepted. Find the tables it takes on node2 and the "
             "tun_src node2 sees.\nAnswer with `answer tables 0,...` and `answer tun_src IP`.",
             "pod1（node1）ping pod2（node2）。包经 vxlan0 离开 node1，接收节点根据隧道源地址决定是否接受。"
             "找出它在 node2 上经过的表，以及 node2 看到的 tun_src。\n用 `answer tables 0,...` 和 "
             "`answer tun_src IP` 作答。"),
        hints(["`trace pod1 pod2` follows the packet onto the second node",
               "On node2 the packet enters on port 1 (vxlan0); table 10 matches tun_src",
               "tun_src is the sending node's underlay address (`oc get hostsubnets`, HOST IP)"],
              ["`trace pod1 pod2` 会跟随包到第二个节点", "包在 node2 上从端口 1（vxlan0）进入；表 10 匹配 tun_src",
               "tun_src 是发送节点的底层网络地址（`oc get hostsubnets` 的 HOST IP）"]),
        questions=(Question("tables", text("tables on node2", "node2 上经过的表"),
                            lambda lab: _tables(lab, "pod1", "pod2", 1), numbers),
                   Question("tun_src", text("tun_src on node2", "node2 上的 tun_src"), _tun_src)),
        criteria=(_trace_criterion("pod1", "pod2"),),
        wrong_fixes=(_answers("the-senders-tables", "tables", "0,20,21,30,90"),
                     _answers("the-receiving-nodes-address", "tun_src", "172.16.1.12"),
                     _answers("the-pods-address", "tun_src", "10.128.0.2")),
    ),
    Exercise(
        "snat", "openshift", SMALL, 15,
        text("Pod to external: SNAT seen on tun0 and eth0", "Pod 访问外部：在 tun0 与 eth0 上看到的 SNAT"),
        text("pod1 pings the external host ext. Capture on node1's tun0 and on ext's eth0: which source "
             "address does each see?\nAnswer with `answer tun0_src IP` and `answer eth0_src IP`.",
             "pod1 ping 外部主机 ext。在 node1 的 tun0 和 ext 的 eth0 上抓包：各自看到的源地址是什么？\n用 "
             "`answer tun0_src IP` 和 `answer eth0_src IP` 作答。"),
        hints(["`node1 tcpdump -ni tun0 icmp` while `pod1 ping -c1 ext` runs (two CLI shells: or use `-c1` and &)",
               "Traffic to outside the cluster leaves br0 by tun0 (table 100) into node1's kernel",
               "OPENSHIFT-MASQUERADE in node1's nat table rewrites the source: `node1 iptables -t nat -S`"],
              ["在 `pod1 ping -c1 ext` 时运行 `node1 tcpdump -ni tun0 icmp`",
               "访问集群外的流量经表 100 从 tun0 离开 br0，进入 node1 的内核",
               "node1 的 nat 表中 OPENSHIFT-MASQUERADE 改写源地址：`node1 iptables -t nat -S`"]),
        questions=(Question("tun0_src", text("source seen on node1's tun0", "node1 的 tun0 上看到的源地址"),
                            _source_on("node1", "tun0", "icmp and icmp[0] == 8", "pod1", "ext")),
                   Question("eth0_src", text("source seen on ext's eth0", "ext 的 eth0 上看到的源地址"),
                            _source_on("ext", "eth0", "icmp and icmp[0] == 8", "pod1", "ext"))),
        wrong_fixes=(_answers("swapped", "tun0_src", "172.16.1.11", "eth0_src", "10.128.0.2"),
                     _answers("tun0s-own-address", "tun0_src", "10.128.0.1"),
                     _answers("no-nat-expected", "eth0_src", "10.128.0.2")),
    ),
    Exercise(
        "service-dnat", "openshift", SMALL + ("-f", WEB), 20,
        text("Follow a Service to its DNAT", "跟踪 Service 直到 DNAT"),
        text("The Service default/web has a ClusterIP and one endpoint. Follow kube-proxy's rules on node1 from "
             "KUBE-SERVICES through KUBE-SVC-... and KUBE-SEP-... to the DNAT.\nAnswer with `answer chain "
             "KUBE-SVC-...` and `answer endpoint IP:PORT`.",
             "Service default/web 有一个 ClusterIP 和一个 endpoint。在 node1 上沿着 kube-proxy 的规则从 "
             "KUBE-SERVICES 经 KUBE-SVC-... 和 KUBE-SEP-... 追踪到 DNAT。\n用 `answer chain KUBE-SVC-...` 和 "
             "`answer endpoint IP:端口` 作答。"),
        hints(["`oc get svc` gives the ClusterIP; `node1 iptables-save -t nat | grep <ClusterIP>`",
               "The KUBE-SERVICES rule for the ClusterIP jumps to KUBE-SVC-<hash>; that one to KUBE-SEP-<hash>",
               "KUBE-SEP-... ends with `-j DNAT --to-destination IP:PORT`; compare with `oc get endpoints`"],
              ["`oc get svc` 给出 ClusterIP；`node1 iptables-save -t nat | grep <ClusterIP>`",
               "KUBE-SERVICES 中该 ClusterIP 的规则跳转到 KUBE-SVC-<hash>，再跳到 KUBE-SEP-<hash>",
               "KUBE-SEP-... 以 `-j DNAT --to-destination IP:端口` 结束；与 `oc get endpoints` 对照"]),
        questions=(Question("chain", text("the KUBE-SVC chain", "KUBE-SVC 链"), _service_chain, lambda s: s.strip().upper()),
                   Question("endpoint", text("the DNAT destination", "DNAT 目标"), _service_endpoint)),
        criteria=(Criterion(text("pod1 gets an answer from the Service", "pod1 通过 Service 得到应答"), _request_web,
                            control=True),),  # the Service works: the exercise reads its rules
        wrong_fixes=(_answers("the-entry-chain", "chain", "KUBE-SERVICES"),
                     _answers("the-service-port-not-the-target-port", "endpoint", "10.129.0.3:80"),
                     _answers("the-cluster-ip", "endpoint", "172.30.0.2:80")),
    ),
    Exercise(
        "clusterip-traceroute", "openshift", SMALL + ("-f", WEB), 15,
        text("traceroute to a ClusterIP", "traceroute 到 ClusterIP"),
        text("From pod1 run a TCP traceroute to the ClusterIP of default/web on its port 80. How many hops does "
             "it show, and which address answers for the first hop (the node that DNATs)?\nAnswer with "
             "`answer hops N` and `answer first_hop IP`.",
             "从 pod1 对 default/web 的 ClusterIP 的 80 端口做 TCP traceroute。显示几跳？第一跳（做 DNAT 的节点）"
             "由哪个地址应答？\n用 `answer hops 数字` 和 `answer first_hop IP` 作答。"),
        hints(["`pod1 traceroute -n -T -p 80 <ClusterIP>` (`oc get svc` gives it)",
               "The first hop is node1's kernel: the packet went to tun0, kube-proxy's DNAT happened there",
               "conntrack un-NATs the ICMP time-exceeded too: look at the address it shows, not the one you expect"],
              ["`pod1 traceroute -n -T -p 80 <ClusterIP>`（用 `oc get svc` 查看）",
               "第一跳是 node1 的内核：包进入 tun0，kube-proxy 的 DNAT 在这里发生",
               "conntrack 也会对 ICMP 超时报文做反向 NAT：看它实际显示的地址"]),
        questions=(Question("hops", text("hops shown", "显示的跳数"), lambda lab: str(len(_traceroute_hops(lab))), digits),
                   Question("first_hop", text("the first hop's address", "第一跳的地址"),
                            lambda lab: (_traceroute_hops(lab) or [""])[0])),
        wrong_fixes=(_answers("one-hop-expected", "hops", "1"),
                     _answers("tun0-as-the-first-hop", "first_hop", "10.128.0.1"),
                     _answers("the-endpoint-as-the-first-hop", "first_hop", "10.129.0.3")),
    ),
]
