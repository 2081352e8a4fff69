"""A 2x2 ovs-subnet cluster plus external host, built once per test module."""

import pytest

from lab.daemons import ovs
from lab.front.pytest_plugin import built_lab
from lab.planes.openshift import realize
from lab.planes.openshift.master.cluster import build_cluster


@pytest.fixture(scope="module")
def lab():
    with built_lab(realize.build, build_cluster(nodes=2, pods_per_node=2), ovs.PACKAGES) as lab:
        yield lab
