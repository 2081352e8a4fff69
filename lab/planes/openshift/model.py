"""The cluster as OpenShift's API objects describe it (pure data; lab.planes.openshift.master allocates it)."""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import uuid
from dataclasses import dataclass, field, fields, replace
from typing import Dict, List, Mapping, Optional, Tuple

from lab.addressing import UNDERLAY_MTU, VXLAN_OVERHEAD, parse_network
from lab.errors import BadInput
from lab.planes.openshift.api.objects import (
    SYSTEM_NAMESPACES,
    EgressNetworkPolicy,
    EndpointAddress,
    Namespace,
    NetNamespace,
    NetworkPolicy,
    Pod,
    Service,
    ServicePort,
    endpoints_of,
)
from lab.validate import check_mtu, check_networks, check_port

SUBNET_PLUGIN = "redhat/openshift-ovs-subnet"
MULTITENANT_PLUGIN = "redhat/openshift-ovs-multitenant"
NETWORKPOLICY_PLUGIN = "redhat/openshift-ovs-networkpolicy"
# pluginId 0/1/2 (the table-253 note's first byte); ruleVersion 7 in openshift-sdn 3.11
PLUGIN_IDS = {SUBNET_PLUGIN: 0, MULTITENANT_PLUGIN: 1, NETWORKPOLICY_PLUGIN: 2}
VNID_PLUGINS = ("multitenant", "networkpolicy")  # SupportsVNIDs(): the plugins with NetNamespaces, EgressIP, multicast
RULE_VERSION = 7
# what each network is called in messages: the domain name and the `lab run` option that sets it
CLUSTER_NETWORK = "cluster network (--cluster-cidr)"
SERVICE_NETWORK = "service network (--service-network)"
UNDERLAY = "underlay (--underlay)"


def plugin_name(short: str) -> str:
    """subnet|multitenant|networkpolicy -> the ClusterNetwork pluginName."""
    return f"redhat/openshift-ovs-{short}"


@dataclass(frozen=True)
class ClusterNetwork:
    """The `default` ClusterNetwork object (OpenShift 3.11 defaults)."""

    cidr: str = "10.128.0.0/14"
    host_subnet_length: int = 9
    service_network: str = "172.30.0.0/16"
    vxlan_port: int = 4789
    mtu: int = 1450
    plugin: str = SUBNET_PLUGIN

    def __post_init__(self) -> None:
        net = parse_network(self.cidr, "cluster network CIDR (--cluster-cidr)")
        service = parse_network(self.service_network, "service network CIDR (--service-network)")
        check_networks({CLUSTER_NETWORK: net, SERVICE_NETWORK: service})
        host_bits = self.host_subnet_length
        if isinstance(host_bits, bool) or not isinstance(host_bits, int) or host_bits < 2:
            raise BadInput(f"--host-subnet-length {host_bits!r} is invalid: it must be an integer of at least 2")
        if host_bits > 32 - net.prefixlen:
            raise BadInput(
                f"--host-subnet-length {host_bits} does not fit cluster network {self.cidr}: "
                f"at most {32 - net.prefixlen} host bits are available"
            )
        check_port(self.vxlan_port, "--vxlan-port")
        check_mtu(self.mtu, UNDERLAY_MTU, VXLAN_OVERHEAD, "--mtu")
        if self.plugin not in PLUGIN_IDS:
            raise BadInput(f"network plugin {self.plugin!r} is not supported (known: {', '.join(PLUGIN_IDS)})")

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.cidr)

    @property
    def plugin_id(self) -> int:
        return PLUGIN_IDS[self.plugin]

    @property
    def version_note(self) -> str:
        """The note openshift-sdn writes in table 253: pluginId.ruleVersion in hex."""
        return f"{self.plugin_id:02X}.{RULE_VERSION:02X}"


def stable_uid(kind: str, name: str) -> str:
    """A deterministic stand-in for the API server's random object UID."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sdnlab/{kind}/{name}"))


@dataclass(frozen=True)
class HostSubnet:
    """`oc get hostsubnet`: one node's IP and pod subnet."""

    name: str
    host_ip: str
    subnet: str
    uid: str
    egress_ips: Tuple[str, ...] = ()  # the egress IPs this node hosts (`oc patch hostsubnet`, lab.planes.openshift.api.egress)
    egress_cidrs: Tuple[str, ...] = ()  # automatic mode's ranges: shown by `oc get hostsubnets`, not allocated

    @property
    def gateway(self) -> str:
        """tun0's address: the subnet's first address."""
        return str(ipaddress.ip_network(self.subnet).network_address + 1)

    @property
    def cookie(self) -> int:
        """The OpenFlow cookie openshift-sdn puts on this subnet's flows (first 4 bytes of sha256(UID))."""
        return int.from_bytes(hashlib.sha256(self.uid.encode()).digest()[:4], "big")


@dataclass(frozen=True)
class ExternalHost:
    name: str
    ip: str


@dataclass
class Cluster:
    """Everything a node agent would learn from the API server, plus the lab's underlay."""

    network: ClusterNetwork
    underlay: str
    hostsubnets: List[HostSubnet] = field(default_factory=list)
    pods: List[Pod] = field(default_factory=list)
    external: Optional[ExternalHost] = None
    # the VNID plugins' NetNamespaces, in creation order (lab.planes.openshift.master.vnid); none with ovs-subnet
    netnamespaces: List[NetNamespace] = field(default_factory=list)
    namespaces: List[Namespace] = field(default_factory=lambda: [Namespace(n) for n in SYSTEM_NAMESPACES])
    services: List[Service] = field(default_factory=list)
    policies: List[NetworkPolicy] = field(default_factory=list)
    egress_policies: List[EgressNetworkPolicy] = field(default_factory=list)  # lab.planes.openshift.api.egress
    offline_nodes: Tuple[str, ...] = ()  # nodes the egress VXLAN monitor has marked offline (egress failover)
    runtime: str = "netns"  # the lab's choice, not an API object: pods as plain namespaces or Docker containers

    def hostsubnet(self, node: str) -> HostSubnet:
        for hs in self.hostsubnets:
            if hs.name == node:
                return hs
        raise KeyError(node)

    def pods_on(self, node: str) -> List[Pod]:
        return [p for p in self.pods if p.node == node]

    def pod(self, name: str) -> Pod:
        """By Mininet host name, by `namespace/name`, or by a name only one namespace uses."""
        for p in self.pods:
            if name in (p.host, p.key):
                return p
        named = [p for p in self.pods if p.name == name]
        if len(named) == 1:
            return named[0]
        raise KeyError(name)

    @property
    def netids(self) -> Dict[str, int]:
        """NETID by namespace, in the NetNamespaces' order (a view: change them with set_netids)."""
        return {n.name: n.netid for n in self.netnamespaces}

    def netnamespace(self, name: str) -> NetNamespace:
        for n in self.netnamespaces:
            if n.name == name:
                return n
        raise KeyError(name)

    def set_netids(self, netids: Mapping[str, int]) -> None:
        """NetNamespaces changed (oc adm pod-network, a namespace made or deleted): one per name of `netids`,
        in its order, each keeping its egress IPs and annotations; every pod's VNID follows."""
        kept = {n.name: n for n in self.netnamespaces}
        self.netnamespaces = [replace(kept[name], netid=netid) if name in kept else NetNamespace(name, netid)
                              for name, netid in netids.items()]
        self.pods = [replace(p, vnid=netids.get(p.namespace, p.vnid)) for p in self.pods]

    def put_netnamespace(self, netns: NetNamespace) -> None:
        """An edited NetNamespace takes its old self's place."""
        self.netnamespaces = [netns if n.name == netns.name else n for n in self.netnamespaces]

    def copy(self) -> "Cluster":
        """A copy whose object lists can change without touching this one (the objects are frozen)."""
        new = copy.copy(self)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (list, dict)):
                setattr(new, f.name, copy.copy(value))
        return new

    def commit(self, new: "Cluster") -> None:
        """Take every object of `new` (a changed copy), in place: the CLI, the tests and the tracer hold this one."""
        for f in fields(self):
            setattr(self, f.name, getattr(new, f.name))

    def namespace(self, name: str) -> Namespace:
        for ns in self.namespaces:
            if ns.name == name:
                return ns
        raise KeyError(name)

    def service(self, key: str) -> Service:
        """By `namespace/name`, or by name in `default`."""
        full = key if "/" in key else f"default/{key}"
        for s in self.services:
            if s.key == full:
                return s
        raise KeyError(key)

    def endpoints(self, service: Service) -> Dict[ServicePort, List[EndpointAddress]]:
        return endpoints_of(service, self.pods)

    def remote_hostsubnets(self, node: str) -> List[HostSubnet]:
        return [hs for hs in self.hostsubnets if hs.name != node]

    def owner_of_ip(self, ip: str) -> Optional[str]:
        """Lab name of whatever holds this address (pod, node underlay or tun0, external host)."""
        for p in self.pods:
            if p.ip == ip:
                return p.host
        for hs in self.hostsubnets:
            if ip in (hs.host_ip, hs.gateway):
                return hs.name
        if self.external and self.external.ip == ip:
            return self.external.name
        return None
