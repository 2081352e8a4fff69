"""Clusters of this folder, each built once per test module: `lab`, a 3-node ovs-subnet cluster from
cluster.yaml (plus generated pod1..pod3); `svc_lab`, the same services on each of the three plugins with
the client pods of clients.yaml (built through the openshift topology, as `lab run` builds it)."""

import os

import pytest

from lab.daemons import ovs
from lab.front.pytest_plugin import built_lab, topology_args
from lab.planes.openshift import realize
from lab.planes.openshift.api import manifests
from lab.planes.openshift.master.cluster import build_cluster

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGINS = ("subnet", "multitenant", "networkpolicy")


@pytest.fixture(scope="module")
def lab():
    cluster = build_cluster(nodes=3, pods_per_node=1)
    manifests.apply_documents(cluster, manifests.load_paths([os.path.join(HERE, "cluster.yaml")]))
    with built_lab(realize.build, cluster, ovs.PACKAGES) as lab:
        yield lab


def plugin_cluster(plugin: str):
    import topologies
    topology = topologies.load("openshift")
    args = topology_args(topology, plugin=plugin, nodes=3, pods_per_node=0,
                         filename=[os.path.join(HERE, "clients.yaml"), os.path.join(HERE, "cluster.yaml")])
    return topology.model(args)


@pytest.fixture(scope="module", params=PLUGINS)
def svc_lab(request):
    with built_lab(realize.build, plugin_cluster(request.param), ovs.PACKAGES) as lab:
        yield lab
