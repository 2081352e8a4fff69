"""Workshop exercises on the raw kernel VXLAN labs: a point-to-point VXLAN by hand, two Docker networks joined."""

from __future__ import annotations

import re

from lab.workshop.exercise import Criterion, Exercise, Outcome, hints, text


def _vxlan_link(host: str, dev: str, vni: int, master: str = "") -> Criterion:
    def observe(lab) -> Outcome:
        detail = " ".join(lab.sh(host, f"ip -d -o link show {dev} 2>/dev/null || true").split())
        ok = f"vxlan id {vni} " in detail and "dstport 4789" in detail and "state UP" in detail or (
            f"vxlan id {vni} " in detail and "dstport 4789" in detail and ",UP" in detail)
        if master:
            ok = ok and f"master {master}" in detail
        if not detail:
            return Outcome(False, f"no {dev} on {host}")
        seen = re.sub(r".*?(vxlan id.*?dstport \d+).*", r"\1", detail)
        state = "up" if "state UP" in detail or ",UP" in detail else "down"
        return Outcome(ok, f"{host}: {dev} {seen}, {state}" + (f", master {master}" if f"master {master}" in detail
                                                               else ""))
    return Criterion(text(f"{host} has {dev} (VNI {vni}, port 4789{', in ' + master if master else ''}, up)",
                          f"{host} 上有 {dev}（VNI {vni}，端口 4789{'，加入 ' + master if master else ''}，已启用）"), observe)


def _ping_ip(src: str, ip: str, what_en: str, what_zh: str) -> Criterion:
    def observe(lab) -> Outcome:
        ok = lab.ping(src, ip)
        return Outcome(ok, f"{src} -> {ip}: " + ("answered" if ok else "no answer"))
    return Criterion(text(what_en, what_zh), observe)


def _p2p_setup(lab) -> None:
    for host in ("host1", "host2"):
        lab.sh(host, "ip link del vxlan20 2>/dev/null || true")


def _p2p_solve(lab) -> None:
    for host, peer, overlay in (("host1", "172.16.1.12", "10.0.136.11"), ("host2", "172.16.1.11", "10.0.136.12")):
        lab.sh(host, f"ip link del vxlan20 2>/dev/null; ip link add vxlan20 type vxlan id 20 remote {peer} "
                     f"dstport 4789 dev eth0 && ip addr add {overlay}/24 dev vxlan20 && ip link set vxlan20 up")


def _docker_setup(lab) -> None:
    for host in ("host1", "host2"):
        lab.sh(host, "ip link del vxlan100 2>/dev/null || true")


def _docker_solve(lab) -> None:
    for host, peer in (("host1", "172.16.1.12"), ("host2", "172.16.1.11")):
        lab.sh(host, f"ip link del vxlan100 2>/dev/null; ip link add vxlan100 type vxlan id 100 remote {peer} "
                     "dstport 4789 dev eth0 && ip link set vxlan100 master br0 && ip link set vxlan100 up")


EXERCISES = [
    Exercise(
        "vxlan-by-hand", "vxlan-p2p", ("--no-checks",), 15,
        text("Build a point-to-point VXLAN by hand", "手工搭建点对点 VXLAN"),
        text("host1 (172.16.1.11) and host2 (172.16.1.12) share an underlay. Build a kernel VXLAN between them: "
             "vxlan20 with VNI 20 on UDP port 4789, 10.0.136.11/24 on host1 and 10.0.136.12/24 on host2, so that "
             "host1 pings 10.0.136.12.",
             "host1（172.16.1.11）与 host2（172.16.1.12）共享底层网络。在它们之间搭建内核 VXLAN：vxlan20，VNI 20，"
             "UDP 端口 4789，host1 上配置 10.0.136.11/24，host2 上配置 10.0.136.12/24，使 host1 能 ping 通 10.0.136.12。"),
        hints(["`ip link add vxlan20 type vxlan id 20 remote <peer> dstport 4789 dev eth0` on each host",
               "Then `ip addr add 10.0.136.11/24 dev vxlan20` and `ip link set vxlan20 up`",
               "`host2 tcpdump -ni eth0 udp port 4789` shows the encapsulated ping"],
              ["在每台主机上 `ip link add vxlan20 type vxlan id 20 remote <对端> dstport 4789 dev eth0`",
               "然后 `ip addr add 10.0.136.11/24 dev vxlan20` 与 `ip link set vxlan20 up`",
               "`host2 tcpdump -ni eth0 udp port 4789` 能看到封装后的 ping"]),
        criteria=(_vxlan_link("host1", "vxlan20", 20), _vxlan_link("host2", "vxlan20", 20),
                  _ping_ip("host1", "10.0.136.12", "host1 pings 10.0.136.12 over vxlan20", "host1 经 vxlan20 ping 通 10.0.136.12"),
                  _ping_ip("host2", "10.0.136.11", "host2 pings 10.0.136.11 over vxlan20", "host2 经 vxlan20 ping 通 10.0.136.11")),
        setup=_p2p_setup, solve=_p2p_solve,
    ),
    Exercise(
        "docker-vxlan", "docker-vxlan", ("--no-checks",), 15,
        text("Connect two Docker networks with VXLAN", "用 VXLAN 连接两个 Docker 网络"),
        text("c1 (172.20.0.2 on host1) and c2 (172.20.0.3 on host2) sit on bridges of one 172.20.0.0/16 network, "
             "on two hosts. Join the two bridges into one L2 segment with a VXLAN port (VNI 100, UDP 4789) on "
             "each, so that c1 pings c2.",
             "c1（host1 上的 172.20.0.2）和 c2（host2 上的 172.20.0.3）位于两台主机上、同属 172.20.0.0/16 的网桥。"
             "在每个网桥上加一个 VXLAN 端口（VNI 100，UDP 4789），把两个网桥连成一个二层网段，使 c1 能 ping 通 c2。"),
        hints(["`host1 ip -d link show type bridge` finds the bridge the containers hang on",
               "`ip link add vxlan100 type vxlan id 100 remote <peer> dstport 4789 dev eth0` on each host",
               "`ip link set vxlan100 master br0` and `ip link set vxlan100 up`"],
              ["`host1 ip -d link show type bridge` 找到容器所连接的网桥",
               "在每台主机上 `ip link add vxlan100 type vxlan id 100 remote <对端> dstport 4789 dev eth0`",
               "`ip link set vxlan100 master br0` 与 `ip link set vxlan100 up`"]),
        criteria=(_vxlan_link("host1", "vxlan100", 100, "br0"), _vxlan_link("host2", "vxlan100", 100, "br0"),
                  _ping_ip("c1", "172.20.0.3", "c1 pings c2 (172.20.0.3)", "c1 ping 通 c2（172.20.0.3）")),
        setup=_docker_setup, solve=_docker_solve,
    ),
]
