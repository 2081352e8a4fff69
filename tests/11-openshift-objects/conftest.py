"""A 3-node ovs-subnet cluster from cluster.yaml (plus pod1..pod3), built once per test module."""

import os

import pytest

from lab import ovs
from lab.openshift import manifests, realize
from lab.openshift.model import build_cluster
from lab.pytest_plugin import built_lab

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def lab():
    cluster = build_cluster(nodes=3, pods_per_node=1)
    manifests.apply_documents(cluster, manifests.load_paths([os.path.join(HERE, "cluster.yaml")]))
    with built_lab(realize.build, cluster, ovs.PACKAGES) as lab:
        yield lab
