"""Flannel data plane: network config and leases in etcd, a flanneld-like agent, vxlan and host-gw backends."""
