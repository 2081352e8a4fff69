"""The CLI's `trace` line: a pod's packet to a pod, node, external host or address (lab.planes.openshift.observe.trace),
or to a service past kube-proxy's DNAT (lab.planes.openshift.observe.service_trace), printed with why it dropped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from lab.errors import BadInput, LabError
from lab.planes.openshift.model import Cluster
from lab.planes.openshift.observe import service_trace
from lab.planes.openshift.observe.explain import explain_drop
from lab.planes.openshift.observe.trace import (
    DEFAULT_DST_PORT,
    PROTOCOLS,
    format_trace,
    own_address_note,
    resolve,
    trace_pod,
)

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
    service = service_trace.find_service(cluster, dst_ip)
    if service is not None and req.proto in ("tcp", "udp"):  # follow it past kube-proxy's DNAT
        trace = service_trace.trace_request if req.request else service_trace.trace_service
        st = trace(net, cluster, pod.host, service, req.dst_port, req.proto)
        return service_trace.format_service_trace(st, cluster, req.verbose)
    if req.request:
        raise BadInput(f"trace: --request follows a request to a service; {req.dst} is none")
    hops = trace_pod(net, cluster, req.src, req.dst, req.proto, req.dst_port)
    text = format_trace(hops, req.verbose)
    note = explain_drop(cluster, hops[-1][1], tun_id=pod.vnid) if hops else ""
    return text + (f"\n  {note}" if note else "")
