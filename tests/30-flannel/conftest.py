"""Flannel labs for this folder's tests; each is torn down and checked for leftovers."""

from contextlib import contextmanager

import pytest

from lab.cleanup import leftovers


@contextmanager
def flannel_lab(backend="vxlan", routed=False, nodes=2, pods_per_node=2):
    from lab.flannel import realize
    from lab.flannel.model import FlannelConfig, build_flannel_cluster
    from lab.net import running
    from lab.requirements import require_packages

    require_packages()
    cluster = build_flannel_cluster(nodes, pods_per_node, FlannelConfig(backend=backend), routed=routed)
    with running(realize.build, cluster) as net:
        yield net, cluster
    left = leftovers()
    assert not any(left.values()), f"the lab left behind: {left}"


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
