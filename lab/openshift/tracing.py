"""Follow a packet from a pod through br0 of its node and, over VXLAN, through the remote node."""

from __future__ import annotations

import ipaddress
from typing import List, Optional, Tuple

from lab.errors import LabError
from lab.observe.trace import Trace, ofproto_trace
from lab.openshift.model import Cluster
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


def packet_fields(src_ip: str, src_mac: str, dst_ip: str, dst_mac: str, proto: str = "icmp") -> str:
    ports = ",tp_src=33434,tp_dst=33434" if proto in ("udp", "tcp") else ""
    return f"{proto},dl_src={src_mac},dl_dst={dst_mac},nw_src={src_ip},nw_dst={dst_ip},nw_ttl=64{ports}"


def trace_pod(net, cluster: Cluster, pod_name: str, target: str, proto: str = "icmp") -> List[Tuple[str, Trace]]:
    """[(node, trace)]: the source node's trace, then the remote node's if the packet was tunnelled."""
    try:
        pod = cluster.pod(pod_name)
    except KeyError:
        raise LabError(f"unknown pod {pod_name!r}") from None
    dst_ip, dst_mac = resolve(net, cluster, target)
    node = net[pod.node]
    if dst_mac is None:  # off-cluster or node destinations are routed: the pod sends to its gateway
        dst_mac = run(node, "cat /sys/class/net/tun0/address").strip()
    pkt = packet_fields(pod.ip, pod.mac, dst_ip, dst_mac, proto)
    first = ofproto_trace(node, f"in_port={pod.ofport},{pkt}")
    hops = [(pod.node, first)]
    if first.tun_dst:
        remote = next((hs for hs in cluster.hostsubnets if hs.host_ip == first.tun_dst), None)
        if remote is not None:
            vnid = pod.vnid
            src_ip = cluster.hostsubnet(pod.node).host_ip
            hops.append((remote.name, ofproto_trace(
                net[remote.name], f"in_port=1,tun_src={src_ip},tun_dst={remote.host_ip},tun_id={vnid},{pkt}")))
    return hops


def format_trace(hops: List[Tuple[str, Trace]], verbose: bool = False) -> str:
    lines = []
    for node, trace in hops:
        lines.append(f"{node}: {trace.summary()}")
        if verbose:
            for step in trace.steps:
                lines.append(f"  {step.table:>3}. {step.match or '(any)'}, priority {step.priority}"
                             + (f", cookie {step.cookie}" if step.cookie else ""))
                lines.extend(f"       {a}" for a in step.actions)
    return "\n".join(lines)
