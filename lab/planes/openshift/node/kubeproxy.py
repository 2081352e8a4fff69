"""kube-proxy 1.11's iptables rules for the cluster's Services, as it writes them on an OpenShift 3.11 node
(pure; the form iptables-save prints them in, see ../shared/reference/kube-proxy-egressip-vnid-cni-311.md §1).

OpenShift runs kube-proxy with masqueradeBit 0 (mark 0x1/0x1) and clusterCIDR set; the unidling userspace
proxier adds its empty KUBE-PORTALS-*/KUBE-NODEPORT-* chains and the kubelet KUBE-MARK-DROP/KUBE-FIREWALL.
Real kube-proxy walks a Go map, so services come in random order; the lab sorts them by name (repeatable).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Dict, List

from lab.planes.openshift.api.objects import EndpointAddress, Service, ServicePort

MASQUERADE_MARK = "0x1/0x1"  # masqueradeBit 0 on OpenShift (upstream: 0x4000/0x4000)
DROP_MARK = "0x8000/0x8000"  # kubelet's --iptables-drop-bit 15


def port_proto_hash(service_port_name: str, protocol: str, endpoint: str = "") -> str:
    """base32(sha256(name + protocol [+ endpoint]))[:16], as servicePortChainName/servicePortEndpointChainName."""
    digest = hashlib.sha256((service_port_name + protocol + endpoint).encode()).digest()
    return base64.b32encode(digest).decode()[:16]


def service_port_name(service: Service, port: ServicePort) -> str:
    """ServicePortName.String(): `namespace/name:portName` (`default/web:` for an unnamed port)."""
    return f"{service.namespace}/{service.name}:{port.name}"


def svc_chain(service: Service, port: ServicePort) -> str:
    return "KUBE-SVC-" + port_proto_hash(service_port_name(service, port), port.protocol.lower())


def sep_chain(service: Service, port: ServicePort, endpoint: EndpointAddress) -> str:
    return "KUBE-SEP-" + port_proto_hash(service_port_name(service, port), port.protocol.lower(),
                                         f"{endpoint.ip}:{endpoint.port}")


def probability(n: int) -> str:
    """1/n as 1.11 writes it (%0.5f), then as iptables stores (lround(2^31 * p)) and prints it (%.11f)."""
    written = float(f"{1.0 / n:0.5f}")
    stored = int(written * 0x80000000 + 0.5)
    return f"{stored / 0x80000000:.11f}"


@dataclass
class Tables:
    """Chains (user chains only) and rules per table, in iptables-save form."""

    chains: Dict[str, List[str]] = field(default_factory=lambda: {"filter": [], "nat": []})
    rules: Dict[str, List[str]] = field(default_factory=lambda: {"filter": [], "nat": []})


def render_kube_proxy(services: List[Service], endpoints: Dict[str, Dict[ServicePort, List[EndpointAddress]]],
                      cluster_cidr: str) -> Tables:
    """syncProxyRules(): the fixed chains and rules, then per service port its SVC/SEP chains (with
    endpoints) or a REJECT (without). endpoints: by service key (namespace/name)."""
    t = Tables()
    t.chains["filter"] += ["KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-SERVICES"]
    t.chains["nat"] += ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]
    nat, flt = t.rules["nat"], t.rules["filter"]
    nat.append(f'-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
               f'-m mark --mark {MASQUERADE_MARK} -j MASQUERADE')
    nat.append(f"-A KUBE-MARK-MASQ -j MARK --set-xmark {MASQUERADE_MARK}")
    for service in sorted(services, key=lambda s: s.key):
        if not service.cluster_ip or service.cluster_ip == "None":
            continue  # headless: kube-proxy has nothing to do
        for port in service.ports:
            name = service_port_name(service, port)
            proto = port.protocol.lower()
            eps = endpoints.get(service.key, {}).get(port, [])
            svc = svc_chain(service, port)
            if not eps:
                flt.append(f'-A KUBE-SERVICES -d {service.cluster_ip}/32 -p {proto} -m comment --comment '
                           f'"{name} has no endpoints" -m {proto} --dport {port.port} '
                           f"-j REJECT --reject-with icmp-port-unreachable")
                if port.node_port:
                    flt.append(f'-A KUBE-EXTERNAL-SERVICES -p {proto} -m comment --comment "{name} has no endpoints" '
                               f"-m addrtype --dst-type LOCAL -m {proto} --dport {port.node_port} "
                               f"-j REJECT --reject-with icmp-port-unreachable")
                continue
            t.chains["nat"].append(svc)
            nat.append(f'-A KUBE-SERVICES ! -s {cluster_cidr} -d {service.cluster_ip}/32 -p {proto} -m comment '
                       f'--comment "{name} cluster IP" -m {proto} --dport {port.port} -j KUBE-MARK-MASQ')
            nat.append(f'-A KUBE-SERVICES -d {service.cluster_ip}/32 -p {proto} -m comment '
                       f'--comment "{name} cluster IP" -m {proto} --dport {port.port} -j {svc}')
            if port.node_port:
                nat.append(f'-A KUBE-NODEPORTS -p {proto} -m comment --comment "{name}" -m {proto} '
                           f"--dport {port.node_port} -j KUBE-MARK-MASQ")
                nat.append(f'-A KUBE-NODEPORTS -p {proto} -m comment --comment "{name}" -m {proto} '
                           f"--dport {port.node_port} -j {svc}")
            n = len(eps)
            for i, ep in enumerate(eps):
                sep = sep_chain(service, port, ep)
                t.chains["nat"].append(sep)
                stat = f"-m statistic --mode random --probability {probability(n - i)} " if i < n - 1 else ""
                nat.append(f'-A {svc} -m comment --comment "{name}" {stat}-j {sep}')
                nat.append(f'-A {sep} -s {ep.ip}/32 -m comment --comment "{name}" -j KUBE-MARK-MASQ')
                nat.append(f'-A {sep} -p {proto} -m comment --comment "{name}" -m {proto} '
                           f"-j DNAT --to-destination {ep.ip}:{ep.port}")
    nat.append('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last '
               'rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    flt.append(f'-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark {MASQUERADE_MARK} -j ACCEPT')
    flt.append(f'-A KUBE-FORWARD -s {cluster_cidr} -m comment --comment "kubernetes forwarding conntrack pod source rule" '
               "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
    flt.append(f'-A KUBE-FORWARD -d {cluster_cidr} -m comment --comment "kubernetes forwarding conntrack pod destination '
               'rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')
    return t


def render_cluster_services(cluster) -> Tables:
    """kube-proxy's rules for every Service of a lab cluster (the same on every node)."""
    return render_kube_proxy(cluster.services, {s.key: cluster.endpoints(s) for s in cluster.services},
                             cluster.network.cidr)
