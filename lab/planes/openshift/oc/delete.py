"""`oc delete KIND NAME... [-n NS]` on a draft of the cluster (pure)."""

from __future__ import annotations

from lab.errors import BadInput, Refused
from lab.planes.openshift.api import egress
from lab.planes.openshift.oc.context import OcContext, check_namespace, kind_of, not_found

USAGE = "oc delete pod|svc|networkpolicy|egressnetworkpolicy|namespace NAME... [-n NS]"
UNDELETABLE = ("default", "kube-system", "kube-public")  # the namespace lifecycle admission plugin keeps them


def do_delete(ctx: OcContext) -> None:
    args = ctx.args
    args.only("delete", ["--namespace"])
    if len(args.words) < 2:
        raise BadInput(f"oc: usage: {USAGE}")
    kind = kind_of(args.words[0])
    ns = args.namespace
    draft = ctx.draft()
    if kind.namespaced:
        check_namespace(draft, ns)
    for name in args.words[1:]:
        key = f"{ns}/{name}"
        if kind.plural == "pods":
            if not any(p.key == key for p in draft.pods):
                raise not_found(kind, name)
            draft.pods = [p for p in draft.pods if p.key != key]
        elif kind.plural == "services":
            if not any(s.key == key for s in draft.services):
                raise not_found(kind, name)
            draft.services = [s for s in draft.services if s.key != key]
        elif kind.plural.startswith("networkpolicies"):
            if not any(p.key == key for p in draft.policies):
                raise not_found(kind, name)
            draft.policies = [p for p in draft.policies if p.key != key]
        elif kind.plural.startswith("egressnetworkpolicies"):
            egress.delete_egress_network_policy(draft, ns, name)
        elif kind.plural in ("namespaces", "projects.project.openshift.io"):
            if not any(n.name == name for n in draft.namespaces):
                raise not_found(kind, name)
            if name in UNDELETABLE:
                raise Refused(f'Error from server (Forbidden): {kind.plural} "{name}" is forbidden: '
                              "this namespace may not be deleted")
            # the namespace controller deletes what it holds; the master releases its NetNamespace
            draft.namespaces = [n for n in draft.namespaces if n.name != name]
            draft.pods = [p for p in draft.pods if p.namespace != name]
            draft.services = [s for s in draft.services if s.namespace != name]
            draft.policies = [p for p in draft.policies if p.namespace != name]
            draft.netnamespaces = [n for n in draft.netnamespaces if n.name != name]
            draft.egress_policies = [p for p in draft.egress_policies if p.namespace != name]
        else:
            raise Refused(f"error: the lab does not delete {kind.plural}")
        ctx.say(f'{kind.name} "{name}" deleted')
