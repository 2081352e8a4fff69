"""`oc` lines that change the cluster, for egress IPs, multicast and EgressNetworkPolicies (shlex-parsed):

    oc patch hostsubnet NODE -p '{"egressIPs": ["172.16.1.100"]}'
    oc patch netnamespace NS -p '{"egressIPs": ["172.16.1.100"]}'
    oc annotate netnamespace NS netnamespace.network.openshift.io/multicast-enabled=true [--overwrite]
    oc annotate netnamespace NS netnamespace.network.openshift.io/multicast-enabled-
    oc create -f FILE            # EgressNetworkPolicy (also HostSubnet/NetNamespace fields)
    oc delete egressnetworkpolicy NAME [-n NS]
    oc get egressnetworkpolicy [-n NS]

Each edits the model (lab.openshift.egress), then the running lab takes only the difference
(realize.apply_change). `edit(cluster, line)` is the pure half; `oc_edit(net, cluster, line)` both.
"""

from __future__ import annotations

import shlex
from typing import Callable, Optional, Tuple

from lab.errors import BadInput
from lab.openshift import egress
from lab.openshift.model import Cluster
from lab.table import format_table

USAGE = ("usage: oc patch hostsubnet|netnamespace NAME -p JSON | oc annotate netnamespace NAME KEY=VALUE|KEY- "
         "[--overwrite] | oc create -f FILE | oc delete egressnetworkpolicy NAME [-n NS] | "
         "oc get egressnetworkpolicy [-n NS]")
HOSTSUBNET = ("hostsubnet", "hostsubnets")
NETNAMESPACE = ("netnamespace", "netnamespaces", "netns")
ENP = ("egressnetworkpolicy", "egressnetworkpolicies")


def _options(words, *flags: str) -> Tuple[list, dict]:
    """Positional words, and the value of each flag given (`-p X`, `-p=X`, `--patch X`)."""
    rest, found, i = [], {}, 0
    while i < len(words):
        w = words[i]
        name, eq, value = w.partition("=")
        if name in flags:
            if eq:
                found[name] = value
            elif i + 1 < len(words):
                found[name], i = words[i + 1], i + 1
            else:
                raise BadInput(f"oc: flag needs an argument: {w}")
        elif w == "--overwrite":
            found[w] = "true"
        else:
            rest.append(w)
        i += 1
    return rest, found


def edit(cluster: Cluster, line: str) -> Optional[str]:
    """Apply one `oc` line (without `oc`) to the model; returns what oc prints, or None if it is not an edit."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise BadInput(f"oc: {exc}") from None
    if not words or words[0] not in ("patch", "annotate", "create", "delete", "get"):
        return None
    if words[0] == "get" and (len(words) < 2 or words[1] not in ENP):
        return None  # the other resources: lab.openshift.oc
    verb = words[0]
    if verb == "patch":
        rest, opts = _options(words[1:], "-p", "--patch", "--type")
        patch = opts.get("-p", opts.get("--patch"))
        if len(rest) == 1 and "/" in rest[0]:
            rest = rest[0].split("/", 1)
        if len(rest) != 2 or patch is None:
            raise BadInput(USAGE)
        kind, name = rest
        if opts.get("--type", "merge") not in ("merge", "strategic"):
            raise BadInput("oc patch: the lab takes merge patches (--type merge)")
        if kind in HOSTSUBNET:
            egress.patch_hostsubnet(cluster, name, egress.parse_patch(patch))
            return f"hostsubnet.network.openshift.io/{name} patched"
        if kind in NETNAMESPACE:
            egress.patch_netnamespace(cluster, name, egress.parse_patch(patch))
            return f"netnamespace.network.openshift.io/{name} patched"
        raise BadInput(f"oc patch: the lab patches hostsubnet and netnamespace, not {kind!r}")
    if verb == "annotate":
        rest, opts = _options(words[1:])
        if len(rest) < 3 or rest[0] not in NETNAMESPACE:
            raise BadInput(USAGE)
        name = rest[1]
        for pair in rest[2:]:
            if pair.endswith("-") and "=" not in pair:
                egress.annotate_netnamespace(cluster, name, pair[:-1], None)
            elif "=" in pair:
                key, _, value = pair.partition("=")
                egress.annotate_netnamespace(cluster, name, key, value, overwrite="--overwrite" in opts)
            else:
                raise BadInput(f"oc annotate: {pair!r} is not KEY=VALUE or KEY-")
        return f"netnamespace.network.openshift.io/{name} annotated"
    if verb == "create":
        rest, opts = _options(words[1:], "-f", "--filename")
        path = opts.get("-f", opts.get("--filename"))
        if rest or not path:
            raise BadInput("usage: oc create -f FILE")
        from lab.openshift.manifests import load_paths
        docs = load_paths([path])
        other = [d[1].get("kind") for d in docs if d[1].get("kind") not in egress.KINDS]
        if other:
            raise BadInput(f"oc create: a running lab takes {', '.join(egress.KINDS)} objects, not {other[0]!r}")
        egress.apply_documents(cluster, docs)
        return "\n".join(f"{d[1]['kind'].lower()}.network.openshift.io/{d[1]['metadata']['name']} created" for d in docs)
    rest, opts = _options(words[1:], "-n", "--namespace")
    namespace = opts.get("-n", opts.get("--namespace", "default"))
    if verb == "delete":
        if len(rest) != 2 or rest[0] not in ENP:
            raise BadInput("usage: oc delete egressnetworkpolicy NAME [-n NS]")
        egress.delete_egress_network_policy(cluster, namespace, rest[1])
        return f'egressnetworkpolicy.network.openshift.io "{rest[1]}" deleted'
    rows = [[p.name] for p in cluster.egress_policies if p.namespace == namespace]
    return format_table(["NAME"], rows) if rows else "No resources found."


def oc_edit(net, cluster: Cluster, line: str, apply: Optional[Callable] = None) -> Optional[str]:
    """edit(), then the running lab follows: every node re-rendered, only the difference applied."""
    answer = edit(cluster, line)
    if answer is not None and not line.split()[0] == "get":
        from lab.openshift import realize
        (apply or realize.apply_change)(net, cluster)
    return answer
