"""openshift: OpenShift SDN 3.11 (subnet, multitenant, networkpolicy), per-node OVS br0, VXLAN, tun0 + NAT."""

from lab.planes.openshift.topology import OpenShiftTopology

TOPOLOGY = OpenShiftTopology()
