"""What follows any change to the cluster's objects (pure): the master gives every namespace its
NetNamespace, and each pod keeps the lab host it had."""

from __future__ import annotations

from dataclasses import replace

from lab.errors import Refused
from lab.planes.openshift.master.vnid import allocate_netids
from lab.planes.openshift.model import Cluster
from lab.underlay import UNDERLAY_HOST


def settle(old: Cluster, draft: Cluster) -> None:
    """What the master does after any change: every namespace has its NetNamespace (VNID plugins), and a
    pod keeps the lab host it had (a new pod whose name another namespace uses becomes `name.namespace`)."""
    if old.netids:
        names = [n.name for n in draft.namespaces]
        draft.set_netids(allocate_netids(names, existing={k: v for k, v in draft.netids.items() if k in names}))
    hosts = {p.key: p.host for p in old.pods}
    taken = {hs.name for hs in draft.hostsubnets} | {UNDERLAY_HOST} | ({draft.external.name} if draft.external else set())
    taken |= {hosts[p.key] for p in draft.pods if p.key in hosts}
    pods = []
    for p in draft.pods:
        if p.key in hosts:
            p = replace(p, host=hosts[p.key])
        else:
            host = p.name if p.name not in taken else f"{p.name}.{p.namespace}"
            if host in taken:
                raise Refused(f"error: pod {p.key}: its lab host name {host!r} is taken by another host")
            p = replace(p, host=host)
            taken.add(host)
        pods.append(p)
    draft.pods = pods
