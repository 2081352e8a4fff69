"""vxlan-p2p: two hosts joined by a point-to-point kernel VXLAN (vxlan20, 10.0.136.0/24)."""

from lab.planes.rawvxlan.topology import VxlanP2P

TOPOLOGY = VxlanP2P()
