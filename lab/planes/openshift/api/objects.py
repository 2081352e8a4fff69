"""Kubernetes/OpenShift API objects of a lab cluster (pure data): namespaces, pods, services, endpoints,
network policies. Renderers (flows, kube-proxy's iptables, policies) take these; names stay stable."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple, Union

from lab.errors import BadInput

# the namespaces of a fresh OpenShift 3.11 cluster, in the order `oc get namespaces` lists them
SYSTEM_NAMESPACES = ("default", "kube-public", "kube-system", "openshift", "openshift-infra")
PROTOCOLS = ("TCP", "UDP")
SERVICE_TYPES = ("ClusterIP", "NodePort")
NODE_PORT_RANGE = (30000, 32767)  # the API server's default --service-node-port-range

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")  # every pattern: fullmatch (`$` takes a final newline)
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?)")
_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def check_name(kind: str, name: object, label: bool = False, dns1035: bool = False) -> str:
    """A metadata.name as the API server validates it (DNS-1123 label or subdomain; a Service's: DNS-1035)."""
    pattern, what = (_DNS_LABEL, "a DNS-1123 label") if label else (_DNS_SUBDOMAIN, "a DNS-1123 subdomain")
    if dns1035:
        pattern, what = _DNS_1035, "a DNS-1035 label, starting with a letter"
    if not isinstance(name, str) or not name or len(name) > (63 if label or dns1035 else 253) \
            or not pattern.fullmatch(name):
        shown = repr(name) if len(repr(name)) <= 70 else repr(name)[:67] + "..."
        raise BadInput(f"{kind} name {shown} is invalid: it must be {what} (lower case letters, digits, '-', "
                       f"at most {63 if label or dns1035 else 253} characters)")
    return name


def check_labels(labels: object, what: str) -> Dict[str, str]:
    """Label keys ([prefix/]name) and values as the API server accepts them; also used for selectors."""
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise BadInput(f"{what} must be a map of label keys to values, not {labels!r}")
    out: Dict[str, str] = {}
    for key, value in labels.items():
        if not isinstance(key, str):
            raise BadInput(f"{what}: label key {key!r} is not a string")
        prefix, _, name = key.rpartition("/")
        if (prefix and (len(prefix) > 253 or not _PREFIX.fullmatch(prefix))) or len(name) > 63 or not _LABEL_NAME.fullmatch(name):
            raise BadInput(f"{what}: {key!r} is not a valid label key")
        text = value if isinstance(value, str) else ("" if value is None else None)  # a number is refused, not coerced
        if text is None or len(text) > 63 or not _LABEL_VALUE.fullmatch(text):
            raise BadInput(f"{what}: {key}={value!r} is not a valid label value")
        out[key] = text
    return out


def format_labels(labels: Dict[str, str]) -> str:
    """`app=web,tier=front` as kubectl prints a selector or labels; `<none>` when empty."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


def matches(selector: Dict[str, str], labels: Dict[str, str]) -> bool:
    """An equality-based selector (a Service's spec.selector): every pair must be among the labels."""
    return all(labels.get(k) == v for k, v in selector.items())


@dataclass(frozen=True)
class Namespace:
    """A Namespace (or an OpenShift Project, which is one)."""

    name: str
    labels: Dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ContainerPort:
    """containers[].ports[]: what a pod serves (the lab's pods answer on each)."""

    port: int
    protocol: str = "TCP"
    name: str = ""


@dataclass(frozen=True)
class Container:
    """spec.containers[]: one container of a pod (its own image, command, args and ports)."""

    name: str
    image: str = ""
    ports: Tuple[ContainerPort, ...] = ()
    command: Tuple[str, ...] = ()  # replaces the image's entrypoint, as in Kubernetes
    args: Tuple[str, ...] = ()  # replaces the image's CMD


@dataclass(frozen=True)
class Pod:
    """A running pod as its node sees it: where it runs, its address, its port on br0, its labels."""

    name: str
    node: str
    ip: str
    mac: str
    veth: str
    ofport: int
    namespace: str = "default"
    vnid: int = 0
    labels: Dict[str, str] = field(default_factory=dict, hash=False)
    ports: Tuple[ContainerPort, ...] = ()  # every container's ports (a pod has one network namespace)
    image: str = ""  # the first container's image
    host: str = ""  # the Mininet host name: the pod's name, or `name.namespace` when two namespaces share it
    containers: Tuple[Container, ...] = ()  # as declared by a manifest; none for the lab's generated pods

    def __post_init__(self) -> None:
        if not self.host:
            object.__setattr__(self, "host", self.name)

    @property
    def key(self) -> str:
        """`namespace/name`, as oc names it."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ServicePort:
    port: int
    protocol: str = "TCP"
    name: str = ""
    target_port: Union[int, str] = 0  # a number, or the name of a containerPort; 0 = the same as port
    node_port: int = 0

    @property
    def target(self) -> Union[int, str]:
        return self.target_port or self.port


@dataclass(frozen=True)
class Service:
    name: str
    namespace: str
    cluster_ip: str
    ports: Tuple[ServicePort, ...]
    selector: Dict[str, str] = field(default_factory=dict, hash=False)
    type: str = "ClusterIP"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class NetworkPolicy:
    """networking.k8s.io/v1 NetworkPolicy, kept as the API holds it (rendered by the policy plugin)."""

    name: str
    namespace: str
    spec: Dict = field(default_factory=dict, hash=False)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class EndpointAddress:
    ip: str
    port: int
    pod: str  # the pod's Mininet host name
    node: str


def resolve_target(port: ServicePort, pod: Pod) -> Optional[int]:
    """The pod's port for a service port, as the endpoints controller finds it; None if the pod has no such
    named port (then it is not an endpoint of that port)."""
    if isinstance(port.target, int):
        return port.target
    for cp in pod.ports:
        if cp.name == port.target and cp.protocol == port.protocol:
            return cp.port
    return None


def ip_string_order(address: EndpointAddress) -> Tuple[str, int]:
    """The endpoints controller sorts addresses by their IP *string* (10.128.10.5 before 10.128.2.3)."""
    return (address.ip, address.port)


def endpoints_of(service: Service, pods: List[Pod]) -> Dict[ServicePort, List[EndpointAddress]]:
    """Per service port, the ready pods its selector picks in its namespace (no selector: none)."""
    chosen = [p for p in pods if service.selector and p.namespace == service.namespace and matches(service.selector, p.labels)]
    out: Dict[ServicePort, List[EndpointAddress]] = {}
    for sp in service.ports:
        addrs = []
        for pod in chosen:
            target = resolve_target(sp, pod)
            if target is not None:
                addrs.append(EndpointAddress(pod.ip, target, pod.host, pod.node))
        out[sp] = sorted(addrs, key=ip_string_order)
    return out


def allocate_cluster_ip(service_network: str, taken: List[str], name: str) -> str:
    """A ClusterIP for a service that gives none: the first free address from .1 upward of the service
    network, after the `kubernetes` service's .1 (the real allocator picks at random; the lab is repeatable)."""
    net = ipaddress.ip_network(service_network)
    used = set(taken) | {str(net.network_address + 1)}
    for addr in net.hosts():
        if str(addr) not in used:
            return str(addr)
    raise BadInput(f"service {name}: the service network {service_network} has no free address")


@dataclass(frozen=True)
class NetNamespace:
    """network.openshift.io/v1 NetNamespace: a namespace's NETID (VNID), its egress IPs, its annotations.
    Frozen: an edit makes a new object, so a copied cluster never shares a change with its original."""

    name: str
    netid: int
    egress_ips: Tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class EgressNetworkPolicy:
    """network.openshift.io/v1 EgressNetworkPolicy: rules in order, each (type Allow|Deny, cidrSelector)."""

    name: str
    namespace: str
    egress: Tuple[Tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"
