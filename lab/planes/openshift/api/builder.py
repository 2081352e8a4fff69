"""A small Python API for describing a cluster, as Mininet's `--custom` files describe a Topo.

A user's module defines `build(c)`; `c` collects the same objects a manifest would hold, and they are
validated and created by the same code (lab.planes.openshift.api.manifests):

    def build(c):
        c.nodes(3)
        c.namespace("shop", labels={"team": "a"})
        c.deployment("web", namespace="shop", replicas=3, labels={"app": "web"}, ports=[8080, "5353/udp"])
        c.service("web", namespace="shop", selector={"app": "web"}, ports=[(80, 8080)])
"""

from __future__ import annotations

import importlib.util
import os
from typing import Dict, List, Optional, Sequence, Tuple, Union

from lab.errors import BadInput

PortSpec = Union[int, str]  # 8080, "8080/tcp", "5353/udp", "http=8080"


def container_ports(ports: Sequence[PortSpec]) -> List[dict]:
    out = []
    for spec in ports:
        text = str(spec)
        name, _, rest = text.rpartition("=")
        number, _, proto = rest.partition("/")
        if not number.isdigit():
            raise BadInput(f"port {spec!r}: write 8080, '8080/tcp', '5353/udp' or 'http=8080'")
        port = {"containerPort": int(number), "protocol": (proto or "tcp").upper()}
        if name:
            port["name"] = name
        out.append(port)
    return out


class ClusterBuilder:
    """Collects Kubernetes objects as manifests; `documents` feeds lab.planes.openshift.api.manifests."""

    def __init__(self, source: str = "<python>"):
        self.source = source
        self.node_count: Optional[int] = None
        self.objects: List[dict] = []

    @property
    def documents(self) -> List[Tuple[str, dict]]:
        return [(self.source, obj) for obj in self.objects]

    def nodes(self, count: int) -> None:
        self.node_count = count

    def namespace(self, name: str, labels: Optional[Dict[str, str]] = None) -> None:
        self.objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}})

    def _pod_spec(self, ports: Sequence[PortSpec], image: str, node: Optional[str]) -> dict:
        spec: dict = {"containers": [{"name": "main", "image": image, "ports": container_ports(ports)}]}
        if node:
            spec["nodeName"] = node
        return spec

    def pod(self, name: str, node: Optional[str] = None, namespace: str = "default",
            labels: Optional[Dict[str, str]] = None, ports: Sequence[PortSpec] = (), image: str = "busybox") -> None:
        self.objects.append({"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
                             "spec": self._pod_spec(ports, image, node)})

    def deployment(self, name: str, replicas: int, labels: Dict[str, str], namespace: str = "default",
                   ports: Sequence[PortSpec] = (), image: str = "busybox") -> None:
        self.objects.append({"apiVersion": "apps/v1", "kind": "Deployment",
                             "metadata": {"name": name, "namespace": namespace},
                             "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                                      "template": {"metadata": {"labels": dict(labels)},
                                                   "spec": self._pod_spec(ports, image, None)}}})

    def service(self, name: str, selector: Dict[str, str], ports: Sequence[Union[int, Tuple]],
                namespace: str = "default", cluster_ip: str = "", type: str = "ClusterIP") -> None:
        """ports: 80, (80, 8080), (80, 8080, "UDP"), or (80, 8080, "TCP", 30080) for a NodePort."""
        specs = []
        for p in ports:
            p = p if isinstance(p, tuple) else (p,)
            spec = {"port": p[0], "targetPort": p[1] if len(p) > 1 else p[0],
                    "protocol": (p[2] if len(p) > 2 else "TCP").upper()}
            if len(p) > 3:
                spec["nodePort"] = p[3]
            if len(ports) > 1:
                spec["name"] = f"{spec['protocol'].lower()}-{p[0]}"
            specs.append(spec)
        obj: dict = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
                     "spec": {"selector": dict(selector), "ports": specs, "type": type}}
        if cluster_ip:
            obj["spec"]["clusterIP"] = cluster_ip
        self.objects.append(obj)

    def policy(self, name: str, spec: dict, namespace: str = "default") -> None:
        self.objects.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                             "metadata": {"name": name, "namespace": namespace}, "spec": spec})

    def manifest(self, obj: dict) -> None:
        """Any object as a manifest would give it."""
        self.objects.append(obj)


def load_module(path: str):
    """The user's module, loaded from its file (its `build(c)` is called later, on a fresh builder)."""
    if not os.path.isfile(path):
        raise BadInput(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(f"sdnlab_custom_{abs(hash(path))}", path)
    if spec is None or spec.loader is None:  # Python finds no loader for the file's suffix
        raise BadInput(f"{path}: a cluster module is a Python file (its name ends in .py)")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a user's mistake: one line, nothing created
        raise BadInput(f"{path}: {type(exc).__name__}: {exc}") from None
    if not callable(getattr(module, "build", None)):
        raise BadInput(f"{path}: a cluster module defines build(c) (see lab/planes/openshift/api/builder.py)")
    return module


def run_module(module, path: str) -> ClusterBuilder:
    builder = ClusterBuilder(path)
    try:
        module.build(builder)
    except BadInput as exc:
        raise BadInput(f"{path}: {exc}") from None
    except Exception as exc:
        raise BadInput(f"{path}: build(c) failed: {type(exc).__name__}: {exc}") from None
    return builder
