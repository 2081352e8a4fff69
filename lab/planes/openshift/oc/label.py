"""`oc label pod|namespace NAME key=value... [key-] [--overwrite]` on a draft of the cluster (pure)."""

from __future__ import annotations

from dataclasses import replace

from lab.errors import BadInput, Refused
from lab.planes.openshift.api.objects import Namespace, check_labels
from lab.planes.openshift.oc.context import OcContext, check_namespace, kind_of, not_found

USAGE = "oc label pod|namespace NAME key=value... [key-] [--overwrite] [-n NS]"


def do_label(ctx: OcContext) -> None:
    args = ctx.args
    args.only("label", ["--namespace", "--overwrite"])
    if len(args.words) < 3:
        raise BadInput(f"oc: usage: {USAGE}")
    kind = kind_of(args.words[0])
    name, changes = args.words[1], args.words[2:]
    draft = ctx.draft()
    if kind.plural == "pods":
        check_namespace(draft, args.namespace)
        index = next((i for i, p in enumerate(draft.pods) if p.key == f"{args.namespace}/{name}"), None)
        current = draft.pods[index].labels if index is not None else None
    elif kind.plural in ("namespaces", "projects.project.openshift.io"):
        index = next((i for i, n in enumerate(draft.namespaces) if n.name == name), None)
        current = draft.namespaces[index].labels if index is not None else None
    else:
        raise Refused(f"error: the lab labels pods and namespaces, not {kind.plural}")
    if index is None:
        raise not_found(kind, name)
    labels = dict(current)
    for word in changes:
        if word.endswith("-") and "=" not in word:
            labels.pop(word[:-1], None)
            continue
        key, eq, value = word.partition("=")
        if not eq:
            raise Refused(f"error: at least one label update is required (not {word!r}: write key=value or key-)")
        check_labels({key: value}, "error: invalid label spec")
        if key in current and current[key] != value and not args.has("--overwrite"):
            raise Refused(f"error: '{key}' already has a value ({current[key]}), and --overwrite is false")
        labels[key] = value
    short = kind.name.split(".")[0]
    if labels == current:
        ctx.say(f"{short}/{name} not labeled")
        return
    if kind.plural == "pods":
        draft.pods[index] = replace(draft.pods[index], labels=labels)
    else:
        draft.namespaces[index] = Namespace(name, labels)
    ctx.say(f"{short}/{name} labeled")
