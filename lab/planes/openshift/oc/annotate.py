"""`oc annotate netnamespace NS netnamespace.network.openshift.io/multicast-enabled=true [--overwrite]`, or
`KEY-` to remove one, on a draft of the cluster (pure; lab.planes.openshift.api.egress)."""

from __future__ import annotations

from lab.errors import BadInput
from lab.planes.openshift.api import egress
from lab.planes.openshift.oc.context import OcContext, kind_of

USAGE = "oc annotate netnamespace NAME KEY=VALUE... [KEY-] [--overwrite]"


def do_annotate(ctx: OcContext) -> None:
    args = ctx.args
    args.only("annotate", ["--overwrite"])
    if len(args.words) < 3 or not kind_of(args.words[0]).plural.startswith("netnamespaces"):
        raise BadInput(f"oc: usage: {USAGE}")
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
