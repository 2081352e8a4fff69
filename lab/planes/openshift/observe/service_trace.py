"""Follow a pod's packet to a Service: br0 of the pod's node up to tun0, kube-proxy's DNAT in that node's
kernel, then the DNATed packet back out of tun0, through br0 and over the tunnel to the endpoint's node.

iptables picks an endpoint at random (the statistic match), so the trace follows every endpoint, or
only the one a real request took (read from the node's conntrack table, see lab.observe.conntrack).
The kernel's part is read from the render (kube-proxy's chain names, OPENSHIFT-MASQUERADE), the switch's
part from ofproto/trace on the real bridges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from lab.errors import LabError
from lab.observe.trace import ofproto_trace
from lab.planes.openshift.api.objects import EndpointAddress, Pod, Service, ServicePort
from lab.planes.openshift.model import Cluster
from lab.planes.openshift.node.flows import TUN0_OFPORT
from lab.planes.openshift.node.iptables import masquerades_services
from lab.planes.openshift.node.kubeproxy import sep_chain, service_port_name, svc_chain
from lab.planes.openshift.observe.explain import explain_drop
from lab.planes.openshift.observe.follow import Hops, follow_vxlan
from lab.planes.openshift.observe.trace import SRC_PORT, format_trace, packet_fields, trace_pod, underlay_ips
from lab.shell import run


@dataclass
class EndpointPath:
    """One endpoint's way: the DNAT, the source the packet leaves tun0 with, and the switches it crosses."""

    endpoint: EndpointAddress
    chain: str  # KUBE-SEP-...
    source: str  # the packet's source address after POSTROUTING
    nat_note: str  # which POSTROUTING rule decided that source
    hops: Hops = field(default_factory=list)
    drop_note: str = ""


@dataclass
class ServiceTrace:
    pod: Pod
    service: Service
    port: Optional[ServicePort]
    to_tun0: Hops  # the pod's node, from the pod's port to tun0 (or a drop)
    chain: str = ""  # KUBE-SVC-... ("" without endpoints)
    paths: List[EndpointPath] = field(default_factory=list)
    note: str = ""  # why the trace stops in the kernel (no endpoints, no such port), or how an endpoint was chosen
    drop_note: str = ""  # a drop before tun0, explained
    back_out: Hops = field(default_factory=list)  # without a DNAT: the packet as the kernel sends it back to br0

    @property
    def reached_tun0(self) -> bool:
        return bool(self.to_tun0) and self.to_tun0[-1][1].output_port == TUN0_OFPORT


def find_service(cluster: Cluster, ip: str) -> Optional[Service]:
    return next((s for s in cluster.services if s.cluster_ip == ip), None)


def find_port(service: Service, port: int, proto: str) -> Optional[ServicePort]:
    return next((sp for sp in service.ports if sp.port == port and sp.protocol.lower() == proto), None)


def source_after_nat(cluster: Cluster, pod: Pod, endpoint: EndpointAddress, datapath: str = "system") -> Tuple[str, str]:
    """(source address, why) as the node's POSTROUTING leaves a pod's DNATed packet (it leaves by tun0)."""
    gateway = cluster.hostsubnet(pod.node).gateway
    if masquerades_services(cluster.network):
        return gateway, f"OPENSHIFT-MASQUERADE: MASQUERADE to {gateway} (tun0)"
    if datapath != "system":
        return gateway, (f"OPENSHIFT-MASQUERADE-2: the lab's userspace-datapath rule, MASQUERADE to {gateway} "
                         "(3.11 keeps the pod's source: README, services on the networkpolicy plugin)")
    if pod.ip == endpoint.ip:  # the KUBE-SEP chain's `-s <endpoint> -j KUBE-MARK-MASQ`: hairpin
        return gateway, f"hairpin: KUBE-MARK-MASQ, KUBE-POSTROUTING MASQUERADE to {gateway}"
    return pod.ip, "OPENSHIFT-MASQUERADE-2: RETURN (destination inside the cluster network), source kept"


def trace_endpoint(net, cluster: Cluster, pod: Pod, service: Service, port: ServicePort,
                   endpoint: EndpointAddress) -> EndpointPath:
    source, nat_note = source_after_nat(cluster, pod, endpoint, net.datapath)
    node = net[pod.node]
    tun0_mac = run(node, "cat /sys/class/net/tun0/address").strip()
    target = cluster.pod(endpoint.pod)
    # the node's kernel resolves the endpoint over tun0 (10.128.0.0/14 dev tun0): the pod's own MAC
    packet = packet_fields(source, tun0_mac, endpoint.ip, target.mac, port.protocol.lower(), endpoint.port, SRC_PORT)
    hops = follow_vxlan(lambda name: net[name], underlay_ips(cluster), pod.node, packet, TUN0_OFPORT)
    first = hops[0][1]
    path = EndpointPath(endpoint, sep_chain(service, port, endpoint), source, nat_note, hops)
    path.drop_note = explain_drop(cluster, hops[-1][1], tun_id=first.tun_id or 0)
    return path


def trace_back_out(net, cluster: Cluster, pod: Pod, dst_ip: str, proto: str, dst_port: int) -> Hops:
    """A packet the node's kernel did not DNAT, forwarded from tun0 back into br0. Its destination (a
    ClusterIP) is outside the cluster network, so every plugin masquerades it (networkpolicy in
    OPENSHIFT-MASQUERADE-2)."""
    node = net[pod.node]
    tun0_mac = run(node, "cat /sys/class/net/tun0/address").strip()
    source = cluster.hostsubnet(pod.node).gateway
    packet = packet_fields(source, tun0_mac, dst_ip, tun0_mac, proto, dst_port, SRC_PORT)
    return [(pod.node, ofproto_trace(node, f"in_port={TUN0_OFPORT},{packet}"))]


def trace_service(net, cluster: Cluster, pod_name: str, service: Service, port_number: int, proto: str = "tcp",
                  endpoints: Optional[Sequence[EndpointAddress]] = None) -> ServiceTrace:
    """A pod's packet to service:port, then after the DNAT to each endpoint (or to `endpoints` only)."""
    try:
        pod = cluster.pod(pod_name)
    except KeyError:
        raise LabError(f"unknown pod {pod_name!r}") from None
    port = find_port(service, port_number, proto)
    hops = trace_pod(net, cluster, pod.host, service.cluster_ip, proto, port_number)
    st = ServiceTrace(pod, service, port, hops)
    if not st.reached_tun0:
        st.drop_note = explain_drop(cluster, hops[-1][1]) if hops else ""
        return st
    all_eps = cluster.endpoints(service).get(port, []) if port else []
    if not all_eps:
        st.note = (f"{service.key} has no {proto} port {port_number}: no kube-proxy rule matches" if port is None else
                   f'KUBE-SERVICES: "{service_port_name(service, port)} has no endpoints": REJECT, but only in '
                   "filter OUTPUT (the node's own packets)")
        st.note += "; the pod's packet is forwarded back out of tun0 without a DNAT"
        st.back_out = trace_back_out(net, cluster, pod, service.cluster_ip, proto, port_number)
        return st
    st.chain = svc_chain(service, port)
    chosen = list(all_eps) if endpoints is None else list(endpoints)
    st.paths = [trace_endpoint(net, cluster, pod, service, port, ep) for ep in chosen]
    return st


def trace_request(net, cluster: Cluster, pod_name: str, service: Service, port_number: int,
                  proto: str = "tcp") -> ServiceTrace:
    """Send one request from the pod, read the node's conntrack entry for it, and trace the endpoint the
    DNAT chose (answered or not: a dropped request still has its entry, marked unreplied)."""
    from lab.observe.conntrack import find_connection
    from lab.observe.request import request
    pod = cluster.pod(pod_name)
    answer = request(net[pod.host], service.cluster_ip, port_number, proto, timeout=1.0)
    port = find_port(service, port_number, proto)
    sport = int(answer.local.rpartition(":")[2] or 0)
    conn = find_connection(net[pod.node], proto, pod.ip, sport, service.cluster_ip, port_number)
    chosen = [ep for ep in (cluster.endpoints(service).get(port, []) if port else [])
              if conn is not None and conn.dnat and (ep.ip, ep.port) == (conn.reply_src, conn.reply_sport)]
    st = trace_service(net, cluster, pod.host, service, port_number, proto, endpoints=chosen)
    said = f"answered by {answer.pod}" if answer.ok else answer.error
    seen = ""
    if conn is None:
        seen = f"the request ({said}) left no conntrack entry on {pod.node}"
    elif conn.dnat:
        seen = (f"the request from {pod.ip}:{sport} ({said}): conntrack on {pod.node} shows DNAT to "
                f"{conn.reply_src}:{conn.reply_sport}, the endpoint answers {conn.reply_dst}"
                + ("" if conn.replied else " [UNREPLIED]"))
    st.note = "; ".join(n for n in (st.note, seen) if n)
    return st


def format_service_trace(st: ServiceTrace, cluster: Cluster, verbose: bool = False) -> str:
    lines = [format_trace(st.to_tun0, verbose)]
    if st.drop_note:
        lines.append(f"  {st.drop_note}")
    if not st.reached_tun0:
        return "\n".join(lines)
    node = st.pod.node
    svc = f"{st.service.key}:{st.port.name}" if st.port else st.service.key
    if st.note and not st.paths:
        lines.append(f"{node} kernel: {st.note}")
        for hop_node, trace in st.back_out:
            end = " (output:2 is its in_port: OpenFlow never outputs there)" \
                if trace.dropped and trace.tables[-1:] == [60] else ""
            lines.append(f"{hop_node} (from tun0): {trace.summary()}{end}")
        return "\n".join(lines)
    n = len(cluster.endpoints(st.service).get(st.port, []))
    spread = f"{n} endpoints, one picked at random" if n > 1 else "1 endpoint"
    lines.append(f"{node} kernel: KUBE-SERVICES {svc} cluster IP {st.service.cluster_ip}:{st.port.port} -> "
                 f"{st.chain} ({spread})")
    if st.note:
        lines.append(f"  {st.note}")
    for path in st.paths:
        ep = path.endpoint
        lines.append(f"  {path.chain} DNAT to {ep.ip}:{ep.port} ({ep.pod} on {ep.node}); "
                     f"source {path.source}: {path.nat_note}")
        lines.extend("    " + line for line in format_trace(path.hops, verbose).splitlines())
        if path.drop_note:
            lines.append(f"      {path.drop_note}")
    return "\n".join(lines)
