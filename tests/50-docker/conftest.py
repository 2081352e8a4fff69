"""A 2x2 ovs-subnet cluster whose pods are Docker containers (a daemon per node), built once per test module."""

import functools

import pytest

from lab.cleanup import leftovers


@pytest.fixture(scope="module")
def lab():
    from lab import docker
    from lab.net import running
    from lab.planes.openshift import realize
    from lab.planes.openshift.master.cluster import build_cluster
    from lab.requirements import require_packages

    require_packages(docker.PACKAGES)
    cluster = build_cluster(nodes=2, pods_per_node=2)
    with running(functools.partial(realize.build, runtime="docker"), cluster) as net:
        yield net, cluster
    left = leftovers()
    assert not any(left.values()), f"the lab left behind: {left}"
