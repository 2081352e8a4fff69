"""flannel: leases in a real etcd, a flanneld-like agent per node, vxlan or host-gw, optionally routed."""

from lab.planes.flannel.topology import FlannelTopology

TOPOLOGY = FlannelTopology()
