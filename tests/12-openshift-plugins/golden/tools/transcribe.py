#!/usr/bin/env python3
"""Transcription of openshift-sdn 3.11's flow-writing Go functions into OVS 3.1 dump form.

Written by hand from origin release-3.11 (d8e072147f8a, fork poc-ocp-upgrades/origin) files
pkg/network/node/{ovscontroller.go, singletenant.go, multitenant.go, networkpolicy.go, node.go, pod.go}.
It does NOT import or read anything of sdnlab's lab/ package. Each function below names the Go function it
transcribes; the Go format string is quoted in a comment and the string returned is the form
`ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0` prints for it (OVS normalisation done by hand:
canonical field order, arp nw_src/nw_dst -> arp_spa/arp_tpa, tcp_dst/udp_dst -> tp_dst, ip_frag -> nw_frag,
/32 dropped, load:%d -> load:%#x (0 stays 0), no `table=0, `, no `cookie=0x0, `, priority 32768 omitted,
ct(nat,table=70) -> ct(table=70,nat)).
"""
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

SUBNET, MULTITENANT, NETWORKPOLICY = 0, 1, 2
RULE_VERSION = 7


def hx(v: int) -> str:
    """OVS prints load values and register matches as %#x (0 as 0)."""
    return "0" if v == 0 else hex(v)


def line(table: int, prio: Optional[int], match: str, actions: str, cookie: int = 0) -> str:
    head = f"cookie={hex(cookie)}, " if cookie else ""
    head += f"table={table}, " if table else ""
    body = ",".join(x for x in ([f"priority={prio}"] if prio is not None else []) + ([match] if match else []))
    return f"{head}{body} actions={actions}" if body else f"{head}actions={actions}"


@dataclass
class Node:
    plugin: int
    cluster: str           # ClusterNetwork CIDR
    service: str           # service network CIDR
    subnet: str            # local HostSubnet
    gw: str                # GenerateDefaultGateway: first address
    local_ip: str          # HostSubnet.HostIP
    vxlan_port: int = 4789
    remotes: List[Tuple[str, str, int]] = field(default_factory=list)  # (hostIP, subnet, cookie)

    @property
    def conntrack(self) -> bool:
        return self.plugin == NETWORKPOLICY


def setup_ovs(n: Node) -> List[str]:
    """ovscontroller.go SetupOVS (release-3.11, with the VXLAN-drop flow of origin #21376)."""
    c, ls, gw = n.cluster, n.subnet, n.gw
    f = []
    if n.conntrack:
        f.append(line(0, 300, "ct_state=-trk,ip", "ct(table=0)"))  # "table=0, priority=300, ip, ct_state=-trk, actions=ct(table=0)"
    mv = "move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],goto_table:10"
    f.append(line(0, 200, f"arp,in_port=1,arp_spa={c},arp_tpa={ls}", mv))
    f.append(line(0, 200, f"ip,in_port=1,nw_src={c}", mv))
    f.append(line(0, 200, f"ip,in_port=1,nw_dst={c}", mv))
    f.append(line(0, 150, "in_port=1", "drop"))
    if n.conntrack:
        f.append(line(0, 400, f"ip,in_port=2,nw_src={gw}", "goto_table:30"))
        f.append(line(0, 300, f"ip,in_port=2,nw_src={ls},nw_dst={c}", "goto_table:25"))
    f.append(line(0, 250, "ip,in_port=2,nw_dst=224.0.0.0/4", "drop"))
    f.append(line(0, 200, f"arp,in_port=2,arp_spa={gw},arp_tpa={c}", "goto_table:30"))
    f.append(line(0, 200, "ip,in_port=2", "goto_table:30"))
    f.append(line(0, 150, "in_port=2", "drop"))
    f.append(line(0, 100, "arp", "goto_table:20"))
    f.append(line(0, 100, "ip", "goto_table:20"))
    f.append(line(0, 0, "", "drop"))
    f.append(line(10, 0, "", "drop"))
    f.append(line(20, 0, "", "drop"))
    f.append(line(21, 0, "", "goto_table:30"))
    if n.conntrack:
        f.append(line(25, 0, "", "drop"))
    f.append(line(30, 300, f"arp,arp_tpa={gw}", "output:2"))
    f.append(line(30, 200, f"arp,arp_tpa={ls}", "goto_table:40"))
    f.append(line(30, 100, f"arp,arp_tpa={c}", "goto_table:50"))
    f.append(line(30, 300, f"ip,nw_dst={gw}", "output:2"))
    f.append(line(30, 100, f"ip,nw_dst={n.service}", "goto_table:60"))
    if n.conntrack:
        f.append(line(30, 300, f"ct_state=+rpl,ip,nw_dst={ls}", "ct(table=70,nat)"))
    f.append(line(30, 200, f"ip,nw_dst={ls}", "goto_table:70"))
    f.append(line(30, 100, f"ip,nw_dst={c}", "goto_table:90"))
    f.append(line(30, 50, "ip,in_port=1,nw_dst=224.0.0.0/4", "goto_table:120"))
    f.append(line(30, 25, "ip,nw_dst=224.0.0.0/4", "goto_table:110"))
    f.append(line(30, 0, "ip", "goto_table:100"))
    f.append(line(30, 0, "arp", "drop"))
    f.append(line(40, 0, "", "drop"))
    f.append(line(50, 0, "", "drop"))
    if n.conntrack:
        f.append(line(60, 200, "", "output:2"))
    else:
        f.append(line(60, 200, "reg0=0", "output:2"))
    f.append(line(60, 0, "", "drop"))
    f.append(line(70, 0, "", "drop"))
    f.append(line(80, 300, f"ip,nw_src={gw}", "output:NXM_NX_REG2[]"))  # "ip, nw_src=%s/32": /32 dropped by OVS
    f.append(line(80, 0, "", "drop"))
    f.append(line(90, 0, "", "drop"))
    f.append(line(100, 300, f"udp,tp_dst={n.vxlan_port}", "drop"))
    f.append(line(100, 200, f"tcp,nw_dst={n.local_ip},tp_dst=53", "output:2"))
    f.append(line(100, 200, f"udp,nw_dst={n.local_ip},tp_dst=53", "output:2"))
    f.append(line(100, 0, "", "goto_table:101"))
    f.append(line(101, 0, "", "output:2"))
    f.append(line(110, 0, "", "drop"))
    # table 111's initial "priority=100, actions=goto_table:120" is replaced by UpdateVXLANMulticastFlows below
    f.append(line(120, 0, "", "drop"))
    f.append(line(253, None, "", f"note:{n.plugin:02X}.{RULE_VERSION:02X}.00.00.00.00"))
    return f


def plugin_start(n: Node) -> List[str]:
    """singletenant.go / multitenant.go / networkpolicy.go Start()."""
    out = "output:NXM_NX_REG2[]"
    if n.plugin == SUBNET:
        return [line(80, 200, "", out)]
    if n.plugin == MULTITENANT:
        return [line(80, 200, "reg0=0", out), line(80, 200, "reg1=0", out)]
    return [line(21, 200, f"ip,nw_dst={n.cluster}", "ct(commit,table=30)"),
            line(80, 200, "ct_state=+rpl,ip", out)]


def host_subnet_rules(n: Node) -> List[str]:
    """AddHostSubnetRules for every remote HostSubnet (hostSubnetWatcher skips its own) + UpdateVXLANMulticastFlows."""
    f = []
    for ip, subnet, cookie in n.remotes:
        act = f"move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:{ip}->tun_dst,output:1"
        f.append(line(10, 100, f"tun_src={ip}", "goto_table:30", cookie))
        f.append(line(50, 100, f"arp,arp_tpa={subnet}", act, cookie))
        f.append(line(90, 100, f"ip,nw_dst={subnet}", act, cookie))
    acts = sorted(f"set_field:{ip}->tun_dst,output:1" for ip, _s, _c in n.remotes)
    if acts:
        f.append(line(111, 100, "", "move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31]," + ",".join(acts) + ",goto_table:120"))
    else:
        f.append(line(111, 100, "", "goto_table:120"))
    return f


def setup_pod_flows(n: Node, ofport: int, ip: str, vnid: int) -> List[str]:
    """ovscontroller.go setupPodFlows."""
    b = [int(x) for x in ip.split(".")]
    ipmac = "00:00:%02x:%02x:%02x:%02x/00:00:ff:ff:ff:ff" % tuple(b)
    f = [line(20, 100, f"arp,in_port={ofport},arp_spa={ip},arp_sha={ipmac}", f"load:{hx(vnid)}->NXM_NX_REG0[],goto_table:21"),
         line(20, 100, f"ip,in_port={ofport},nw_src={ip}", f"load:{hx(vnid)}->NXM_NX_REG0[],goto_table:21")]
    if n.conntrack:
        f.append(line(25, 100, f"ip,nw_src={ip}", f"load:{hx(vnid)}->NXM_NX_REG0[],goto_table:30"))
    f.append(line(40, 100, f"arp,arp_tpa={ip}", f"output:{ofport}"))
    f.append(line(70, 100, f"ip,nw_dst={ip}", f"load:{hx(vnid)}->NXM_NX_REG1[],load:{hx(ofport)}->NXM_NX_REG2[],goto_table:80"))
    return f


def service_rules(n: Node, cluster_ip: str, ports: List[Tuple[str, int]], netid: int) -> List[str]:
    """ovscontroller.go AddServiceRules (called only when !useConnTrack: node.go watchServices)."""
    if n.conntrack:
        return []
    act = f"load:{hx(netid)}->NXM_NX_REG1[],load:0x2->NXM_NX_REG2[],goto_table:80"
    f = [line(60, 100, f"ip,nw_dst={cluster_ip},nw_frag=later", act)]
    for proto, port in ports:
        f.append(line(60, 100, f"{proto.lower()},nw_dst={cluster_ip},tp_dst={port}", act))
    return f


def mt_ensure_vnid_rules(vnid: int) -> List[str]:
    """multitenant.go EnsureVNIDRules (vnid != 0, once per VNID)."""
    return [] if vnid == 0 else [line(80, 100, f"reg0={hx(vnid)},reg1={hx(vnid)}", "output:NXM_NX_REG2[]")]


def np_namespace_flows(vnid: int, policies: List[Tuple[Optional[List[str]], List[str]]]) -> List[str]:
    """networkpolicy.go syncNamespaceFlows for an inUse namespace. policies: (selectedIPs or None, flows), where each
    flow is the already-normalised match (the Go string "table=80, priority=150, reg1=%d, %s actions=..." with %s =
    destFlow+peerFlow+portFlow, e.g. "reg0=%d, " for podSelector {})."""
    out = "output:NXM_NX_REG2[]"
    f = []
    all_selected = False
    for selected, flows in policies:
        for m in flows:
            f.append(line(80, 150, m, out))
        if selected is None:
            all_selected = True
    if not all_selected:
        seen = set()
        for selected, _f in policies:
            for ip in selected or []:
                if ip not in seen:
                    seen.add(ip)
                    f.append(line(80, 100, f"ip,reg1={hx(vnid)},nw_dst={ip}", "drop"))
        f.append(line(80, 50, f"reg1={hx(vnid)}", out))
    return f
