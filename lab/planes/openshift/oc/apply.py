"""`oc create -f` and `oc apply -f`: manifests' objects into a draft of the cluster, as the API server
creates them or updates them where the API allows (pure, apart from reading the files)."""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import Callable, List, Tuple

from lab.errors import BadInput, Refused
from lab.planes.openshift.api import egress, manifests
from lab.planes.openshift.api.objects import Namespace, check_labels
from lab.planes.openshift.master.settle import settle
from lab.planes.openshift.model import Cluster
from lab.planes.openshift.oc.context import OcContext

CREATE_USAGE = "oc create -f FILE [-f FILE...]"
APPLY_USAGE = "oc apply -f FILE [-f FILE...]"
USAGES = {"create": CREATE_USAGE, "apply": APPLY_USAGE}


def _documents(ctx: OcContext, verb: str) -> List[manifests.Document]:
    ctx.args.only(verb, ["--filename", "--namespace"])
    files = ctx.args.flags.get("--filename")
    if not files or ctx.args.words:
        raise BadInput(f"oc: usage: {USAGES[verb]}")
    docs = manifests.load_paths(files)
    if ctx.args.has("--namespace"):  # -n fills in a namespace the objects do not name
        ns = ctx.args.namespace
        docs = [(src, _with_namespace(obj, ns)) for src, obj in docs]
    return docs


def _with_namespace(obj: dict, namespace: str) -> dict:
    if obj.get("kind") in ("Namespace", "Project") or not isinstance(obj.get("metadata"), dict):
        return obj
    obj = copy.deepcopy(obj)
    given = obj["metadata"].get("namespace")
    if given and given != namespace:
        raise Refused(f"error: the namespace from the provided object \"{given}\" does not match the namespace "
                      f"\"{namespace}\". You must pass '--namespace={given}' to perform this operation.")
    obj["metadata"]["namespace"] = namespace
    return obj


def _identity(obj: dict) -> Tuple[str, str, str]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    kind = obj.get("kind")
    ns = "" if kind in ("Namespace", "Project") else (meta.get("namespace") or "default")
    return str(kind), ns, str(meta.get("name"))


def _exists(cluster: Cluster, kind: str, ns: str, name: str) -> bool:
    if kind in ("Namespace", "Project"):
        return any(n.name == name for n in cluster.namespaces)
    if kind == "Pod":
        return any(p.key == f"{ns}/{name}" for p in cluster.pods)
    if kind == "Service":
        return any(s.key == f"{ns}/{name}" for s in cluster.services)
    if kind == "NetworkPolicy":
        return any(p.key == f"{ns}/{name}" for p in cluster.policies)
    if kind == "Deployment":
        return bool(_replicas(cluster, ns, name))
    if kind == "EgressNetworkPolicy":
        return any(p.key == f"{ns}/{name}" for p in cluster.egress_policies)
    return False


def _replicas(cluster: Cluster, ns: str, name: str) -> list:
    pattern = re.compile(rf"^{re.escape(name)}-\d+$")
    return [p for p in cluster.pods if p.namespace == ns and pattern.match(p.name)]


RESOURCE = {"Namespace": "namespaces", "Project": "projects.project.openshift.io", "Pod": "pods",
            "Service": "services", "NetworkPolicy": "networkpolicies.networking.k8s.io",
            "Deployment": "deployments.apps", "EgressNetworkPolicy": "egressnetworkpolicies.network.openshift.io"}
CREATED = {"Namespace": "namespace", "Project": "project.project.openshift.io", "Pod": "pod", "Service": "service",
           "NetworkPolicy": "networkpolicy.networking.k8s.io", "Deployment": "deployment.apps",
           "EgressNetworkPolicy": "egressnetworkpolicy.network.openshift.io",
           "HostSubnet": "hostsubnet.network.openshift.io", "NetNamespace": "netnamespace.network.openshift.io"}


def _namespaces_first(docs: List[manifests.Document]) -> List[manifests.Document]:
    return [d for d in docs if d[1].get("kind") in ("Namespace", "Project")] + \
           [d for d in docs if d[1].get("kind") not in ("Namespace", "Project")]


def do_create(ctx: OcContext) -> None:
    docs = _documents(ctx, "create")
    seen = set()
    for source, obj in docs:
        kind, ns, name = _identity(obj)
        if _exists(ctx.cluster, kind, ns, name) or (kind, ns, name) in seen:
            raise Refused(f'Error from server (AlreadyExists): error when creating "{source}": '
                          f'{RESOURCE.get(kind, kind)} "{name}" already exists')
        seen.add((kind, ns, name))
    manifests.apply_documents(ctx.draft(), docs)
    _network_objects(ctx, docs)
    for _src, obj in _namespaces_first(docs):
        kind, _ns, name = _identity(obj)
        # a HostSubnet or NetNamespace exists with its node or namespace: a manifest sets its fields
        ctx.say(f'{CREATED.get(kind, kind)}/{name} {"configured" if kind in egress.KINDS[:2] else "created"}')


def do_apply(ctx: OcContext) -> None:
    docs = _documents(ctx, "apply")
    draft = ctx.draft()
    for source, obj in _namespaces_first(docs):
        kind, ns, name = _identity(obj)
        if kind in egress.KINDS:
            _network_objects(ctx, [(source, obj)])
            ctx.say(f"{CREATED.get(kind, kind)}/{name} configured")
            continue
        if not _exists(draft, kind, ns, name):
            manifests.apply_documents(draft, [(source, obj)])
            verb = "created"
        else:
            verb = "configured" if _update(draft, kind, ns, name, source, obj) else "unchanged"
        ctx.say(f"{CREATED.get(kind, kind)}/{name} {verb}")


def _network_objects(ctx: OcContext, docs: List[manifests.Document]) -> None:
    """HostSubnet and NetNamespace fields, EgressNetworkPolicies (lab.planes.openshift.api.egress), once the namespaces
    made by the same line have their NetNamespaces."""
    docs = [d for d in docs if d[1].get("kind") in egress.KINDS]
    if docs:
        settle(ctx.cluster, ctx.draft())
        egress.apply_documents(ctx.draft(), docs)


def _scratch(draft: Cluster, source: str, obj: dict, drop: Callable[[Cluster], None]):
    """The object as a create would make it, in a copy of the cluster without its old self."""
    scratch = draft.copy()
    drop(scratch)
    manifests.apply_documents(scratch, [(source, obj)])
    return scratch


def _update(draft: Cluster, kind: str, ns: str, name: str, source: str, obj: dict) -> bool:
    """`oc apply` of an object that exists: its new state replaces the old where the API allows. True if changed."""
    key = f"{ns}/{name}"
    if kind in ("Namespace", "Project"):
        i = next(i for i, n in enumerate(draft.namespaces) if n.name == name)
        _scratch(draft, source, obj, lambda c: c.namespaces.pop(i))  # every field checked as a create would
        labels = check_labels(obj["metadata"].get("labels"), f"{source}: {kind} {name}: metadata.labels")
        if draft.namespaces[i].labels == labels:
            return False
        draft.namespaces[i] = Namespace(name, labels)
        return True
    if kind == "Pod":
        i = next(i for i, p in enumerate(draft.pods) if p.key == key)
        old = draft.pods[i]
        obj = copy.deepcopy(obj)
        if isinstance(obj.get("spec"), dict):  # anything else is refused by the create below
            obj["spec"]["nodeName"] = obj["spec"].get("nodeName") or old.node
        new = next(p for p in _scratch(draft, source, obj, lambda c: c.pods.pop(i)).pods if p.key == key)
        if (new.node, new.ports) != (old.node, old.ports):
            raise Refused(f'The Pod "{name}" is invalid: spec: Forbidden: pod updates may not change fields other '
                          "than `spec.containers[*].image`, `spec.initContainers[*].image`, "
                          "`spec.activeDeadlineSeconds` or `spec.tolerations` (only additions to existing tolerations)")
        if (new.labels, new.image) == (old.labels, old.image):
            return False
        draft.pods[i] = replace(old, labels=new.labels, image=new.image)
        return True
    if kind == "Service":
        i = next(i for i, s in enumerate(draft.services) if s.key == key)
        old = draft.services[i]
        obj = copy.deepcopy(obj)
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        given = spec.get("clusterIP")
        if given and given != old.cluster_ip:
            raise Refused(f'The Service "{name}" is invalid: spec.clusterIP: Invalid value: "{given}": '
                          "field is immutable")
        spec["clusterIP"] = old.cluster_ip
        for port in spec.get("ports") if isinstance(spec.get("ports"), list) else []:  # a nodePort stays with its port
            kept = next((sp.node_port for sp in old.ports if isinstance(port, dict) and sp.node_port
                         and (sp.port, sp.protocol) == (port.get("port"), port.get("protocol", "TCP"))), 0)
            if kept and "nodePort" not in port and spec.get("type") == "NodePort":
                port["nodePort"] = kept
        new = next(s for s in _scratch(draft, source, obj, lambda c: c.services.pop(i)).services if s.key == key)
        if new == old and new.selector == old.selector:
            return False
        draft.services[i] = new
        return True
    if kind == "NetworkPolicy":
        i = next(i for i, p in enumerate(draft.policies) if p.key == key)
        old = draft.policies[i]
        new = next(p for p in _scratch(draft, source, obj, lambda c: c.policies.pop(i)).policies if p.key == key)
        if new.spec == old.spec:
            return False
        draft.policies[i] = new
        return True
    if kind == "Deployment":
        return _update_deployment(draft, ns, name, source, obj)
    raise BadInput(f"{source}: oc apply cannot update a {kind} in the lab")


def _update_deployment(draft: Cluster, ns: str, name: str, source: str, obj: dict) -> bool:
    """The lab keeps a Deployment's pods as they were made: applying the same template and replicas again is
    unchanged; another template or count is refused (delete the pods and apply again)."""
    old = _replicas(draft, ns, name)
    made = _replicas(_scratch(draft, source, obj, lambda c: c.pods.__setitem__(
        slice(None), [p for p in c.pods if p not in old])), ns, name)
    shape = lambda pods: sorted((p.name, tuple(sorted(p.labels.items())), p.ports, p.image) for p in pods)  # noqa: E731
    if shape(made) != shape(old):
        raise Refused(f"error: the lab does not roll out a changed Deployment {ns}/{name}: delete its pods "
                      f"(oc delete pod {' '.join(p.name for p in old)} -n {ns}) and apply it again")
    return False
