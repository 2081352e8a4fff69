"""What an `oc` verb works with: the line's arguments, the cluster it reads and the draft it changes, and
the resource kinds as oc names them (pure). A verb reads `ctx.cluster` and, to change the cluster, changes
`ctx.draft()` (a copy); a refusal is one Refused line worded as oc words it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from lab.errors import Refused
from lab.planes.openshift.model import Cluster
from lab.planes.openshift.oc.args import OcArgs


class OcContext:
    def __init__(self, cluster: Cluster, args: OcArgs, line: str):
        self.cluster, self.args, self.line = cluster, args, line
        self.output: List[str] = []
        self._draft: Optional[Cluster] = None

    def draft(self) -> Cluster:
        """The cluster to change (made on first use)."""
        if self._draft is None:
            self._draft = self.cluster.copy()
        return self._draft

    def say(self, text: str) -> None:
        self.output.append(text)


@dataclass(frozen=True)
class Kind:
    name: str  # singular, as `oc delete` reports (`pod "x" deleted`)
    plural: str  # as the API names the resource in errors (`pods "x" not found`)
    aliases: Tuple[str, ...]
    namespaced: bool = True


KINDS = [
    Kind("pod", "pods", ("pod", "pods", "po")),
    Kind("service", "services", ("service", "services", "svc")),
    Kind("endpoints", "endpoints", ("endpoints", "ep")),
    Kind("networkpolicy.networking.k8s.io", "networkpolicies.networking.k8s.io",
         ("networkpolicy", "networkpolicies", "netpol")),
    Kind("namespace", "namespaces", ("namespace", "namespaces", "ns"), namespaced=False),
    Kind("project.project.openshift.io", "projects.project.openshift.io", ("project", "projects"), namespaced=False),
    Kind("netnamespace.network.openshift.io", "netnamespaces.network.openshift.io",
         ("netnamespace", "netnamespaces"), namespaced=False),
    Kind("hostsubnet.network.openshift.io", "hostsubnets.network.openshift.io", ("hostsubnet", "hostsubnets"),
         namespaced=False),
    Kind("clusternetwork.network.openshift.io", "clusternetworks.network.openshift.io",
         ("clusternetwork", "clusternetworks"), namespaced=False),
    Kind("egressnetworkpolicy.network.openshift.io", "egressnetworkpolicies.network.openshift.io",
         ("egressnetworkpolicy", "egressnetworkpolicies")),
]


def kind_of(word: str) -> Kind:
    for k in KINDS:
        if word.lower() in k.aliases or word.lower().split(".")[0] in k.aliases:
            return k
    raise Refused(f'error: the server doesn\'t have a resource type "{word}"')


def not_found(kind: Kind, name: str) -> Refused:
    return Refused(f'Error from server (NotFound): {kind.plural} "{name}" not found')


def check_namespace(cluster: Cluster, name: str) -> None:
    if name not in (n.name for n in cluster.namespaces):
        raise Refused(f'Error from server (NotFound): namespaces "{name}" not found')
