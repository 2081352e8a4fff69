"""The desired state of an openshift-sdn 3.11 node, of a pod and of the external host, as data (pure).

What SetupOVS and the node's pod setup leave on a real node: br0 with vxlan0 (port 1), tun0 (port 2)
and a veth per pod, the flows, tun0's address and routes, ip_forward and the OPENSHIFT-* chains;
on the userspace datapath also the br-phy bridge that carries the node's underlay address.
"""

from __future__ import annotations

import ipaddress
from typing import List

from lab.daemons import ovs
from lab.planes.openshift.master.egress import local_egress_ips
from lab.planes.openshift.model import Cluster, Pod
from lab.planes.openshift.node import egress
from lab.planes.openshift.node.flows import TUN0_OFPORT, VXLAN_OFPORT, render_node_flows
from lab.planes.openshift.node.iptables import render_node_iptables
from lab.planes.openshift.node.kubeproxy import render_cluster_services
from lab.state import (
    Address,
    Flow,
    Iptables,
    Item,
    Link,
    NodeState,
    OvsBridge,
    OvsFrags,
    OvsPort,
    OvsTunnelNeighbour,
    Route,
    Sysctl,
)

BRIDGE = "br0"
MULTICAST = "224.0.0.0/4"


def pod_port(pod: Pod) -> OvsPort:
    """The pod's veth on br0, with the ofport and external-ids the CNI plugin sets."""
    return OvsPort(BRIDGE, pod.veth, (("ofport_request", str(pod.ofport)), ("external-ids:ip", pod.ip),
                                      ("external-ids:sandbox", pod.name)))


def render_node(cluster: Cluster, node_name: str, datapath: str) -> NodeState:
    cn = cluster.network
    hs = cluster.hostsubnet(node_name)
    userspace = datapath != "system"
    under_len = ipaddress.ip_network(cluster.underlay).prefixlen
    prefix = ipaddress.ip_network(hs.subnet).prefixlen
    mac = ovs.underlay_mac(hs.host_ip)
    pods = cluster.pods_on(node_name)
    items: List[Item] = [Sysctl("net.ipv4.ip_forward", "1"), Link("lo")]
    if userspace:  # userspace tunnelling needs the node IP on an OVS bridge that holds eth0
        items += [OvsBridge(ovs.UNDERLAY_BRIDGE, (("datapath_type", "netdev"), ("other_config:hwaddr", mac))),
                  OvsPort(ovs.UNDERLAY_BRIDGE, "eth0")]
    items += [
        OvsBridge(BRIDGE, (("datapath_type", datapath), ("fail_mode", "secure"), ("protocols", "OpenFlow13"))),
        OvsPort(BRIDGE, "vxlan0", (("type", "vxlan"), ("options:remote_ip", "flow"), ("options:key", "flow"),
                                   ("options:dst_port", str(cn.vxlan_port)), ("ofport_request", str(VXLAN_OFPORT)))),
        OvsPort(BRIDGE, "tun0", (("type", "internal"), ("ofport_request", str(TUN0_OFPORT)),
                                 ("mtu_request", str(cn.mtu)))),
    ]
    items += [pod_port(p) for p in pods]
    items.append(OvsFrags(BRIDGE, "nx-match"))
    # the kernel datapath keeps the address on eth0, with a stable MAC; userspace puts both on br-phy
    items.append(Link("eth0", mac="" if userspace else mac))
    items += [Link(p.veth) for p in pods]  # (ordered by rank: up before OVS opens them)
    # tun0 and br-phy are TAP devices on the userspace datapath: a kernel stack transmits into OVS there
    # a stable MAC (a real tun0's is random): the egress IP flow names it (lab.planes.openshift.node.egress.tun0_mac)
    items.append(Link("tun0", mac=egress.tun0_mac(hs), mtu=cn.mtu, tx_checksum=not userspace, ovs_internal=True))
    if userspace:
        items.append(Link(ovs.UNDERLAY_BRIDGE, tx_checksum=False, ovs_internal=True))
    items += [
        Address(f"{hs.host_ip}/{under_len}", ovs.underlay_device(datapath, "eth0")),
        # noprefixroute: openshift-sdn deletes the local-subnet route tun0's address would add
        Address(f"{hs.gateway}/{prefix}", "tun0", "noprefixroute"),
    ]
    # the egress IPs this node holds: more addresses of the interface with the node IP (its prefix length)
    local_egress = local_egress_ips(cluster, node_name)
    items += [Address(f"{ip}/{under_len}", ovs.underlay_device(datapath, "eth0")) for ip, _vnid in local_egress]
    if userspace:
        # eth0 (now an OVS port) would still answer ARP for the node IP with its own MAC, and the
        # kernel stack would swallow what is meant for the tunnel: only br-phy may answer
        items.append(Sysctl("net.ipv4.conf.eth0.arp_ignore", "8"))
        # likewise the node-side pod veths: else a pod may learn a veth's MAC for its gateway and the node's
        # kernel routes its traffic straight from the veth, bypassing br0's tables and tun0
        items += [Sysctl(f"net.ipv4.conf.{p.veth}.arp_ignore", "8") for p in pods]
        items += [OvsTunnelNeighbour(ovs.UNDERLAY_BRIDGE, r.host_ip, ovs.underlay_mac(r.host_ip))
                  for r in cluster.remote_hostsubnets(node_name)]
    items += [Route(cn.cidr, dev="tun0", scope="link"), Route(cn.service_network, dev="tun0")]
    items += [Flow(BRIDGE, f) for f in render_node_flows(cluster, node_name, datapath=datapath)]
    items.append(Iptables(render_node_iptables(cn, render_cluster_services(cluster), userspace=userspace,
                                               egress=egress.egress_iptables(cluster, node_name))))
    if userspace and cluster.netids:  # the VNID plugins: pkt_mark's carrier into the kernel (lab.planes.openshift.node.egress)
        items.append(Iptables(egress.carrier_iptables(cluster, node_name), name="egress-mark"))
    return NodeState(tuple(items))


def render_pod(cluster: Cluster, pod_name: str, datapath: str) -> NodeState:
    """The pod's side: eth0 (a veth whose peer goes into the node), its address and routes."""
    pod = cluster.pod(pod_name)
    hs = cluster.hostsubnet(pod.node)
    cn = cluster.network
    prefix = ipaddress.ip_network(hs.subnet).prefixlen
    return NodeState((
        Link("eth0", kind="veth", peer=pod.veth, peer_host=pod.node, mac=pod.mac, mtu=cn.mtu,
             tx_checksum=datapath == "system"),
        Link("lo"),
        Address(f"{pod.ip}/{prefix}", "eth0"),
        Route("default", via=hs.gateway),
        Route(cn.cidr, dev="eth0"),
        Route(MULTICAST, dev="eth0"),
    ))


def render_external(cluster: Cluster, datapath: str) -> NodeState:
    """The external host: its underlay address (its eth0 is made by the underlay wiring)."""
    assert cluster.external is not None  # build_cluster gives every lab cluster its external host
    under_len = ipaddress.ip_network(cluster.underlay).prefixlen
    return NodeState((Link("lo"), Link("eth0", tx_checksum=datapath == "system"),
                      Address(f"{cluster.external.ip}/{under_len}", "eth0")))
