"""`oc get KIND [NAME] [-n NS | --all-namespaces] [-o wide|yaml]`, answered from the model (pure)."""

from __future__ import annotations

from typing import List, Optional, Tuple

from lab.errors import BadInput, Refused
from lab.planes.openshift.model import Cluster
from lab.planes.openshift.oc import printers as oc
from lab.planes.openshift.oc.context import Kind, OcContext, check_namespace, kind_of, not_found

USAGE = "oc get KIND [NAME] [-n NS | --all-namespaces] [-o wide|yaml]"
TABLES = {"pods": oc.get_pods, "services": oc.get_services, "endpoints": oc.get_endpoints,
          "networkpolicies.networking.k8s.io": oc.get_networkpolicies,
          "egressnetworkpolicies.network.openshift.io": oc.get_egressnetworkpolicies}


def _objects(cluster: Cluster, kind: Kind, namespace: Optional[str]) -> List[Tuple[str, dict]]:
    """(name, API object) of a kind, in the API server's order."""
    def here(obj) -> bool:
        return namespace is None or obj.namespace == namespace
    if kind.plural == "pods":
        return [(p.name, oc.pod_object(cluster, p)) for p in cluster.pods if here(p)]
    if kind.plural == "services":
        return [(s.name, oc.service_object(cluster, s))
                for s in sorted(cluster.services, key=lambda s: s.key) if here(s)]
    if kind.plural.startswith("networkpolicies"):
        return [(p.name, oc.policy_object(cluster, p))
                for p in sorted(cluster.policies, key=lambda p: p.key) if here(p)]
    if kind.plural in ("namespaces", "projects.project.openshift.io"):
        return [(n.name, oc.namespace_object(cluster, n)) for n in sorted(cluster.namespaces, key=lambda n: n.name)]
    if kind.plural.startswith("netnamespaces"):
        return [(n.name, oc.netnamespace_object(cluster, n)) for n in sorted(cluster.netnamespaces, key=lambda n: n.name)]
    if kind.plural.startswith("egressnetworkpolicies"):
        return [(p.name, oc.egressnetworkpolicy_object(cluster, p))
                for p in sorted(cluster.egress_policies, key=lambda p: p.key) if here(p)]
    raise Refused(f"error: -o yaml is not offered for {kind.plural} in the lab")


def do_get(ctx: OcContext) -> None:
    args, cluster = ctx.args, ctx.cluster
    args.only("get", ["--namespace", "--all-namespaces", "--output"])
    if not args.words or len(args.words) > 2:
        raise BadInput(f"oc: usage: {USAGE}")
    kind = kind_of(args.words[0])
    name = args.words[1] if len(args.words) == 2 else None
    output = args.flag("--output", "")
    if output not in ("", "wide", "yaml"):
        raise Refused(f"error: unable to match a printer suitable for the output format \"{output}\" "
                      "(the lab prints: wide, yaml)")
    namespace: Optional[str] = None if args.has("--all-namespaces") and name is None else args.namespace
    if kind.namespaced and namespace is not None:
        check_namespace(cluster, namespace)
    if kind.plural.startswith("netnamespaces") and not cluster.netids:
        raise Refused('error: the server doesn\'t have a resource type "netnamespaces"')
    if output == "yaml":
        objs = _objects(cluster, kind, namespace if kind.namespaced else None)
        if name is not None:
            objs = [o for o in objs if o[0] == name]
            if not objs:
                raise not_found(kind, name)
        ctx.say(oc.as_yaml([o for _n, o in objs], single=name is not None))
        return
    if kind.plural in TABLES:
        text = TABLES[kind.plural](cluster, namespace=namespace, wide=output == "wide")
    elif kind.plural.startswith("netnamespaces"):
        text = oc.get_netnamespaces(cluster)
    elif kind.plural.startswith("hostsubnets"):
        text = oc.get_hostsubnets(cluster)
    elif kind.plural.startswith("clusternetworks"):
        text = oc.get_clusternetwork(cluster)
    else:
        text = oc.get_namespaces(cluster)
    if name is not None:  # the header and the named row
        lines = text.splitlines()
        rows = [r for r in lines[1:] if r.split()[0] == name]
        if not rows:
            raise not_found(kind, name)
        text = "\n".join(lines[:1] + rows)
    ctx.say(text)
