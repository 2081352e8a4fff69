"""An egress IP change that fails while it is being applied is undone on the node that had taken it: its second
address, its SNAT and firewall rules, its flows; the model, `oc get` and api.json as before."""

import pytest
from labstate import differences, lab_state, manifest, refuse_a_flow

from lab.daemons import ovs
from lab.errors import LabError
from lab.front.pytest_plugin import built_lab
from lab.planes.openshift import live, realize
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.model import ClusterNetwork, plugin_name
from lab.shell import run

pytestmark = pytest.mark.root

EGRESS_IP = "172.16.1.100"
EGRESS = f"""\
    apiVersion: network.openshift.io/v1
    kind: HostSubnet
    metadata: {{name: node2}}
    host: node2
    egressIPs: [{EGRESS_IP}]
    ---
    apiVersion: network.openshift.io/v1
    kind: NetNamespace
    metadata: {{name: p1}}
    netname: p1
    egressIPs: [{EGRESS_IP}]
    """


@pytest.fixture(scope="module")
def mt_lab():
    cluster = build_cluster(nodes=2, pods_per_node=2, network=ClusterNetwork(plugin=plugin_name("multitenant")))
    with built_lab(realize.build, cluster, ovs.PACKAGES) as lab:
        yield lab


def test_a_failed_egress_ip_takes_the_address_and_rules_off_the_node_that_took_them(mt_lab, tmp_path, monkeypatch):
    """node2 takes p1's egress IP (a second address on its underlay interface, the SNAT and firewall rules,
    the marking flow); node1's switch refuses its table-100 flow: node2 gives all of it back."""
    net, c = mt_lab
    before = lab_state(net, c)
    refuse_a_flow(monkeypatch, "node1", lambda cluster: any(n.egress_ips for n in cluster.netnamespaces))
    with pytest.raises(LabError, match="frobnicate"):
        live.apply(net, c, f"oc apply -f {manifest(tmp_path, EGRESS)}")
    monkeypatch.undo()
    assert c.hostsubnet("node2").egress_ips == () and not any(n.egress_ips for n in c.netnamespaces)
    assert EGRESS_IP not in run(net["node2"], "ip -4 addr")
    assert differences(before, lab_state(net, c)) == {}
    live.apply(net, c, f"oc apply -f {manifest(tmp_path, EGRESS)}")  # and the same change, unrefused, is taken
    assert EGRESS_IP in run(net["node2"], "ip -4 addr") and c.hostsubnet("node2").egress_ips == (EGRESS_IP,)

