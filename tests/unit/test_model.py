"""Cluster model: allocation in the real allocator's order, validation of bad input."""

import pytest

from lab.addressing import pod_mac
from lab.errors import BadInput
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.master.pods import new_pod
from lab.planes.openshift.master.subnets import allocate_host_subnets
from lab.planes.openshift.model import ClusterNetwork


def test_hostsubnets_follow_openshift_allocator_order():
    subnets = [str(s) for s in allocate_host_subnets("10.128.0.0/14", 9, 9)]
    assert subnets == ["10.128.0.0/23", "10.129.0.0/23", "10.130.0.0/23", "10.131.0.0/23",
                       "10.128.2.0/23", "10.129.2.0/23", "10.130.2.0/23", "10.131.2.0/23", "10.128.4.0/23"]


def test_allocator_without_rotation_when_subnet_bits_stay_in_one_octet():
    assert [str(s) for s in allocate_host_subnets("10.1.0.0/16", 8, 3)] == ["10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/24"]


def test_allocator_rotation_for_sub_octet_host_bits():
    # openshift-sdn's own example: 10.1.0.0/16 with hostBits=6 uses 10.1.N.0/26 first
    assert [str(s) for s in allocate_host_subnets("10.1.0.0/16", 6, 3)] == ["10.1.0.0/26", "10.1.1.0/26", "10.1.2.0/26"]
    assert str(allocate_host_subnets("10.1.0.0/16", 6, 257)[256]) == "10.1.0.64/26"


def test_default_cluster_two_by_two():
    c = build_cluster(2, 2)
    assert [(h.name, h.host_ip, h.subnet, h.gateway) for h in c.hostsubnets] == [
        ("node1", "172.16.1.11", "10.128.0.0/23", "10.128.0.1"),
        ("node2", "172.16.1.12", "10.129.0.0/23", "10.129.0.1"),
    ]
    assert [(p.name, p.node, p.ip, p.mac, p.ofport) for p in c.pods] == [
        ("pod1", "node1", "10.128.0.2", "0a:58:0a:80:00:02", 3),
        ("pod2", "node1", "10.128.0.3", "0a:58:0a:80:00:03", 4),
        ("pod3", "node2", "10.129.0.2", "0a:58:0a:81:00:02", 3),
        ("pod4", "node2", "10.129.0.3", "0a:58:0a:81:00:03", 4),
    ]
    assert c.external.ip == "172.16.1.254"
    assert len({p.veth for p in c.pods}) == 4 and all(p.veth.startswith("veth") and len(p.veth) == 12 for p in c.pods)


def test_allocation_is_deterministic():
    a, b = build_cluster(3, 3), build_cluster(3, 3)
    assert a.pods == b.pods and a.hostsubnets == b.hostsubnets
    assert len({h.cookie for h in a.hostsubnets}) == 3


def test_pod_mac_from_ip():
    assert pod_mac("10.131.2.17") == "0a:58:0a:83:02:11"


def test_defaults_are_openshift_311():
    cn = ClusterNetwork()
    assert (cn.cidr, cn.host_subnet_length, cn.service_network, cn.vxlan_port, cn.mtu) == (
        "10.128.0.0/14", 9, "172.30.0.0/16", 4789, 1450)
    assert cn.version_note == "00.07"


@pytest.mark.parametrize("kwargs, words", [
    ({"cidr": "10.128.0.0/33"}, "invalid cluster network CIDR"),
    ({"cidr": "10.128.0.1/14"}, "invalid cluster network CIDR"),
    ({"cidr": "banana"}, "invalid cluster network CIDR"),
    ({"service_network": "300.1.0.0/16"}, "invalid service network CIDR"),
    ({"host_subnet_length": 19}, "does not fit"),
    ({"host_subnet_length": 1}, "at least 2"),
    ({"vxlan_port": 70000}, "out of range"),
])
def test_bad_cluster_network(kwargs, words):
    with pytest.raises(BadInput, match=words):
        ClusterNetwork(**kwargs)


def test_more_nodes_than_subnets():
    with pytest.raises(BadInput, match="3 nodes need 3 host subnets"):
        build_cluster(3, 1, ClusterNetwork(host_subnet_length=17))


def test_more_pods_than_a_subnet_holds():
    with pytest.raises(BadInput, match="do not fit a /23"):
        build_cluster(1, 510)
    assert len(build_cluster(1, 509).pods) == 509


def test_a_new_pod_takes_the_first_free_address_and_ofport():
    cluster = build_cluster(2, 2)
    cluster.pods.remove(cluster.pod("pod1"))
    pod = new_pod(cluster, "node1", "web")
    assert (pod.name, pod.ip, pod.ofport, pod.mac) == ("web", "10.128.0.2", 3, "0a:58:0a:80:00:02")
    for node, name in (("node1", "pod2"), ("node1", "ext"), ("node1", "node2"), ("node9", "web")):
        with pytest.raises(BadInput):
            new_pod(cluster, node, name)
