"""A 3-node ovs-subnet cluster from cluster.yaml (plus pod1..pod3), built once per test module."""

import os

import pytest

from lab.cleanup import leftovers

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def lab():
    from lab.net import running
    from lab.openshift import manifests, realize
    from lab.openshift.model import build_cluster
    from lab.requirements import require_packages

    require_packages()
    cluster = build_cluster(nodes=3, pods_per_node=1)
    manifests.apply_documents(cluster, manifests.load_paths([os.path.join(HERE, "cluster.yaml")]))
    with running(realize.build, cluster) as net:
        yield net, cluster
    left = leftovers()
    assert not any(left.values()), f"the lab left behind: {left}"
