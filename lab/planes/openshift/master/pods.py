"""Where a pod goes and what it gets: its node's next free address and OVS port (pure).

The one pod placer: the pods a lab is generated with, the pods manifests create, the pods added at runtime.
The scheduler would pick the node and the CNI plugin's host-local IPAM the address; the lab is repeatable
instead: the first free address of the node's subnet from .2 (.1 is tun0), the first free ofport from 3.
"""

from __future__ import annotations

import ipaddress
import itertools
from typing import Optional, Sequence

from lab.addressing import pod_mac, veth_name
from lab.errors import BadInput
from lab.planes.openshift.api.objects import Pod
from lab.planes.openshift.model import Cluster, HostSubnet

FIRST_OFPORT = 3  # 1 is vxlan0, 2 is tun0
MAX_OFPORT = 65279  # OFPP_MAX: above are OpenFlow's reserved ports


def place_pod(pods: Sequence[Pod], hs: HostSubnet, name: str, namespace: str = "default",
              veth_id: Optional[str] = None, **fields) -> Pod:
    """A pod on hs's node among `pods` (every pod of the cluster: addresses are cluster-wide); its veth name
    derives from veth_id (default: its name). `fields`: the rest of the Pod (labels, ports, vnid, ...)."""
    used = {p.ip for p in pods}
    hosts = itertools.islice(ipaddress.ip_network(hs.subnet).hosts(), 1, None)  # .1 is the gateway
    ip = next((str(a) for a in hosts if str(a) not in used), None)
    if ip is None:
        raise BadInput(f"{hs.name}'s subnet {hs.subnet} has no free address")
    ofports = {p.ofport for p in pods if p.node == hs.name}
    ofport = next(n for n in range(FIRST_OFPORT, MAX_OFPORT + 1) if n not in ofports)
    return Pod(name=name, node=hs.name, ip=ip, mac=pod_mac(ip), veth=veth_name(hs.name, veth_id or name),
               ofport=ofport, namespace=namespace, **fields)


def new_pod(cluster: Cluster, node_name: str, pod_name: Optional[str] = None) -> Pod:
    """A pod started on a node at runtime, in `default`: named pod<N+1> after the highest podN unless named."""
    if node_name not in (h.name for h in cluster.hostsubnets):
        raise BadInput(f"no node named {node_name!r} (nodes: {', '.join(h.name for h in cluster.hostsubnets)})")
    if pod_name is None:
        numbers = [int(p.name[3:]) for p in cluster.pods if p.name.startswith("pod") and p.name[3:].isdigit()]
        pod_name = f"pod{max(numbers, default=0) + 1}"
    taken = [p.name for p in cluster.pods] + [h.name for h in cluster.hostsubnets]
    taken += [cluster.external.name] if cluster.external else []  # as settle() takes it
    if pod_name in taken:
        raise BadInput(f"a host named {pod_name} exists already")
    return place_pod(cluster.pods, cluster.hostsubnet(node_name), pod_name)
