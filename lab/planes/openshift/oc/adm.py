"""`oc adm pod-network join-projects|make-projects-global|isolate-projects` (multitenant), pure: the
NETIDs change as lab.planes.openshift.master.vnid computes them."""

from __future__ import annotations

from lab.errors import BadInput, Refused
from lab.planes.openshift.master.vnid import isolate_projects, join_projects, make_projects_global
from lab.planes.openshift.model import MULTITENANT_PLUGIN
from lab.planes.openshift.oc.context import OcContext

USAGE = ("oc adm pod-network join-projects --to=NS NS... | make-projects-global NS... | "
         "isolate-projects NS...")

def do_adm(ctx: OcContext) -> None:
    args = ctx.args
    if args.words[:1] != ["pod-network"] or len(args.words) < 2:
        raise BadInput(f"oc: usage: {USAGE}")
    action, projects = args.words[1], args.words[2:]
    actions = {"join-projects": ["--to"], "make-projects-global": [], "isolate-projects": []}
    if action not in actions:
        raise Refused(f'error: unknown command "{action}" for "oc adm pod-network"')
    args.only(f"adm pod-network {action}", actions[action])
    cluster = ctx.cluster
    if cluster.network.plugin != MULTITENANT_PLUGIN:
        raise Refused(f'error: using plugin: "{cluster.network.plugin}", managing pod network is only supported '
                      "for openshift multitenant network plugin")
    if not projects:
        raise Refused("error: must provide --selector=<project_selector> or projects")
    try:
        if action == "join-projects":
            to = args.flag("--to")
            if not to:
                raise Refused("error: must provide --to=<project_name>")
            netids = join_projects(cluster.netids, to, projects)
        elif action == "make-projects-global":
            netids = make_projects_global(cluster.netids, projects)
        else:
            netids = isolate_projects(cluster.netids, projects)
    except Refused:
        raise
    except BadInput as exc:
        raise Refused(f"error: {exc}") from None
    ctx.draft().set_netids(netids)
