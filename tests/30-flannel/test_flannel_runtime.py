"""Runtime changes a workshop makes: nodes joining and leaving, and the etcd operations around leases."""

import pytest

from lab import etcd
from lab.flannel import realize
from lab.observe.ping import ping
from lab.shell import run

pytestmark = pytest.mark.root


def test_node_join_and_leave_update_the_others(fresh_vxlan_lab):
    net, c = fresh_vxlan_lab
    node3 = realize.join(net, c)
    assert node3.subnet == "10.244.2.0/24"
    for other in ("node1", "node2"):
        assert run(net[other], f"ip route show {node3.subnet}") == f"{node3.subnet} via 10.244.2.0 dev flannel.1 onlink"
    assert ping(net["pod1"], node3.gateway, count=2).ok  # cni0 of the new node, across the new tunnel
    assert "/coreos.com/network/subnets/10.244.2.0-24" in realize.leases_in_etcd(net, c)

    realize.leave(net, c, "node3")
    for other in ("node1", "node2"):
        assert run(net[other], f"ip route show {node3.subnet}") == ""
        assert "10.244.2.0" not in run(net[other], "ip neigh show dev flannel.1")
    assert not ping(net["pod1"], node3.gateway, timeout=1).ok
    assert ping(net["pod1"], c.pod("pod3").ip).ok  # the rest is untouched


def test_etcd_operations_from_a_node(fresh_vxlan_lab):
    net, c = fresh_vxlan_lab
    node = net["node1"]
    members = run(node, "etcdctl member list -w table")
    assert "etcd0" in members and f"http://{c.etcd_ip}:2380" in members and "started" in members
    assert f"http://{c.etcd_ip}:2379" in run(node, "etcdctl endpoint status -w table")
    assert "is healthy" in run(node, "etcdctl endpoint health")
    keys = run(node, "etcdctl get / --prefix --keys-only").split()
    assert keys == ["/coreos.com/network/config", "/coreos.com/network/subnets/10.244.0.0-24",
                    "/coreos.com/network/subnets/10.244.1.0-24"]


def test_leases_survive_a_snapshot_restore(fresh_vxlan_lab):
    net, c = fresh_vxlan_lab
    d = realize.etcd_dir()
    host, ep = net["etcd"], etcd.endpoint(c.etcd_ip)
    run(host, f"etcdctl --endpoints {ep} snapshot save {d}/leases.db")
    before = realize.leases_in_etcd(net, c)
    run(host, f"etcdctl --endpoints {ep} del /coreos.com/network/subnets/ --prefix")
    assert realize.leases_in_etcd(net, c) == []
    realize.wait_for(lambda: run(net["node1"], "ip route show dev flannel.1") == "")  # agents followed the loss

    realize.restore_etcd(net, c, f"{d}/leases.db")
    assert realize.leases_in_etcd(net, c) == before
    realize.wait_converged(net, c)
    assert ping(net["pod1"], c.pod("pod3").ip, count=2).ok
