"""`oc patch hostsubnet NODE -p '{"egressIPs": [...], "egressCIDRs": [...]}'` and `oc patch netnamespace NS -p
'{"egressIPs": [...]}'` (merge patches) on a draft of the cluster (pure; lab.planes.openshift.api.egress)."""

from __future__ import annotations

from lab.errors import BadInput
from lab.planes.openshift.api import egress
from lab.planes.openshift.oc.context import OcContext, kind_of

USAGE = "oc patch hostsubnet|netnamespace NAME -p JSON"


def do_patch(ctx: OcContext) -> None:
    args = ctx.args
    args.only("patch", ["--patch", "--type"])
    words = args.words[0].split("/", 1) if len(args.words) == 1 and "/" in args.words[0] else args.words
    patch = args.flag("--patch")
    if len(words) != 2 or patch is None:
        raise BadInput(f"oc: usage: {USAGE}")
    if args.flag("--type", "strategic") not in ("merge", "strategic"):
        raise BadInput("oc patch: the lab takes merge patches (--type merge)")
    kind, name = kind_of(words[0]), words[1]
    if kind.plural.startswith("hostsubnets"):
        egress.patch_hostsubnet(ctx.draft(), name, egress.parse_patch(patch))
    elif kind.plural.startswith("netnamespaces"):
        egress.patch_netnamespace(ctx.draft(), name, egress.parse_patch(patch))
    else:
        raise BadInput(f"oc patch: the lab patches hostsubnet and netnamespace, not {words[0]!r}")
    ctx.say(f"{kind.name}/{name} patched")
