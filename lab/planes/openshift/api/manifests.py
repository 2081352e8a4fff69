"""Kubernetes/OpenShift YAML manifests -> the lab cluster's objects (pure, apart from reading the files).

What the API server would refuse (an unknown kind or field, a pod on an unknown node, a duplicate name,
a clusterIP outside the service network or taken, an invalid selector) is one BadInput naming the file;
the cluster is changed only when every document is valid.
"""

from __future__ import annotations

import copy
import ipaddress
import os
from dataclasses import replace
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from lab import sentfiles
from lab.errors import BadInput
from lab.planes.openshift.api import fields, netpol
from lab.planes.openshift.api.objects import (
    NODE_PORT_RANGE,
    PROTOCOLS,
    SERVICE_TYPES,
    Container,
    ContainerPort,
    Namespace,
    NetworkPolicy,
    Pod,
    Service,
    ServicePort,
    allocate_cluster_ip,
    check_labels,
    check_name,
)
from lab.planes.openshift.master.pods import place_pod
from lab.underlay import UNDERLAY_HOST

Document = Tuple[str, dict]  # (the file it came from, the parsed object)
MANIFEST_SUFFIXES = sentfiles.SUFFIXES

# the fields the lab understands, per place in an object; anything else is refused, as `oc create` would
TOP = {"apiVersion", "kind", "metadata", "spec"}
METADATA = {"name", "namespace", "labels", "annotations"}
POD_SPEC = {"containers", "nodeName", "restartPolicy", "terminationGracePeriodSeconds"}
CONTAINER = {"name", "image", "ports", "command", "args", "imagePullPolicy"}
CONTAINER_PORT = {"containerPort", "protocol", "name"}
DEPLOYMENT_SPEC = {"replicas", "selector", "template"}
TEMPLATE = {"metadata", "spec"}
SERVICE_SPEC = {"selector", "ports", "clusterIP", "type", "sessionAffinity"}
SESSION_AFFINITIES = ("None", "ClientIP")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
MAX_POD_NAME = 63  # a pod's name becomes its lab host: a namespace name, a directory, a host name
SERVICE_PORT = {"name", "port", "targetPort", "protocol", "nodePort"}
SELECTOR = {"matchLabels", "matchExpressions"}
OPERATORS = {"In", "NotIn", "Exists", "DoesNotExist"}
KINDS = ("Namespace", "Project", "Pod", "Deployment", "Service", "NetworkPolicy", "List")
EGRESS_KINDS = ("HostSubnet", "NetNamespace", "EgressNetworkPolicy")  # lab.planes.openshift.api.egress.apply_documents


def load_paths(paths: Sequence[str]) -> List[Document]:
    """Every document of every file (a directory: its *.yaml, *.yml, *.json files in name order)."""
    import yaml  # PyYAML; JSON is YAML too
    docs: List[Document] = []
    for path in paths:
        if sentfiles.isdir(path):  # a request from another shell: what its client sent (lab.sentfiles)
            files = sorted(os.path.join(path, f) for f in sentfiles.listdir(path) if f.endswith(MANIFEST_SUFFIXES))
            if not files:
                raise BadInput(f"{path}: no *.yaml, *.yml or *.json files in this directory")
        else:
            files = [path]
        for name in files:
            try:
                with sentfiles.open_text(name) as f:
                    parsed = list(yaml.safe_load_all(f))
            except OSError as exc:
                raise BadInput(f"{name}: cannot read: {exc.strerror}") from None
            except UnicodeDecodeError as exc:
                raise BadInput(f"{name}: not UTF-8 text (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r})") \
                    from None
            except yaml.YAMLError as exc:
                raise BadInput(f"{name}: not valid YAML: {' '.join(str(exc).split())}") from None
            except RecursionError:
                raise BadInput(f"{name}: not valid YAML: nested too deeply") from None
            for obj in parsed:
                if obj is None:  # an empty document (`---` at the end)
                    continue
                if not isinstance(obj, dict):
                    raise BadInput(f"{name}: a document must be an object with apiVersion and kind, not {fields.shown(obj)}")
                docs += [(name, item) for item in _flatten(name, obj)]
    return docs


def _flatten(source: str, obj: dict) -> List[dict]:
    if obj.get("kind") != "List":
        return [obj]
    items = obj.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadInput(f"{source}: a List needs items, a list of objects")
    return items


_only = fields.obj
_int = fields.integer


def _protocol(value: object, where: str) -> str:
    return fields.choice(value, where, PROTOCOLS, "TCP")


def check_selector(selector: object, where: str) -> dict:
    """A LabelSelector (matchLabels, matchExpressions) as the API server validates it."""
    if selector is None:
        return {}
    checked = _only(selector, SELECTOR, where)  # the selector itself, known to be a dict
    check_labels(checked.get("matchLabels"), f"{where}.matchLabels")
    exprs = fields.array(checked.get("matchExpressions"), f"{where}.matchExpressions")
    for i, e in enumerate(exprs):
        at = f"{where}.matchExpressions[{i}]"
        _only(e, {"key", "operator", "values"}, at)
        check_labels({e.get("key"): ""}, at)
        if e.get("operator") not in OPERATORS:
            raise BadInput(f"{at}.operator must be one of {', '.join(sorted(OPERATORS))}, not {fields.shown(e.get('operator'))}")
        values = fields.array(e.get("values"), f"{at}.values")
        if e["operator"] in ("In", "NotIn") and not values:
            raise BadInput(f"{at}: operator {e['operator']} needs values")
        if e["operator"] in ("Exists", "DoesNotExist") and values:
            raise BadInput(f"{at}: operator {e['operator']} takes no values")
        for v in values:  # every value is a label value
            check_labels({e["key"]: v}, f"{at}.values")
    return checked


class _Builder:
    """Applies documents to a copy of the cluster's object lists; the caller keeps them only if all pass."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.namespaces = list(cluster.namespaces)
        self.pods = list(cluster.pods)
        self.services = list(cluster.services)
        self.policies = list(cluster.policies)
        self.nodes = [hs.name for hs in cluster.hostsubnets]
        self.next_node = 0  # Deployments spread their replicas over the nodes in order

    # --- metadata -------------------------------------------------------------------------------
    def meta(self, obj: dict, kind: str, namespaced: bool = True) -> Tuple[str, str, Dict[str, str]]:
        m = _only(obj.get("metadata"), METADATA, "metadata") if obj.get("metadata") is not None else {}
        name = check_name(kind, m.get("name"), label=kind in ("Namespace", "Project"), dns1035=kind == "Service")
        labels = check_labels(m.get("labels"), f"{kind} {name}: metadata.labels")
        fields.string_map(m.get("annotations"), f"{kind} {name}: metadata.annotations")
        ns = ""
        if namespaced:
            ns = fields.string(m.get("namespace"), f"{kind} {name}: metadata.namespace") or "default"
            if ns not in (n.name for n in self.namespaces):
                raise BadInput(f"{kind} {name}: namespace {fields.shown(ns)} does not exist (namespaces: "
                               f"{', '.join(n.name for n in self.namespaces)})")
        return name, ns, labels

    # --- kinds ----------------------------------------------------------------------------------
    def namespace(self, obj: dict, kind: str) -> None:
        _only(obj, TOP, kind)
        name, _, labels = self.meta(obj, kind, namespaced=False)
        if any(n.name == name for n in self.namespaces):
            raise BadInput(f"{kind} {name} exists already")
        self.namespaces.append(Namespace(name, labels))

    def pod(self, obj: dict, name: Optional[str] = None, ns: str = "", labels: Optional[dict] = None,
            node: Optional[str] = None) -> None:
        if name is None:
            _only(obj, TOP, "Pod")
            name, ns, labels = self.meta(obj, "Pod")
        if len(name) > MAX_POD_NAME:
            raise BadInput(f"Pod {ns}/{name[:20]}...: a pod's name becomes its lab host, namespace and directory "
                           f"names: at most {MAX_POD_NAME} characters, not {len(name)}")
        spec = _only(obj.get("spec"), POD_SPEC, f"Pod {ns}/{name}: spec")
        fields.choice(spec.get("restartPolicy"), f"Pod {ns}/{name}: spec.restartPolicy", RESTART_POLICIES, "Always")
        if spec.get("terminationGracePeriodSeconds") is not None:
            _int(spec["terminationGracePeriodSeconds"], f"Pod {ns}/{name}: spec.terminationGracePeriodSeconds", 0,
                 2**31 - 1)
        containers = spec.get("containers")
        if not isinstance(containers, list) or not containers:
            raise BadInput(f"Pod {ns}/{name}: spec.containers must list at least one container")
        ports: List[ContainerPort] = []
        parsed: List[Container] = []
        for i, c in enumerate(containers):
            _only(c, CONTAINER, f"spec.containers[{i}]")
            at = f"Pod {ns}/{name}: spec.containers[{i}]"
            cname = check_name(f"{at}: container", c.get("name"), label=True)
            if any(other.name == cname for other in parsed):
                raise BadInput(f"{at}: container name {cname!r} is used twice in the pod")
            own: List[ContainerPort] = []
            fields.choice(c.get("imagePullPolicy"), f"{at}.imagePullPolicy", PULL_POLICIES, "IfNotPresent")
            for j, p in enumerate(fields.array(c.get("ports"), f"{at}.ports")):
                where = f"{at}.ports[{j}]"
                _only(p, CONTAINER_PORT, f"spec.containers[{i}].ports[{j}]")
                pname = p.get("name")
                port = ContainerPort(_int(p.get("containerPort"), f"{where}.containerPort"),
                                     _protocol(p.get("protocol"), f"{where}.protocol"),
                                     "" if pname is None else fields.port_name(pname, f"{where}.name"))
                if any((q.port, q.protocol) == (port.port, port.protocol) for q in ports):
                    raise BadInput(f"{where}: {port.port}/{port.protocol} is declared twice")
                ports.append(port)
                own.append(port)
            parsed.append(Container(cname, fields.image(c.get("image"), f"{at}.image"), tuple(own),
                                    fields.words(c.get("command"), f"{at}.command"),
                                    fields.words(c.get("args"), f"{at}.args")))
        node = node or fields.string(spec.get("nodeName"), f"Pod {ns}/{name}: spec.nodeName") or None
        if node is None:  # no scheduler in the lab: the next node in order, as a Deployment spreads
            node = self.nodes[self.next_node % len(self.nodes)]
            self.next_node += 1
        if node not in self.nodes:
            raise BadInput(f"Pod {ns}/{name}: spec.nodeName {fields.shown(node)} is not a node (nodes: {', '.join(self.nodes)})")
        if any(p.name == name and p.namespace == ns for p in self.pods):
            raise BadInput(f"Pod {ns}/{name} exists already")
        try:  # in creation order, as the kubelets would start them
            pod = place_pod(self.pods, self.cluster.hostsubnet(node), name, ns, veth_id=f"{ns}/{name}",
                            labels=labels or {}, ports=tuple(ports), image=parsed[0].image, containers=tuple(parsed))
        except BadInput as exc:
            raise BadInput(f"Pod {ns}/{name}: node {exc}") from None
        self.pods.append(pod)

    def deployment(self, obj: dict) -> None:
        _only(obj, TOP, "Deployment")
        name, ns, _labels = self.meta(obj, "Deployment")
        spec = _only(obj.get("spec"), DEPLOYMENT_SPEC, "spec")
        replicas = _int(spec.get("replicas", 1), f"Deployment {ns}/{name}: spec.replicas", 0, 1000)
        selector = check_selector(spec.get("selector"), f"Deployment {ns}/{name}: spec.selector")
        template = _only(spec.get("template"), TEMPLATE, f"Deployment {ns}/{name}: spec.template")
        tmeta = _only(template.get("metadata") or {}, {"labels", "annotations", "name"},
                      f"Deployment {ns}/{name}: spec.template.metadata")
        labels = check_labels(tmeta.get("labels"), f"Deployment {ns}/{name}: spec.template.metadata.labels")
        fields.string_map(tmeta.get("annotations"), f"Deployment {ns}/{name}: spec.template.metadata.annotations")
        tspec = _only(template.get("spec"), POD_SPEC, f"Deployment {ns}/{name}: spec.template.spec")
        wanted = selector.get("matchLabels") or {}
        if not labels or any(labels.get(k) != str(v) for k, v in wanted.items()):
            raise BadInput(f"Deployment {ns}/{name}: spec.selector does not match spec.template.metadata.labels")
        pinned = fields.string(tspec.get("nodeName"), f"Deployment {ns}/{name}: spec.template.spec.nodeName")
        for i in range(replicas):
            # replica names are `<deployment>-<n>` (a real cluster adds a template hash and a random suffix)
            node = pinned or self.nodes[self.next_node % len(self.nodes)]
            if not pinned:
                self.next_node += 1
            self.pod(template, f"{name}-{i + 1}", ns, labels, node)

    def service(self, obj: dict) -> None:
        _only(obj, TOP, "Service")
        name, ns, _labels = self.meta(obj, "Service")
        at = f"Service {ns}/{name}"
        spec = _only(obj.get("spec"), SERVICE_SPEC, "spec")
        selector = check_labels(spec.get("selector"), f"{at}: spec.selector")
        stype = fields.choice(spec.get("type"), f"{at}: spec.type", SERVICE_TYPES, "ClusterIP")
        fields.choice(spec.get("sessionAffinity"), f"{at}: spec.sessionAffinity", SESSION_AFFINITIES, "None")
        raw_ports = spec.get("ports")
        if not isinstance(raw_ports, list) or not raw_ports:
            raise BadInput(f"{at}: spec.ports must list at least one port")
        ports: List[ServicePort] = []
        for i, p in enumerate(raw_ports):
            where = f"{at}: spec.ports[{i}]"
            _only(p, SERVICE_PORT, f"{at}: spec.ports[{i}]")
            target = p.get("targetPort", 0)
            if type(target) is not int or target != 0:  # 0 (or none): the same as port, as the API defaults it
                target = fields.port_or_name(target, f"{where}.targetPort")
            pname = p.get("name")
            node_port = 0
            if "nodePort" in p:
                if stype != "NodePort":
                    raise BadInput(f"{where}.nodePort is only for type NodePort")
                node_port = _int(p["nodePort"], f"{where}.nodePort", *NODE_PORT_RANGE)
            ports.append(ServicePort(_int(p.get("port"), f"{where}.port"), _protocol(p.get("protocol"), f"{where}.protocol"),
                                     "" if pname is None else fields.port_name(pname, f"{where}.name"), target, node_port))
        if len(ports) > 1 and any(not sp.name for sp in ports):
            raise BadInput(f"{at}: with more than one port every port needs a name")
        if len({(sp.port, sp.protocol) for sp in ports}) != len(ports):
            raise BadInput(f"{at}: a port and protocol are listed twice")
        if any(s.name == name and s.namespace == ns for s in self.services):
            raise BadInput(f"{at} exists already")
        cluster_ip = fields.string(spec.get("clusterIP"), f"{at}: spec.clusterIP")
        if cluster_ip:
            net = ipaddress.ip_network(self.cluster.network.service_network)
            try:
                addr = ipaddress.ip_address(cluster_ip)
            except ValueError:
                raise BadInput(f"{at}: spec.clusterIP {cluster_ip!r} is not an IPv4 address") from None
            if addr not in net or addr in (net.network_address, net.broadcast_address):
                raise BadInput(f"{at}: spec.clusterIP {cluster_ip} is not in the service network {net}")
            owner = next((s for s in self.services if s.cluster_ip == cluster_ip), None)
            if owner is not None:
                raise BadInput(f"{at}: spec.clusterIP {cluster_ip} is already allocated to {owner.key}")
        self.services.append(Service(name, ns, str(cluster_ip), tuple(ports), selector, stype))

    def policy(self, obj: dict) -> None:
        _only(obj, TOP, "NetworkPolicy")
        name, ns, _labels = self.meta(obj, "NetworkPolicy")
        at = f"NetworkPolicy {ns}/{name}"
        spec = netpol.check_spec(obj.get("spec"), at, check_selector)
        if any(p.name == name and p.namespace == ns for p in self.policies):
            raise BadInput(f"{at} exists already")
        self.policies.append(NetworkPolicy(name, ns, copy.deepcopy(spec)))

    def finish(self) -> None:
        """ClusterIPs for services that gave none (after every given one is reserved); host names."""
        taken = [s.cluster_ip for s in self.services if s.cluster_ip]
        for i, s in enumerate(self.services):
            if not s.cluster_ip:
                ip = allocate_cluster_ip(self.cluster.network.service_network, taken, s.key)
                taken.append(ip)
                self.services[i] = replace(s, cluster_ip=ip)
        used = [sp.node_port for s in self.services for sp in s.ports if sp.node_port]
        if len(set(used)) != len(used):
            dup = next(n for n in used if used.count(n) > 1)
            raise BadInput(f"nodePort {dup} is allocated to two services")
        for i, s in enumerate(self.services):
            if s.type == "NodePort" and any(not sp.node_port for sp in s.ports):
                ports = []
                for sp in s.ports:  # the real allocator picks at random; the lab takes the first free one
                    if not sp.node_port:
                        free = next((n for n in range(NODE_PORT_RANGE[0], NODE_PORT_RANGE[1] + 1) if n not in used), None)
                        if free is None:
                            raise BadInput(f"Service {s.key}: no free nodePort")
                        used.append(free)
                        sp = replace(sp, node_port=free)
                    ports.append(sp)
                self.services[i] = replace(s, ports=tuple(ports))
        self.pods = assign_host_names(self.pods)
        others = {hs.name for hs in self.cluster.hostsubnets} | {self.cluster.external.name, UNDERLAY_HOST}
        seen = set()
        for p in self.pods:
            if p.host in others or p.host in seen:
                raise BadInput(f"Pod {p.key}: its lab host name {p.host!r} is taken by another host")
            seen.add(p.host)


def assign_host_names(pods: List[Pod]) -> List[Pod]:
    """A pod's Mininet host is its name; where two namespaces use one name, `name.namespace` for each
    (the CLI also knows every pod as `namespace/name`)."""
    count: Dict[str, int] = {}
    for p in pods:
        count[p.name] = count.get(p.name, 0) + 1
    return [replace(p, host=p.name if count[p.name] == 1 else f"{p.name}.{p.namespace}") for p in pods]


def apply_documents(cluster, docs: Iterable[Document]) -> None:
    """Create the documents' objects in the cluster: namespaces first, then the rest in file order.
    All or nothing: a bad document raises BadInput("FILE: ...") and the cluster is unchanged."""
    docs = list(docs)
    builder = _Builder(cluster)
    ordered = [d for d in docs if d[1].get("kind") in ("Namespace", "Project")] + \
              [d for d in docs if d[1].get("kind") not in ("Namespace", "Project")]
    for source, obj in ordered:
        kind = obj.get("kind")
        if not isinstance(obj.get("apiVersion", ""), str):
            raise BadInput(f"{source}: apiVersion must be a string, not {fields.shown(obj['apiVersion'])}")
        if kind in EGRESS_KINDS:  # fields of the network objects: lab.planes.openshift.api.egress, once NetNamespaces exist
            continue
        try:
            if kind not in KINDS or kind == "List":
                raise BadInput(f"unknown kind {fields.shown(kind)} (the lab knows: {', '.join(k for k in KINDS if k != 'List')})")
            if kind in ("Namespace", "Project"):
                builder.namespace(obj, kind)
            elif kind == "Pod":
                builder.pod(obj)
            elif kind == "Deployment":
                builder.deployment(obj)
            elif kind == "Service":
                builder.service(obj)
            else:
                builder.policy(obj)
        except BadInput as exc:
            raise BadInput(f"{source}: {exc}") from None
    try:
        builder.finish()
    except BadInput as exc:
        raise BadInput(f"{docs[-1][0] if docs else 'manifests'}: {exc}") from None
    cluster.namespaces[:] = builder.namespaces
    cluster.pods[:] = builder.pods
    cluster.services[:] = builder.services
    cluster.policies[:] = builder.policies
