"""Follow a packet from a pod through br0 of its node and, over VXLAN, through the remote node."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import List, Optional, Tuple

from lab.errors import BadInput, LabError
from lab.observe.trace import Trace, ofproto_trace
from lab.planes.openshift.model import Cluster
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
TRACE_USAGE = ("usage: trace <pod> <pod|node|ext|service|IP>[:PORT] [icmp | udp [PORT] | tcp [PORT]] [-v] "
               "[--request]")


@dataclass(frozen=True)
class TraceRequest:
    src: str
    dst: str
    proto: str = "icmp"
    dst_port: Optional[int] = None
    verbose: bool = False
    request: bool = False  # to a service: send one request, follow the endpoint its DNAT chose (conntrack)


def parse_trace_args(line: str) -> TraceRequest:
    """`pod1 pod3 udp 53 -v` -> TraceRequest; a mistake raises BadInput with the usage."""
    words = line.split()
    verbose, request = "-v" in words, "--request" in words
    words = [w for w in words if w not in ("-v", "--request")]
    if len(words) < 2 or len(words) > 4:
        raise BadInput(TRACE_USAGE)
    src, dst, rest = words[0], words[1], words[2:]
    dst, colon, dst_port = dst.rpartition(":") if ":" in dst else (dst, "", "")
    if colon:  # ClusterIP:PORT (or service:PORT): TCP unless a protocol is given, and no second port
        if len(rest) > 1:
            raise BadInput(f"trace: {words[1]} already names the port ({TRACE_USAGE})")
        proto = rest.pop(0).lower() if rest else "tcp"
        if proto not in ("tcp", "udp"):
            raise BadInput(f"trace: a port goes with tcp or udp, not {proto!r} ({TRACE_USAGE})")
        return TraceRequest(src, dst, proto, parse_port(dst_port), verbose, request)
    proto = rest.pop(0).lower() if rest else "icmp"
    if proto not in PROTOCOLS:
        raise BadInput(f"trace: protocol must be icmp, udp or tcp, not {proto!r} ({TRACE_USAGE})")
    port = None
    if rest:
        if proto == "icmp":
            raise BadInput(f"trace: icmp has no ports ({TRACE_USAGE})")
        port = parse_port(rest[0])
    elif proto in DEFAULT_DST_PORT:
        port = DEFAULT_DST_PORT[proto]
    if request:
        raise BadInput(f"trace: --request goes with a service's IP:PORT ({TRACE_USAGE})")
    return TraceRequest(src, dst, proto, port, verbose)


def parse_port(word: str) -> int:
    port = int(word) if word.isdigit() else 0
    if not 1 <= port <= 65535:
        raise BadInput(f"trace: a port is 1..65535, not {word!r}")
    return port


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


def trace_pod(net, cluster: Cluster, pod_name: str, target: str, proto: str = "icmp",
              dst_port: Optional[int] = None) -> List[Tuple[str, Trace]]:
    """[(node, trace)]: the source node's trace, then the remote node's if the packet was tunnelled.
    A trace to the pod's own address has no hops (see own_address_note)."""
    try:
        pod = cluster.pod(pod_name)
    except KeyError:
        raise LabError(f"unknown pod {pod_name!r}") from None
    dst_ip, dst_mac = resolve(net, cluster, target)
    if own_address_note(pod.name, pod.ip, dst_ip):
        return []
    node = net[pod.node]
    if dst_mac is None:  # off-cluster or node destinations are routed: the pod sends to its gateway
        dst_mac = run(node, "cat /sys/class/net/tun0/address").strip()
    pkt = packet_fields(pod.ip, pod.mac, dst_ip, dst_mac, proto, dst_port)
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


def trace_command(net, cluster: Cluster, line: str) -> str:
    """The CLI's `trace` line -> what it prints."""
    req = parse_trace_args(line)
    try:
        pod = cluster.pod(req.src)
    except KeyError:
        raise LabError(f"trace: unknown pod {req.src!r} (pods: {', '.join(p.name for p in cluster.pods)})") from None
    dst_ip = resolve(net, cluster, req.dst)[0]
    note = own_address_note(pod.name, pod.ip, dst_ip)
    if note:
        return note
    from lab.planes.openshift.observe import service_trace
    service = service_trace.find_service(cluster, dst_ip)
    if service is not None and req.proto in ("tcp", "udp"):  # follow it past kube-proxy's DNAT
        trace = service_trace.trace_request if req.request else service_trace.trace_service
        st = trace(net, cluster, pod.host, service, req.dst_port, req.proto)
        return service_trace.format_service_trace(st, cluster, req.verbose)
    if req.request:
        raise BadInput(f"trace: --request follows a request to a service; {req.dst} is none")
    hops = trace_pod(net, cluster, req.src, req.dst, req.proto, req.dst_port)
    text = format_trace(hops, req.verbose)
    note = service_trace.explain_drop(cluster, hops[-1][1], tun_id=pod.vnid) if hops else ""
    return text + (f"\n  {note}" if note else "")


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
