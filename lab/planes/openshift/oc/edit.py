"""The `oc` verbs of egress IPs and multicast, registered in lab.planes.openshift.oc.command (they change `ctx.draft()`,
lab.planes.openshift.live applies the difference to every node):

    oc patch hostsubnet NODE -p '{"egressIPs": ["172.16.1.100"], "egressCIDRs": [...]}'
    oc patch netnamespace NS -p '{"egressIPs": ["172.16.1.100"]}'
    oc annotate netnamespace NS netnamespace.network.openshift.io/multicast-enabled=true [--overwrite]
    oc annotate netnamespace NS netnamespace.network.openshift.io/multicast-enabled-

EgressNetworkPolicy objects come with `oc create|apply -f`, `oc get|delete egressnetworkpolicy` (occmd).
`edit(cluster, line)` runs a line on the model alone; `oc_edit(net, cluster, line)` on a running lab.
"""

from __future__ import annotations

from typing import Optional

from lab.errors import BadInput
from lab.planes.openshift.api import egress
from lab.planes.openshift.oc import command as occmd
from lab.planes.openshift.model import Cluster

PATCH_USAGE = "oc patch hostsubnet|netnamespace NAME -p JSON"
ANNOTATE_USAGE = "oc annotate netnamespace NAME KEY=VALUE... [KEY-] [--overwrite]"


def do_patch(ctx: occmd.OcContext) -> None:
    args = ctx.args
    args.only("patch", ["--patch", "--type"])
    words = args.words[0].split("/", 1) if len(args.words) == 1 and "/" in args.words[0] else args.words
    patch = args.flag("--patch")
    if len(words) != 2 or patch is None:
        raise BadInput(f"oc: usage: {PATCH_USAGE}")
    if args.flag("--type", "strategic") not in ("merge", "strategic"):
        raise BadInput("oc patch: the lab takes merge patches (--type merge)")
    kind, name = occmd.kind_of(words[0]), words[1]
    if kind.plural.startswith("hostsubnets"):
        egress.patch_hostsubnet(ctx.draft(), name, egress.parse_patch(patch))
    elif kind.plural.startswith("netnamespaces"):
        egress.patch_netnamespace(ctx.draft(), name, egress.parse_patch(patch))
    else:
        raise BadInput(f"oc patch: the lab patches hostsubnet and netnamespace, not {words[0]!r}")
    ctx.say(f"{kind.name}/{name} patched")


def do_annotate(ctx: occmd.OcContext) -> None:
    args = ctx.args
    args.only("annotate", ["--overwrite"])
    if len(args.words) < 3 or not occmd.kind_of(args.words[0]).plural.startswith("netnamespaces"):
        raise BadInput(f"oc: usage: {ANNOTATE_USAGE}")
    name = args.words[1]
    draft = ctx.draft()
    for pair in args.words[2:]:
        if pair.endswith("-") and "=" not in pair:
            egress.annotate_netnamespace(draft, name, pair[:-1], None)
        elif "=" in pair:
            key, _, value = pair.partition("=")
            egress.annotate_netnamespace(draft, name, key, value, overwrite=args.has("--overwrite"))
        else:
            raise BadInput(f"oc annotate: {pair!r} is not KEY=VALUE or KEY-")
    ctx.say(f"netnamespace.network.openshift.io/{name} annotated")


occmd.register("patch", do_patch, PATCH_USAGE)
occmd.register("annotate", do_annotate, ANNOTATE_USAGE)


def edit(cluster: Cluster, line: str) -> Optional[str]:
    """One `oc` line on the model alone (no lab): the cluster takes the change in place; returns oc's output."""
    outcome = occmd.run(cluster, line)
    if outcome.cluster is not None:
        for f in occmd.fields(Cluster):
            setattr(cluster, f.name, getattr(outcome.cluster, f.name))
    return outcome.output


def oc_edit(net, cluster: Cluster, line: str) -> str:
    """One `oc` line on a running lab (lab.planes.openshift.live.apply): returns oc's output."""
    from lab.planes.openshift import live
    return live.apply(net, cluster, line).output
