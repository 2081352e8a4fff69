"""A 2x2 ovs-subnet cluster plus external host, built once per test module."""

import pytest

from lab.cleanup import leftovers


@pytest.fixture(scope="module")
def lab():
    from lab.net import LabNet
    from lab.openshift import realize
    from lab.openshift.model import build_cluster
    from lab.ovs import detect_datapath
    from lab.requirements import require_packages

    require_packages()
    cluster = build_cluster(nodes=2, pods_per_node=2)
    net = LabNet(detect_datapath())
    try:
        realize.build(net, cluster, progress=lambda msg: None)
        yield net, cluster
    finally:
        net.stop()
    left = leftovers()
    assert not any(left.values()), f"the lab left behind: {left}"
