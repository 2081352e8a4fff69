"""sdnlab: container-cluster networks rebuilt from real kernel objects."""

PREFIX = "sdnlab"
