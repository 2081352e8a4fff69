"""The desired state of an OpenShift node, rendered for a 2x2 cluster, and the change a new pod makes."""

import pytest

from lab.apply import diff_script
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.master.pods import new_pod
from lab.planes.openshift.node.flows import render_node_flows
from lab.planes.openshift.node.render import render_node, render_pod
from lab.state import Address, Flow, Iptables, Link, OvsBridge, OvsPort, OvsTunnelNeighbour, Route, Sysctl, diff


@pytest.fixture
def cluster():
    return build_cluster(nodes=2, pods_per_node=2)


@pytest.mark.parametrize("datapath", ["system", "netdev"])
def test_node1_state(cluster, datapath):
    s = render_node(cluster, "node1", datapath)
    assert Sysctl("net.ipv4.ip_forward", "1") in s.items
    assert Address("10.128.0.1/23", "tun0", "noprefixroute") in s.items
    assert s.of(Route) == [Route("10.128.0.0/14", dev="tun0", scope="link"), Route("172.30.0.0/16", dev="tun0")]
    ports = {p.name: dict(p.columns) for p in s.of(OvsPort) if p.bridge == "br0"}
    assert list(ports) == ["vxlan0", "tun0", cluster.pod("pod1").veth, cluster.pod("pod2").veth]
    assert ports["vxlan0"] == {"type": "vxlan", "options:remote_ip": "flow", "options:key": "flow",
                               "options:dst_port": "4789", "ofport_request": "1"}
    assert ports["tun0"] == {"type": "internal", "ofport_request": "2", "mtu_request": "1450"}
    assert ports[cluster.pod("pod2").veth] == {"ofport_request": "4", "external-ids:ip": "10.128.0.3",
                                               "external-ids:sandbox": "pod2"}
    [br0] = [b for b in s.of(OvsBridge) if b.name == "br0"]
    assert dict(br0.columns) == {"datapath_type": datapath, "fail_mode": "secure", "protocols": "OpenFlow13"}
    assert s.flows("br0") == render_node_flows(cluster, "node1")
    assert len(s.of(Iptables)) == 1 and "OPENSHIFT-MASQUERADE" in s.of(Iptables)[0].text
    links = {link.name: link for link in s.of(Link)}
    assert links["tun0"].mtu == 1450
    if datapath == "system":  # the node IP stays on eth0, with its stable MAC; no br-phy
        assert Address("172.16.1.11/24", "eth0") in s.items and links["eth0"].mac == "02:00:ac:10:01:0b"
        assert [b.name for b in s.of(OvsBridge)] == ["br0"] and not s.of(OvsTunnelNeighbour)
        assert links["tun0"].tx_checksum
    else:  # userspace tunnelling: the node IP on br-phy, which holds eth0; OVS's neighbour cache seeded
        assert Address("172.16.1.11/24", "br-phy") in s.items
        assert OvsPort("br-phy", "eth0") in s.items
        assert s.of(OvsTunnelNeighbour) == [OvsTunnelNeighbour("br-phy", "172.16.1.12", "02:00:ac:10:01:0c")]
        assert not links["tun0"].tx_checksum and not links["br-phy"].tx_checksum


def test_pod_state(cluster):
    s = render_pod(cluster, "pod3", "netdev")
    [eth0] = [link for link in s.of(Link) if link.name == "eth0"]
    assert (eth0.kind, eth0.peer, eth0.peer_host, eth0.mac, eth0.mtu) == (
        "veth", cluster.pod("pod3").veth, "node2", "0a:58:0a:81:00:02", 1450)
    assert Address("10.129.0.2/23", "eth0") in s.items
    assert s.of(Route) == [Route("default", via="10.129.0.1"), Route("10.128.0.0/14", dev="eth0"),
                           Route("224.0.0.0/4", dev="eth0")]


def test_a_pod_added_on_node1_changes_only_its_port_and_flows(cluster):
    before = {hs.name: render_node(cluster, hs.name, "netdev") for hs in cluster.hostsubnets}
    pod = new_pod(cluster, "node1")
    assert (pod.name, pod.ip, pod.ofport) == ("pod5", "10.128.0.4", 5)
    cluster.pods.append(pod)
    change = diff(before["node1"], render_node(cluster, "node1", "netdev"))
    assert not change.removed and not change.replaced
    assert change.of(OvsPort).added == (OvsPort("br0", pod.veth, (("ofport_request", "5"),
                                                                 ("external-ids:ip", "10.128.0.4"),
                                                                 ("external-ids:sandbox", "pod5"))),)
    assert change.of(Link).added == (Link(pod.veth),)
    flows = change.of(Flow).added
    assert [f.table for f in flows] == [20, 20, 40, 70] and all("10.128.0.4" in f.text for f in flows)
    # userspace datapath: the node-side veth must not answer ARP (the node's kernel would route around br0)
    assert change.of(Sysctl).added == (Sysctl(f"net.ipv4.conf.{pod.veth}.arp_ignore", "8"),)
    assert len(change.added) == 7
    assert not diff(before["node2"], render_node(cluster, "node2", "netdev"))
    script = diff_script(change).splitlines()
    assert [line.split()[0] for line in script if not line.startswith(("add ", "SDNLAB_EOF"))] == \
        ["sysctl", "ip", "ovs-vsctl", "ovs-ofctl", "ovs-appctl"]  # veth up, one vsctl transaction, one flow
    # bundle, then a revalidator round: the datapath's cached flows follow the tables before apply returns
    # and back: the pod gone, the same items go, its flows before its port
    with_pod = render_node(cluster, "node1", "netdev")
    cluster.pods.remove(pod)
    undo = diff(with_pod, render_node(cluster, "node1", "netdev"))
    assert undo.removed == change.added and not undo.added and not undo.replaced
    script = diff_script(undo).splitlines()
    assert script[0].endswith("add-flows br0 /dev/stdin <<'SDNLAB_EOF'") and script[1].startswith("delete_strict")
    assert script[-2:] == [f"ovs-vsctl --if-exists del-port br0 {pod.veth}", "ovs-appctl revalidator/wait"]


def test_flannel_lease_entries_and_their_change():
    from lab.planes.flannel.render import Lease, lease_state
    from lab.state import FdbEntry, Neighbour
    lease = Lease("10.244.1.0/24", "172.16.1.12", "vxlan", "aa:bb:cc:00:00:01")
    s = lease_state(lease)
    assert s.items == (Neighbour("10.244.1.0", "aa:bb:cc:00:00:01", "flannel.1"),
                       FdbEntry("aa:bb:cc:00:00:01", "flannel.1", "172.16.1.12"),
                       Route("10.244.1.0/24", via="10.244.1.0", dev="flannel.1", onlink=True))
    assert diff_script(diff(lease_state(None), lease_state(None))) == ""
    # the node moved (new public IP): only its FDB entry changes, the route and neighbour stay
    moved = diff(s, lease_state(Lease("10.244.1.0/24", "172.16.1.99", "vxlan", "aa:bb:cc:00:00:01")))
    assert not moved.added and not moved.removed and [new for _old, new in moved.replaced] == [
        FdbEntry("aa:bb:cc:00:00:01", "flannel.1", "172.16.1.99")]
    gone = diff(s, lease_state(None))
    assert diff_script(gone).splitlines() == ["ip -batch /dev/stdin <<'SDNLAB_EOF'",
                                              "route del 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink",
                                              "neigh del 10.244.1.0 dev flannel.1",
                                              "SDNLAB_EOF",
                                              "bridge fdb del aa:bb:cc:00:00:01 dev flannel.1 dst 172.16.1.12 self"]
    assert lease_state(Lease("10.244.1.0/24", "172.16.1.12", "host-gw")).items == (
        Route("10.244.1.0/24", via="172.16.1.12", dev="eth0"),)


def test_a_vxlan_lease_without_its_vtep_mac_is_an_error_of_the_agent_not_a_command(tmp_path, monkeypatch):
    """A hand-written vxlan lease without VtepMAC: no `lladdr None` command; the agent takes away what the
    lease had, records the error and follows the other leases."""
    import argparse

    from lab.errors import BadInput
    from lab.planes.flannel import agent
    from lab.planes.flannel.render import Lease, lease_state
    with pytest.raises(BadInput, match="10.244.1.0/24 of 172.16.1.12 has no VtepMAC"):
        lease_state(Lease("10.244.1.0/24", "172.16.1.12", "vxlan"))
    ran = []
    monkeypatch.setattr(agent, "run_local", lambda script: ran.append(script) or "")
    a = agent.Agent(argparse.Namespace(etcd="http://127.0.0.1:2379", subnet="10.244.0.0/24", iface="eth0",
                                       dir=str(tmp_path)))
    good = Lease("10.244.1.0/24", "172.16.1.12", "vxlan", "aa:bb:cc:00:00:01")
    other = Lease("10.244.2.0/24", "172.16.1.13", "vxlan", "aa:bb:cc:00:00:02")
    a.reconcile({good.subnet: good, other.subnet: other})
    assert set(a.applied) == {good.subnet, other.subnet} and not a.errors
    ran.clear()
    a.reconcile({good.subnet: Lease(good.subnet, good.public_ip, "vxlan"), other.subnet: other})
    assert ran == [diff_script(diff(lease_state(good), lease_state(None)))]  # only the old lease's entries go
    assert set(a.applied) == {other.subnet}
    assert a.errors == ["10.244.1.0/24: vxlan lease 10.244.1.0/24 of 172.16.1.12 has no VtepMAC"]


def test_flannel_node_state():
    from lab.planes.flannel.model import build_flannel_cluster
    from lab.planes.flannel.render import render_node as flannel_node
    c = build_flannel_cluster(nodes=2, pods_per_node=2, routed=True)
    s = flannel_node(c, c.node("node2"))
    links = {link.name: link for link in s.of(Link)}
    assert (links["cni0"].kind, links["cni0"].mtu) == ("bridge", 1450)
    assert [link.master for link in s.of(Link) if link.name.startswith("veth")] == ["cni0", "cni0"]
    assert Address("10.244.1.1/24", "cni0") in s.items and Address("172.16.2.12/24", "eth0") in s.items
    assert s.of(Route) == [Route("172.16.1.0/24", via="172.16.2.1")]  # the other segment, behind the router


def test_docker_vxlan_connect_adds_only_the_vxlan_port():
    from lab.planes.rawvxlan import realize as rawvxlan
    lab = rawvxlan.RawVxlan("docker")
    change = diff(rawvxlan.render_host(lab, "host1"), rawvxlan.render_host(lab, "host1", connected=True))
    assert change.added == (Link("vxlan100", kind="vxlan", master="br0",
                                 options="id 100 remote 172.16.1.12 dstport 4789 dev eth0"),)
    assert not change.removed and not change.replaced
