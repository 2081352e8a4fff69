"""Follow a packet from a pod through br0 of its node and, over VXLAN, through the remote nodes
(lab.planes.openshift.observe.follow), and print the hops."""

from __future__ import annotations

import ipaddress
from typing import Dict, Optional, Tuple

from lab.errors import BadInput, LabError
from lab.planes.openshift.model import Cluster
from lab.planes.openshift.observe.follow import Hops, follow_vxlan
from lab.shell import run


def resolve(net, cluster: Cluster, target: str) -> Tuple[str, Optional[str]]:
    """A lab name or an address -> (IP, MAC the pod would put in dl_dst if it is a pod)."""
    try:
        return cluster.pod(target).ip, cluster.pod(target).mac
    except KeyError:
        pass
    for hs in cluster.hostsubnets:
        if target == hs.name:
            return hs.host_ip, None
    # a service by name (`web` in default, `namespace/name`, or `name.namespace` as cluster DNS has it):
    # its ClusterIP, reached via the gateway
    for key in [target] + ([".".join(target.split(".")[::-1]).replace(".", "/")] if target.count(".") == 1 else []):
        try:
            return cluster.service(key).cluster_ip, None
        except KeyError:
            pass
    if cluster.external and target == cluster.external.name:
        return cluster.external.ip, None
    try:
        ip = str(ipaddress.ip_address(target))
    except ValueError:
        raise LabError(f"unknown destination {target!r}: give a pod, node, external host or IPv4 address") from None
    for p in cluster.pods:
        if p.ip == ip:
            return p.ip, p.mac
    return ip, None


PROTOCOLS = ("icmp", "udp", "tcp")
DEFAULT_DST_PORT = {"udp": 33434, "tcp": 80}  # traceroute's first UDP port; HTTP
SRC_PORT = 40000  # an ephemeral port, as the pod's kernel would pick


def packet_fields(src_ip: str, src_mac: str, dst_ip: str, dst_mac: str, proto: str = "icmp",
                  dst_port: Optional[int] = None, src_port: int = SRC_PORT) -> str:
    """An exact flow for ofproto/trace. L4 ports need the protocol's own fields (udp_src, tcp_dst):
    OVS's generic tp_src is an alias of tcp_src, so `udp,tp_src=...` fails its prerequisites."""
    if proto not in PROTOCOLS:
        raise BadInput(f"unknown protocol {proto!r} (known: {', '.join(PROTOCOLS)})")
    l4 = ""
    if proto == "icmp":
        l4 = ",icmp_type=8,icmp_code=0"  # an echo request, as ping sends
    else:
        dst_port = DEFAULT_DST_PORT[proto] if dst_port is None else dst_port
        l4 = f",{proto}_src={src_port},{proto}_dst={dst_port}"
    return f"{proto},dl_src={src_mac},dl_dst={dst_mac},nw_src={src_ip},nw_dst={dst_ip},nw_ttl=64{l4}"


def own_address_note(pod_name: str, pod_ip: str, dst_ip: str) -> Optional[str]:
    """A pod's packets to its own address never reach br0: the kernel delivers them over the pod's loopback."""
    if dst_ip != pod_ip:
        return None
    return (f"{pod_name} -> {dst_ip} is {pod_name}'s own address: its kernel delivers it over its own "
            "loopback (the local route table), so the packet never leaves the pod and br0 sees nothing")


def underlay_ips(cluster: Cluster) -> Dict[str, str]:
    """Node name -> its underlay address (HostSubnet.hostIP): where the follower's tunnels lead."""
    return {hs.name: hs.host_ip for hs in cluster.hostsubnets}


def trace_pod(net, cluster: Cluster, pod_name: str, target: str, proto: str = "icmp",
              dst_port: Optional[int] = None) -> Hops:
    """[(node, trace)]: the source node's trace, then each node the packet is tunnelled to.
    A trace to the pod's own address has no hops (see own_address_note)."""
    try:
        pod = cluster.pod(pod_name)
    except KeyError:
        raise LabError(f"unknown pod {pod_name!r}") from None
    dst_ip, dst_mac = resolve(net, cluster, target)
    if own_address_note(pod.name, pod.ip, dst_ip):
        return []
    if dst_mac is None:  # off-cluster or node destinations are routed: the pod sends to its gateway
        dst_mac = run(net[pod.node], "cat /sys/class/net/tun0/address").strip()
    pkt = packet_fields(pod.ip, pod.mac, dst_ip, dst_mac, proto, dst_port)
    return follow_vxlan(lambda name: net[name], underlay_ips(cluster), pod.node, pkt, pod.ofport)


def format_trace(hops: Hops, verbose: bool = False) -> str:
    lines = []
    for node, trace in hops:
        lines.append(f"{node}: {trace.summary()}")
        if verbose:
            for step in trace.steps:
                lines.append(f"  {step.table:>3}. {step.match or '(any)'}, priority {step.priority}"
                             + (f", cookie {step.cookie}" if step.cookie else ""))
                lines.extend(f"       {a}" for a in step.actions)
    return "\n".join(lines)
