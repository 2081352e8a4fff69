"""docker-vxlan: two hosts, each a bridge for 172.20.0.0/16 with a container; `connect` adds VXLAN 100."""

from lab.planes.rawvxlan.topology import DockerVxlan

TOPOLOGY = DockerVxlan()
