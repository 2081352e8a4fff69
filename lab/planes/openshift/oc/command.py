"""`oc` command lines against the lab's cluster model (pure, apart from reading -f files).

A line is split as a shell splits it (lab.planes.openshift.oc.args) and its verb looked up in VERBS, the one
table of the verbs the lab knows. A verb changes a draft of the cluster, never the cluster it was given:
lab.planes.openshift.live applies a draft to the nodes and only then commits it. A refusal is one Refused
line worded as oc words it, and the model is untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from lab.errors import BadInput, Refused
from lab.planes.openshift.master.settle import settle
from lab.planes.openshift.model import Cluster
from lab.planes.openshift.oc import adm, annotate, apply, delete, get, label, patch
from lab.planes.openshift.oc.args import parse
from lab.planes.openshift.oc.context import OcContext

Verb = Callable[[OcContext], None]
VERBS: Dict[str, Tuple[Verb, str]] = {
    "get": (get.do_get, get.USAGE),
    "create": (apply.do_create, apply.CREATE_USAGE),
    "apply": (apply.do_apply, apply.APPLY_USAGE),
    "delete": (delete.do_delete, delete.USAGE),
    "label": (label.do_label, label.USAGE),
    "adm": (adm.do_adm, adm.USAGE),
    "patch": (patch.do_patch, patch.USAGE),
    "annotate": (annotate.do_annotate, annotate.USAGE),
}


def register(name: str, fn: Verb, usage: str) -> None:
    """Add or replace a verb (an extension's own verb, a test's stand-in)."""
    VERBS[name] = (fn, usage)


def usage() -> str:
    return "; ".join(u for _fn, u in VERBS.values())


@dataclass
class OcOutcome:
    output: str
    cluster: Optional[Cluster]  # the changed cluster, None when the line changes nothing


def run(cluster: Cluster, line: str) -> OcOutcome:
    """Answer one `oc ...` line (without the leading `oc`). Raises BadInput/Refused; the cluster is not touched."""
    args = parse(line)
    if args.words[:1] == ["oc"]:
        args.words = args.words[1:]
    if not args.words or args.words[0] not in VERBS:
        if not args.words:
            raise BadInput(f"oc: give a command ({', '.join(VERBS)})")
        raise Refused(f'Error: unknown command "{args.words[0]}" for "oc" (the lab knows: {", ".join(VERBS)})')
    verb = args.words.pop(0)
    ctx = OcContext(cluster, args, line)
    VERBS[verb][0](ctx)
    draft = ctx._draft
    if draft is not None:
        settle(cluster, draft)
    return OcOutcome("\n".join(ctx.output), draft)


def edit(cluster: Cluster, line: str) -> str:
    """One `oc` line on the model alone (no lab): the cluster takes the change in place; returns oc's output."""
    outcome = run(cluster, line)
    if outcome.cluster is not None:
        cluster.commit(outcome.cluster)
    return outcome.output
