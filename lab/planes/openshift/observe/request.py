"""Ask a service (or a pod, or a node's NodePort) from a lab host by name, as a client in the cluster would,
and say which pod answered: `request pod1 web.shop:80`.

A target is HOST:PORT where HOST is a service (`web` in default, `web.shop` as cluster DNS names it, or
`shop/web`), a pod, a node (its underlay address: NodePorts), the external host, or an IPv4 address.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass
from typing import List

from lab.errors import BadInput, LabError
from lab.observe.request import REQUEST_USAGE, Answer, requests, split_target


def resolve_host(cluster, name: str) -> str:
    """A service, pod, node or external host name (or an address) -> the address a client sends to."""
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    try:  # a pod first, as trace does (a pod's host name can be `name.namespace` too)
        return cluster.pod(name).ip
    except KeyError:
        pass
    candidates = [name]
    if "/" not in name and name.count(".") == 1:  # web.shop: cluster DNS's <service>.<namespace>
        svc, ns = name.split(".")
        candidates.append(f"{ns}/{svc}")
    for key in candidates:
        try:
            return cluster.service(key).cluster_ip
        except KeyError:
            pass
    for hs in cluster.hostsubnets:
        if hs.name == name:
            return hs.host_ip
    if cluster.external and cluster.external.name == name:
        return cluster.external.ip
    raise LabError(f"request: unknown target {name!r}: give a service (name, name.namespace or namespace/name), "
                   "a pod, a node, the external host or an IPv4 address")


def request(net, cluster, src: str, target: str, proto: str = "tcp", timeout: float = 2.0) -> Answer:
    """One request from lab host `src` to `target` (HOST:PORT): which pod answered, or why none did."""
    return request_many(net, cluster, src, target, proto, 1, timeout)[0]


def request_many(net, cluster, src: str, target: str, proto: str = "tcp", count: int = 1,
                 timeout: float = 2.0) -> List[Answer]:
    """`count` requests, each on a new connection (kube-proxy picks an endpoint per connection)."""
    host, port = split_target(target)
    if src not in net:
        raise LabError(f"request: unknown host {src!r}")
    return requests(net[src], resolve_host(cluster, host), port, proto, count, timeout)


@dataclass(frozen=True)
class RequestLine:
    src: str
    target: str
    proto: str = "tcp"
    count: int = 1
    timeout: float = 2.0


def parse_request_args(line: str) -> RequestLine:
    words = line.split()
    count, timeout, rest = 1, 2.0, []
    i = 0
    while i < len(words):
        if words[i] in ("-c", "-t"):
            if i + 1 == len(words):
                raise BadInput(f"request: {words[i]} needs a value ({REQUEST_USAGE})")
            try:
                value = float(words[i + 1])
            except ValueError:
                raise BadInput(f"request: {words[i]} takes a number, not {words[i + 1]!r}") from None
            if words[i] == "-c":
                count = int(value)
                if not 1 <= count <= 1000 or count != value:
                    raise BadInput(f"request: -c is a count 1..1000, not {words[i + 1]!r}")
            else:
                timeout = value
                if not 0 < timeout <= 60:
                    raise BadInput(f"request: -t is seconds, more than 0 and at most 60, not {words[i + 1]!r}")
            i += 2
            continue
        rest.append(words[i])
        i += 1
    if len(rest) not in (2, 3):
        raise BadInput(REQUEST_USAGE)
    proto = rest[2].lower() if len(rest) == 3 else "tcp"
    if proto not in ("tcp", "udp"):
        raise BadInput(f"request: protocol is tcp or udp, not {rest[2]!r}")
    split_target(rest[1])  # the port is checked before anything is sent
    return RequestLine(rest[0], rest[1], proto, count, timeout)


def describe(answer: Answer) -> str:
    if answer.ok:
        return f"{answer.pod} (it saw the client as {answer.client})" if answer.client else answer.pod
    return answer.error


def request_command(net, cluster, line: str) -> str:
    """The CLI's `request` line -> what it prints: the answering pod, or a tally over -c requests."""
    req = parse_request_args(line)
    answers = request_many(net, cluster, req.src, req.target, req.proto, req.count, req.timeout)
    if req.count == 1:
        return describe(answers[0])
    tally = Counter(a.pod if a.ok else a.error for a in answers)
    return "\n".join(f"{n:>4} {who}" for who, n in sorted(tally.items(), key=lambda kv: (-kv[1], kv[0])))
