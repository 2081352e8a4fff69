"""Workshop exercises on the raw kernel VXLAN labs: a point-to-point VXLAN by hand, two Docker networks joined."""

from __future__ import annotations

import re

from lab.workshop.exercise import Criterion, Exercise, Outcome, WrongFix, hints, text

# an ICMP echo request inside a VXLAN packet on UDP 4789: UDP 8 + VXLAN 8 + Ethernet 14 bytes, then the inner
# IPv4 header (protocol at +9, ICMP type right after a 20-byte header)
ECHO_IN_VXLAN = "udp dst port 4789 and udp[39] = 1 and udp[50] = 8"


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


def _vni_on_wire(listener: str, sender: str, target: str, vni: int) -> Criterion:
    """sender pings target and is answered; listener's eth0 (the underlay) must carry that echo request in
    a VXLAN packet with this VNI: a capture, so a local alias or a second device on another VNI does not pass."""
    def observe(lab) -> Outcome:
        if not lab.ping(sender, target, tries=1):
            return Outcome(False, f"{sender} -> {target}: no answer")
        seen = lab.first_packet(listener, "eth0", ECHO_IN_VXLAN, sender, f"ping -n -c1 -W1 {target}")
        text_ = " ".join(seen.split())
        m = re.search(r"vni (\d+)", text_)
        inner = re.search(rf"> {re.escape(target)}: ICMP echo request", text_)
        if not m:
            return Outcome(False, f"{listener} eth0: no VXLAN packet on UDP 4789 carried the echo request to {target}")
        ok = int(m.group(1)) == vni and bool(inner)
        return Outcome(ok, f"{listener} eth0: VXLAN vni {m.group(1)}" + (f", inner echo request to {target}" if inner
                                                                         else ", not the echo request to " + target))
    return Criterion(text(f"{sender}'s ping to {target} is answered and {listener}'s underlay carries it in VNI {vni} "
                          "(capture)", f"{sender} 到 {target} 的 ping 有应答，且 {listener} 的底层网络上抓到它，VNI 为 {vni}（抓包）"),
                     observe)


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


def _p2p_links(lab, vni: int, name: str = "vxlan20", port: int = 4789, addresses: bool = True) -> None:
    for host, peer, overlay in (("host1", "172.16.1.12", "10.0.136.11"), ("host2", "172.16.1.11", "10.0.136.12")):
        lab.sh(host, f"ip link add {name} type vxlan id {vni} remote {peer} dstport {port} dev eth0 && "
                     + (f"ip addr add {overlay}/24 dev {name} && " if addresses else "") + f"ip link set {name} up")


def _p2p_decoy(lab) -> None:
    """vxlan20 (VNI 20) up but unused; the overlay addresses on vxlan21, VNI 21: pings work, on the wrong VNI."""
    _p2p_links(lab, 20, addresses=False)
    _p2p_links(lab, 21, name="vxlan21")


def _p2p_alias(lab) -> None:
    """vxlan20 up, and each host holds the other's overlay address on lo: pings answered locally."""
    _p2p_links(lab, 20, addresses=False)
    lab.sh("host1", "ip addr add 10.0.136.12/32 dev lo")
    lab.sh("host2", "ip addr add 10.0.136.11/32 dev lo")


def _docker_links(lab, vni: int, name: str = "vxlan100", peers=("172.16.1.12", "172.16.1.11")) -> None:
    for host, peer in zip(("host1", "host2"), peers, strict=True):
        lab.sh(host, f"ip link add {name} type vxlan id {vni} remote {peer} dstport 4789 dev eth0 && "
                     f"ip link set {name} master br0 && ip link set {name} up")


def _docker_decoy(lab) -> None:
    """vxlan100 (VNI 100) in br0 pointing nowhere; vxlan101 (VNI 101) in br0 carries the traffic."""
    _docker_links(lab, 100, peers=("172.16.1.99", "172.16.1.98"))
    _docker_links(lab, 101, name="vxlan101")


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
                  _ping_ip("host2", "10.0.136.11", "host2 pings 10.0.136.11 over vxlan20", "host2 经 vxlan20 ping 通 10.0.136.11"),
                  _vni_on_wire("host2", "host1", "10.0.136.12", 20), _vni_on_wire("host1", "host2", "10.0.136.11", 20)),
        setup=_p2p_setup, solve=_p2p_solve,
        wrong_fixes=(WrongFix("decoy-vxlan20-traffic-on-vni-21", _p2p_decoy),
                     WrongFix("vni-21-both-ends", lambda lab: _p2p_links(lab, 21)),
                     WrongFix("linux-default-port-8472", lambda lab: _p2p_links(lab, 20, port=8472)),
                     WrongFix("local-aliases", _p2p_alias)),
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
                  _ping_ip("c1", "172.20.0.3", "c1 pings c2 (172.20.0.3)", "c1 ping 通 c2（172.20.0.3）"),
                  _vni_on_wire("host2", "c1", "172.20.0.3", 100)),
        setup=_docker_setup, solve=_docker_solve,
        wrong_fixes=(WrongFix("decoy-vxlan100-traffic-on-vni-101", _docker_decoy),
                     WrongFix("vni-101-both-ends", lambda lab: _docker_links(lab, 101)),
                     WrongFix("vxlan100-not-in-br0", lambda lab: [lab.sh(h, f"ip link add vxlan100 type vxlan id 100 "
                                                                         f"remote {p} dstport 4789 dev eth0 && ip link "
                                                                         "set vxlan100 up") for h, p in
                                                                  (("host1", "172.16.1.12"), ("host2", "172.16.1.11"))])),
    ),
]
