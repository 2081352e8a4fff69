"""The cluster as the API server holds it, written to the lab's run directory after every live change, so
another shell (`lab workshop check`) reads what `oc get netnamespaces|endpoints|pods|networkpolicy` would
show now, not what the lab had at start. Pure apart from the one file."""

from __future__ import annotations

import json
import os
from typing import Optional

from lab import paths
from lab.planes.openshift.model import Cluster

FILE = "api.json"


def snapshot(cluster: Cluster) -> dict:
    """NetNamespaces, pods (with labels), services with their endpoints (pod host names), policies."""
    return {
        "netnamespaces": dict(cluster.netids),
        "namespaces": [n.name for n in cluster.namespaces],
        "pods": [{"name": p.host, "namespace": p.namespace, "node": p.node, "ip": p.ip, "labels": dict(p.labels)}
                 for p in cluster.pods],
        "services": [{"name": s.name, "namespace": s.namespace, "clusterIP": s.cluster_ip,
                      "selector": dict(s.selector), "ports": [sp.port for sp in s.ports],
                      "endpoints": sorted({a.pod for addrs in cluster.endpoints(s).values() for a in addrs})}
                     for s in cluster.services],
        "networkpolicies": [{"name": np.name, "namespace": np.namespace} for np in cluster.policies],
    }


def write(name: str, cluster: Cluster) -> None:
    """Atomically: a reader never sees half a file."""
    path = os.path.join(paths.run_dir(name), FILE)
    tmp = path + ".tmp"
    with paths.open_private(tmp) as f:
        json.dump(snapshot(cluster), f, indent=1)
    os.replace(tmp, path)


def read(name: str) -> Optional[dict]:
    """The lab's last written state, or None (an older lab, or nothing written yet)."""
    try:
        with open(os.path.join(paths.run_dir(name), FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
