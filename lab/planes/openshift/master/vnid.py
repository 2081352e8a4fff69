"""NetNamespace NETIDs (VNIDs) as the openshift-sdn 3.11 master hands them out, and `oc adm pod-network`.

The master (pkg/network/master/vnids.go) gives `default` the global VNID 0 and every other namespace an
ID from a bitmap over [10, 2^24-1] with Kubernetes' randomScanStrategy: a random start offset, then the
first free ID scanning forward with wrap-around. Here the random offset is replaced by one derived from
sha256 of the namespace name (and, for a re-isolation, of the name and the command), so the IDs look
random but are the same on every run of the same lab; the scan for a free ID is kept, so collisions
resolve as the master resolves them. Everything here is pure: maps in, new maps out.
"""

from __future__ import annotations

import hashlib
from typing import Dict, Iterable, Mapping, Sequence

from lab.errors import BadInput

GLOBAL_VNID = 0  # pkg/network/netid.go: the default namespace, reaches and is reached by all
MIN_VNID = 10  # 1..9 are reserved
MAX_VNID = (1 << 24) - 1
ADMIN_NAMESPACES = ("default",)  # masterVNIDMap.adminNamespaces: only these get VNID 0 on creation
# the namespaces a fresh 3.11 cluster has before any project is created, in creation order
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "openshift", "openshift-infra")
_RANGE = MAX_VNID - MIN_VNID + 1


def _start_offset(key: str) -> int:
    """The stand-in for randomScanStrategy's rand.Intn(max): stable per key."""
    return int.from_bytes(hashlib.sha256(f"sdnlab/netid/{key}".encode()).digest()[:8], "big") % _RANGE


def _allocate_next(used: Iterable[int], key: str) -> int:
    """AllocateNext(): scan forward from the start offset to the first free ID, wrapping around."""
    taken = set(used)
    offset = _start_offset(key)
    for i in range(_RANGE):
        candidate = MIN_VNID + (offset + i) % _RANGE
        if candidate not in taken:
            return candidate
    raise BadInput("no free NETID left in 10..16777215")


def allocate_netids(namespaces: Sequence[str], existing: Mapping[str, int] | None = None) -> Dict[str, int]:
    """assignVNID() for each namespace in creation order; namespaces already in `existing` keep their ID."""
    netids = dict(existing or {})
    for ns in namespaces:
        if ns in netids:
            continue
        netids[ns] = GLOBAL_VNID if ns in ADMIN_NAMESPACES else _allocate_next(netids.values(), ns)
    return netids


def _check_known(netids: Mapping[str, int], names: Iterable[str]) -> None:
    for ns in names:
        if ns not in netids:
            raise BadInput(f'netnamespaces.network.openshift.io "{ns}" not found')


def join_projects(netids: Mapping[str, int], to: str, names: Sequence[str]) -> Dict[str, int]:
    """`oc adm pod-network join-projects --to=TO NAMES...`: each name takes TO's NETID (TO itself is skipped)."""
    _check_known(netids, [to, *names])
    new = dict(netids)
    for ns in names:
        if ns != to:
            new[ns] = netids[to]
    return new


def make_projects_global(netids: Mapping[str, int], names: Sequence[str]) -> Dict[str, int]:
    """`oc adm pod-network make-projects-global NAMES...`: NETID 0, reaching and reached by every project."""
    _check_known(netids, names)
    new = dict(netids)
    for ns in names:
        new[ns] = GLOBAL_VNID
    return new


def isolate_projects(netids: Mapping[str, int], names: Sequence[str]) -> Dict[str, int]:
    """`oc adm pod-network isolate-projects NAMES...`: a NETID of its own.

    As updateNetID: a namespace that already is the only holder of its ID keeps it; otherwise (joined, or
    global) it gets a freshly allocated ID, allocated before its old one is released.
    """
    _check_known(netids, names)
    if "default" in names:  # the client refuses before it sends anything
        raise BadInput('network isolation for project "default" is forbidden')
    new = dict(netids)
    for ns in names:  # one at a time, as the master handles the annotations
        old = new[ns]
        if old != GLOBAL_VNID and sum(1 for v in new.values() if v == old) == 1:
            continue
        new[ns] = _allocate_next(new.values(), f"{ns}/isolate")
    return new
