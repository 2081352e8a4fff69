"""Flannel labs for this folder's tests; each is torn down and checked for leftovers."""

import pytest

from lab.daemons import cni, etcd
from lab.front.pytest_plugin import built_lab


def flannel_lab(backend="vxlan", routed=False, nodes=2, pods_per_node=2):
    from lab.planes.flannel import realize
    from lab.planes.flannel.model import FlannelConfig, build_flannel_cluster
    cluster = build_flannel_cluster(nodes, pods_per_node, FlannelConfig(backend=backend), routed=routed)
    return built_lab(realize.build, cluster, {**etcd.PACKAGES, **cni.PACKAGES})


@pytest.fixture(scope="module")
def vxlan_lab():
    with flannel_lab("vxlan") as lab:
        yield lab


@pytest.fixture(scope="module")
def hostgw_lab():
    with flannel_lab("host-gw") as lab:
        yield lab


@pytest.fixture
def fresh_vxlan_lab():
    """A lab the test may change (join, leave, etcd restore)."""
    with flannel_lab("vxlan") as lab:
        yield lab


@pytest.fixture(params=["host-gw", "vxlan"])
def routed_lab(request):
    with flannel_lab(request.param, routed=True) as lab:
        yield lab
