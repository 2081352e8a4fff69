"""EgressIP, EgressNetworkPolicy and multicast rendering against openshift-sdn 3.11's format strings
(pkg/network/node/ovscontroller.go, egressip.go, iptables.go, common/egressip.go); the oc edits."""

from dataclasses import replace

import pytest

from lab.errors import BadInput
from lab.planes.openshift.api import egress as api_egress
from lab.planes.openshift.api import manifests
from lab.planes.openshift.master import egress as master_egress
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.model import ClusterNetwork, plugin_name
from lab.planes.openshift.node import egress
from lab.planes.openshift.node.flows import render_node_flows
from lab.planes.openshift.node.render import render_node
from lab.planes.openshift.oc.command import edit
from lab.planes.openshift.oc.printers import get_hostsubnets, get_netnamespaces
from lab.state import Address, Iptables

IP = "172.16.1.100"


def cluster(plugin="multitenant", nodes=2):
    return build_cluster(nodes=nodes, pods_per_node=2, network=ClusterNetwork(plugin=plugin_name(plugin)))


@pytest.mark.parametrize("vnid, bit, mark", [
    (0xab, 1, "0x010000aa"), (0, 0x80000000, "0x7f000000"), (0, 0x01000000, "0xfe000000"), (0, 0, "0xff000000"),
    (0x9a4f43, 1, "0x019a4f42"), (0x6f7936, 1, "0x006f7936"), (0, 1, "0xff000000"), (0xdf6553, 1, "0x01df6552"),
])
def test_mark_for_vnid_as_getMarkForVNID(vnid, bit, mark):
    assert egress.mark_for_vnid(vnid, bit) == mark


def test_egress_flows_on_the_egress_node_the_pods_node_and_when_dropped():
    c = cluster()
    vnid = c.netids["p1"]
    api_egress.patch_hostsubnet(c, "node2", {"egressIPs": [IP]})
    api_egress.patch_netnamespace(c, "p1", {"egressIPs": [IP]})
    mark = egress.mark_for_vnid(vnid)
    tun_mac = egress.tun0_mac(c.hostsubnet("node2"))
    assert egress.render_egress_flows(c, "node2") == [
        f"table=100, priority=100, reg0={vnid}, ip, actions=set_field:{tun_mac}->eth_dst,set_field:{mark}->pkt_mark,goto_table:101"]
    assert egress.render_egress_flows(c, "node1") == [
        f"table=100, priority=100, reg0={vnid}, ip, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:172.16.1.12->tun_dst,output:1"]
    # the userspace datapath's carrier: a marker MAC for the VNID, on the egress node only
    assert egress.render_egress_flows(c, "node2", "netdev")[0].endswith(
        f"set_field:{mark}->pkt_mark,set_field:{egress.carrier_mac(vnid)}->eth_src,goto_table:101")
    assert egress.render_egress_flows(c, "node1", "netdev") == egress.render_egress_flows(c, "node1")
    assert f"table=100, priority=100, reg0={vnid}, ip, actions=move:" in "\n".join(render_node_flows(c, "node1"))
    api_egress.patch_hostsubnet(c, "node2", {"egressIPs": []})
    assert egress.render_egress_flows(c, "node1") == [f"table=100, priority=100, reg0={vnid}, actions=drop"]


def test_egress_node_state_address_snat_reject_and_carrier():
    c = cluster()
    vnid = c.netids["p1"]
    api_egress.patch_hostsubnet(c, "node2", {"egressIPs": [IP]})
    api_egress.patch_netnamespace(c, "p1", {"egressIPs": [IP]})
    shown = egress.shown(egress.mark_for_vnid(vnid))
    for datapath, dev in (("system", "eth0"), ("netdev", "br-phy")):
        state = render_node(c, "node2", datapath)
        assert Address(f"{IP}/24", dev) in state.of(Address)
        text = state.of(Iptables)[0].text
        nat = text[text.index("*nat"):]
        assert (f"-A OPENSHIFT-MASQUERADE -s 10.128.0.0/14 -m mark --mark {shown} -j SNAT --to-source {IP}\n"
                '-A OPENSHIFT-MASQUERADE -s 10.128.0.0/14 -m comment --comment "masquerade pod-to-service') in nat
        assert (f"-A OPENSHIFT-FIREWALL-ALLOW -d {IP}/32 -m conntrack --ctstate NEW -j REJECT "
                "--reject-with icmp-port-unreachable") in text
        carriers = [i for i in state.of(Iptables) if i.name == "egress-mark"]
        if datapath == "system":
            assert carriers == []
        else:
            assert (f"-A PREROUTING -i tun0 -m mac --mac-source {egress.carrier_mac(vnid)} -j MARK "
                    f"--set-xmark {shown}/0xffffffff") in carriers[0].text
    node1 = render_node(c, "node1", "netdev")
    assert IP not in node1.of(Iptables)[0].text and not any(IP in a.cidr for a in node1.of(Address))


def test_tracker_follows_3_11_activation_rules():
    c = cluster(nodes=3)
    v1, v2 = c.netids["p1"], c.netids["p2"]
    api_egress.patch_netnamespace(c, "p1", {"egressIPs": ["172.16.1.100", "172.16.1.101"]})
    api_egress.patch_hostsubnet(c, "node2", {"egressIPs": ["172.16.1.100"]})
    api_egress.patch_hostsubnet(c, "node3", {"egressIPs": ["172.16.1.101"]})
    assert master_egress.namespace_egress(c)[v1] == master_egress.NamespaceEgress(v1, "172.16.1.100", "172.16.1.12")
    # several IPs: an offline node's is skipped; the next one is used
    master_egress.set_node_offline(c, "node2")
    assert master_egress.namespace_egress(c)[v1].egress_ip == "172.16.1.101"
    # ... by the nodes that watch node2; node2 watches only the others, so it keeps using its own (D6)
    assert master_egress.namespace_egress(c, viewer="node2")[v1].egress_ip == "172.16.1.100"
    master_egress.set_node_offline(c, "node2", False)
    # one IP only: an offline node changes nothing (traffic is black-holed there)
    api_egress.patch_netnamespace(c, "p1", {"egressIPs": ["172.16.1.100"]})
    master_egress.set_node_offline(c, "node2")
    assert master_egress.namespace_egress(c)[v1].egress_ip == "172.16.1.100"
    master_egress.set_node_offline(c, "node2", False)
    # two nodes claiming one IP: not active, the namespace is dropped (the lab's API refuses the second
    # holder, so the claim is put into the model directly)
    with pytest.raises(BadInput, match="172.16.1.100 is already in use by hostsubnet node2"):
        api_egress.patch_hostsubnet(c, "node3", {"egressIPs": ["172.16.1.100"]})
    _hold(c, "node3", ("172.16.1.100",))
    assert master_egress.namespace_egress(c)[v1].dropped and master_egress.local_egress_ips(c, "node2") == []
    _hold(c, "node3", ())
    # two namespaces asking for one IP: both dropped (refused by the API too; put into the model directly)
    with pytest.raises(BadInput, match="172.16.1.100 is already in use by netnamespace p1"):
        api_egress.patch_netnamespace(c, "p2", {"egressIPs": ["172.16.1.100"]})
    c.put_netnamespace(replace(c.netnamespace("p2"), egress_ips=("172.16.1.100",)))
    states = master_egress.namespace_egress(c)
    assert states[v1].dropped and states[v2].dropped
    # removing the request: normal (no table-100 flow at all)
    api_egress.patch_netnamespace(c, "p1", {"egressIPs": []})
    api_egress.patch_netnamespace(c, "p2", {"egressIPs": None})
    assert master_egress.namespace_egress(c) == {} and egress.render_egress_flows(c, "node1") == []


def _hold(c, node: str, ips: tuple) -> None:
    """A node's egressIPs set in the model itself, past the API's checks (a state 3.11's API would allow)."""
    hs = c.hostsubnet(node)
    c.hostsubnets[c.hostsubnets.index(hs)] = replace(hs, egress_ips=ips)


def test_egress_network_policy_into_table_101():
    c = cluster()
    vnid = c.netids["p1"]
    api_egress.set_egress_network_policy(c, "p1", "default", [
        {"type": "Allow", "to": {"cidrSelector": "192.168.0.0/16"}},
        {"type": "Deny", "to": {"cidrSelector": "192.168.1.0/24"}},
        {"type": "Deny", "to": {"cidrSelector": "0.0.0.0/0"}}])
    assert egress.render_egress_policy_flows(c) == [
        f"table=101, reg0={vnid}, priority=3, ip, nw_dst=192.168.0.0/16, actions=output:2",
        f"table=101, reg0={vnid}, priority=2, ip, nw_dst=192.168.1.0/24, actions=drop",
        f"table=101, reg0={vnid}, priority=1, ip, actions=drop"]
    for node in ("node1", "node2"):  # every node holds every namespace's policy
        assert f"table=101, reg0={vnid}, priority=1, ip, actions=drop" in render_node_flows(c, node)
    # a second policy in the namespace: deny all
    api_egress.set_egress_network_policy(c, "p1", "second", [{"type": "Allow", "to": {"cidrSelector": "10.0.0.0/8"}}])
    assert egress.render_egress_policy_flows(c) == [f"table=101, reg0={vnid}, priority=1, actions=drop"]
    api_egress.delete_egress_network_policy(c, "p1", "second")
    # a shared (joined) NetNamespace: deny all; the global VNID: ignored
    c.set_netids({**c.netids, "p2": vnid})
    assert egress.render_egress_policy_flows(c) == [f"table=101, reg0={vnid}, priority=1, actions=drop"]
    c.set_netids({**c.netids, "p1": 0, "p2": 77})
    assert egress.render_egress_policy_flows(c) == []
    with pytest.raises(BadInput, match="the lab has no DNS"):
        api_egress.set_egress_network_policy(c, "p1", "dns", [{"type": "Allow", "to": {"dnsName": "www.example.com"}}])
    with pytest.raises(BadInput, match="Allow or Deny"):
        api_egress.set_egress_network_policy(c, "p1", "x", [{"type": "Permit", "to": {"cidrSelector": "1.2.3.0/24"}}])
    with pytest.raises(BadInput, match="multitenant or networkpolicy"):
        api_egress.set_egress_network_policy(cluster("subnet"), "default", "x", [])


def test_multicast_tables_110_and_120_as_UpdateLocalMulticastFlows():
    c = cluster()
    vnid = c.netids["p1"]
    assert egress.render_multicast_flows(c, "node1", c.netids) == []
    api_egress.annotate_netnamespace(c, "p1", egress.MULTICAST_ANNOTATION, "true")
    ports = [p.ofport for p in c.pods_on("node1") if p.namespace == "p1"]
    assert egress.render_multicast_flows(c, "node1", c.netids) == [
        f"table=110, reg0={vnid}, actions=goto_table:111",
        f"table=120, priority=100, reg0={vnid}, actions=" + ",".join(f"output:{p}" for p in ports)]
    # ports sorted as strings, as 3.11 sorts the action strings
    c.pods = c.pods + [c.pods[0].__class__(**{**c.pods[0].__dict__, "name": "podx", "ip": "10.128.0.9", "ofport": 10, "host": "podx"})]
    assert egress.render_multicast_flows(c, "node1", c.netids)[1].endswith("actions=output:10,output:3")
    with pytest.raises(BadInput, match="--overwrite is false"):
        api_egress.annotate_netnamespace(c, "p1", egress.MULTICAST_ANNOTATION, "false")
    api_egress.annotate_netnamespace(c, "p1", egress.MULTICAST_ANNOTATION, None)
    assert egress.render_multicast_flows(c, "node1", c.netids) == []
    assert not any(f.startswith("table=110, reg0") for f in render_node_flows(cluster("subnet"), "node1"))


def test_oc_get_shows_egress_columns():
    c = cluster()
    edit(c, """patch hostsubnet node2 -p '{"egressIPs": ["172.16.1.100"], "egressCIDRs": ["172.16.1.96/28"]}'""")
    edit(c, """patch netnamespace p1 -p '{"egressIPs": ["172.16.1.100"]}'""")
    lines = get_hostsubnets(c).splitlines()
    assert lines[0].split() == ["NAME", "HOST", "HOST", "IP", "SUBNET", "EGRESS", "CIDRS", "EGRESS", "IPS"]
    assert lines[2].split() == ["node2", "node2", "172.16.1.12", "10.129.0.0/23", "[172.16.1.96/28]", "[172.16.1.100]"]
    assert lines[1].split()[-2:] == ["[]", "[]"]
    text = get_netnamespaces(c)
    assert text.splitlines()[-2].split() == ["p1", str(c.netids["p1"]), "[172.16.1.100]"]


def _refusal(fn) -> str:
    with pytest.raises(BadInput) as exc:
        fn()
    return str(exc.value)


def test_oc_edits_and_their_mistakes(tmp_path):
    c = cluster()
    assert edit(c, "get pods") == "No resources found."  # lab.planes.openshift.oc.command answers every oc line
    assert edit(c, "annotate netnamespace p1 netnamespace.network.openshift.io/multicast-enabled=true") \
        == "netnamespace.network.openshift.io/p1 annotated"
    assert egress.multicast_enabled(c)[c.netids["p1"]]
    edit(c, "annotate netnamespace p1 netnamespace.network.openshift.io/multicast-enabled=false --overwrite")
    edit(c, "annotate netnamespace p1 netnamespace.network.openshift.io/multicast-enabled-")
    assert all(not n.annotations for n in c.netnamespaces)
    # EgressNetworkPolicy objects through oc create / get / delete
    enp = tmp_path / "enp.yaml"
    enp.write_text("apiVersion: network.openshift.io/v1\nkind: EgressNetworkPolicy\nmetadata: {name: default, "
                   "namespace: p1}\nspec:\n  egress:\n  - {type: Deny, to: {cidrSelector: 172.16.1.254/32}}\n")
    assert edit(c, f"create -f {enp}") == "egressnetworkpolicy.network.openshift.io/default created"
    assert edit(c, "get egressnetworkpolicy -n p1").split() == ["NAME", "default"]
    assert "cidrSelector: 172.16.1.254/32" in edit(c, "get egressnetworkpolicy default -n p1 -o yaml")
    assert "AlreadyExists" in _refusal(lambda: edit(c, f"create -f {enp}"))
    assert edit(c, "delete egressnetworkpolicy default -n p1") == \
        'egressnetworkpolicy.network.openshift.io "default" deleted'
    assert c.egress_policies == []
    for line, words in [
        ("patch hostsubnet node9 -p '{\"egressIPs\": []}'", 'hostsubnets.network.openshift.io "node9" not found'),
        ("patch netnamespace nope -p '{\"egressIPs\": []}'", 'netnamespaces.network.openshift.io "nope" not found'),
        ("patch hostsubnet node1 -p '{\"egressIPs\": [\"10.1.1.1\"]}'", "is not in local network 172.16.1.0/24"),
        ("patch hostsubnet node1 -p '{\"egressIPs\": [\"172.16.1.12\"]}'", "already the address of node2"),
        ("patch hostsubnet node1 -p '{\"subnet\": \"x\"}'", "egressIPs and egressCIDRs only"),
        ("patch hostsubnet node1 -p '{bad'", "not valid JSON"),
        ("patch netnamespace p1 -p '{\"netid\": 5}'", "oc adm pod-network"),
        ("patch hostsubnet node1", "usage: oc patch"),
        ("delete egressnetworkpolicy nope -n p1", 'egressnetworkpolicies.network.openshift.io "nope" not found'),
        ("annotate netnamespace p1 novalue", "not KEY=VALUE or KEY-"),
    ]:
        with pytest.raises(BadInput, match=words.replace("(", r"\(").replace(".", r"\.")):
            edit(c, line)
    with pytest.raises(BadInput, match="need the multitenant or networkpolicy plugin"):
        edit(cluster("subnet"), "patch hostsubnet node1 -p '{\"egressIPs\": [\"172.16.1.100\"]}'")


def test_manifests_carry_hostsubnet_netnamespace_and_egress_network_policy():
    c = cluster()
    docs = [("m.yaml", {"apiVersion": "network.openshift.io/v1", "kind": "HostSubnet", "metadata": {"name": "node2"},
                        "host": "node2", "egressIPs": [IP]}),
            ("m.yaml", {"apiVersion": "network.openshift.io/v1", "kind": "NetNamespace", "metadata": {
                "name": "p1", "annotations": {egress.MULTICAST_ANNOTATION: "true"}}, "netname": "p1", "egressIPs": [IP]}),
            ("m.yaml", {"apiVersion": "network.openshift.io/v1", "kind": "EgressNetworkPolicy",
                        "metadata": {"name": "default", "namespace": "p2"},
                        "spec": {"egress": [{"type": "Deny", "to": {"cidrSelector": "172.16.1.254/32"}}]}})]
    manifests.apply_documents(c, docs)  # the object kinds pass through; their fields wait for NetNamespaces
    api_egress.apply_documents(c, docs)
    assert c.hostsubnet("node2").egress_ips == (IP,) and {n.name: n.egress_ips for n in c.netnamespaces if n.egress_ips} == {"p1": (IP,)}
    assert egress.multicast_enabled(c)[c.netids["p1"]]
    assert [p.egress for p in c.egress_policies] == [(("Deny", "172.16.1.254/32"),)]
    bad = [("b.yaml", {"kind": "HostSubnet", "metadata": {"name": "node1"}, "hostIP": "1.2.3.4"})]
    with pytest.raises(BadInput, match="b.yaml: HostSubnet node1: hostIP is 172.16.1.11"):
        api_egress.apply_documents(c, bad)


def test_lab_run_manifests_set_egress_fields_after_the_netnamespaces_exist(tmp_path):
    import argparse

    from topologies.openshift import TOPOLOGY
    f = tmp_path / "egress.yaml"
    f.write_text("""
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: network.openshift.io/v1
kind: NetNamespace
metadata:
  name: shop
  annotations: {netnamespace.network.openshift.io/multicast-enabled: "true"}
egressIPs: [172.16.1.100]
---
apiVersion: network.openshift.io/v1
kind: HostSubnet
metadata: {name: node1}
egressIPs: [172.16.1.100]
---
apiVersion: network.openshift.io/v1
kind: EgressNetworkPolicy
metadata: {name: default, namespace: shop}
spec:
  egress:
  - {type: Allow, to: {cidrSelector: 172.16.1.0/24}}
  - {type: Deny, to: {cidrSelector: 0.0.0.0/0}}
""")
    parser = argparse.ArgumentParser()
    TOPOLOGY.add_arguments(parser)
    c = TOPOLOGY.model(parser.parse_args(["--plugin", "multitenant", "-f", str(f)]))
    vnid = c.netids["shop"]
    flows = render_node_flows(c, "node1")
    assert f"table=110, reg0={vnid}, actions=goto_table:111" in flows
    assert f"table=101, reg0={vnid}, priority=1, ip, actions=drop" in flows
    assert any(x.startswith(f"table=100, priority=100, reg0={vnid}, ip, actions=set_field:") for x in flows)
    with pytest.raises(BadInput, match="no NetNamespaces"):
        TOPOLOGY.model(parser.parse_args(["-f", str(f)]))  # the subnet plugin


def test_gratuitous_arp_frame_as_arping_sends_it():
    from lab.daemons.garp import frame
    mac = bytes.fromhex("0200ac10010c")
    f = frame(mac, IP, 2)
    assert len(f) == 42 and f[:6] == b"\xff" * 6 and f[6:12] == mac and f[12:14] == b"\x08\x06"
    assert f[20:22] == b"\x00\x02" and f[22:28] == mac and f[28:32] == bytes([172, 16, 1, 100]) == f[38:42]
    assert frame(mac, IP, 1)[32:38] == b"\x00" * 6  # -U: a request with an empty target MAC


def test_automatic_mode_allocates_namespace_ips_to_nodes_by_egress_cidrs():
    c = cluster(nodes=3)
    for node in ("node2", "node3"):
        edit(c, f"""patch hostsubnet {node} -p '{{"egressCIDRs": ["172.16.1.96/28"]}}'""")
    edit(c, """patch netnamespace p1 -p '{"egressIPs": ["172.16.1.100"]}'""")
    edit(c, """patch netnamespace p2 -p '{"egressIPs": ["172.16.1.101"]}'""")
    held = {hs.name: hs.egress_ips for hs in c.hostsubnets}
    assert held == {"node1": (), "node2": ("172.16.1.101",), "node3": ("172.16.1.100",)}  # one each
    assert master_egress.namespace_egress(c)[c.netids["p1"]].node_ip == "172.16.1.13"
    # the master finds node3 offline: its IP moves to a node whose CIDRs hold it; no rebalancing on return
    master_egress.set_node_offline(c, "node3")
    assert c.hostsubnet("node2").egress_ips == ("172.16.1.101", "172.16.1.100") and c.hostsubnet("node3").egress_ips == ()
    master_egress.set_node_offline(c, "node3", False)
    assert c.hostsubnet("node2").egress_ips == ("172.16.1.101", "172.16.1.100")
    # IPs outside every CIDR stay unassigned (dropped); a namespace with several IPs is left to manual HA
    edit(c, """patch netnamespace p1 -p '{"egressIPs": ["172.16.1.200"]}'""")
    assert master_egress.namespace_egress(c)[c.netids["p1"]].dropped
    edit(c, """patch netnamespace p1 -p '{"egressIPs": ["172.16.1.102", "172.16.1.103"]}'""")
    assert "172.16.1.102" not in c.hostsubnet("node2").egress_ips + c.hostsubnet("node3").egress_ips
    with pytest.raises(BadInput, match="not in local network"):
        edit(c, """patch hostsubnet node1 -p '{"egressCIDRs": ["10.0.0.0/24"]}'""")


def test_an_egress_ip_is_never_a_host_address_the_subnet_edges_or_taken(tmp_path):
    """Issue 14.2: with egressCIDRs covering the whole underlay, asking for node1's address was accepted and
    node2 announced it. Every address a host of the underlay has, the network and broadcast addresses, and an
    address another node or namespace holds are refused, by hand and in automatic mode."""
    c = cluster(nodes=3)
    edit(c, """patch hostsubnet node2 -p '{"egressCIDRs": ["172.16.1.0/24"]}'""")
    before = (list(c.hostsubnets), list(c.netnamespaces))
    for ip, words in [("172.16.1.11", "already the address of node1"), ("172.16.1.12", "already the address of node2"),
                      ("172.16.1.254", "already the address of ext"), ("172.16.1.0", "not in local network"),
                      ("172.16.1.255", "not in local network")]:
        for line in (f"""patch netnamespace p1 -p '{{"egressIPs": ["{ip}"]}}'""",
                     f"""patch hostsubnet node3 -p '{{"egressIPs": ["{ip}"]}}'"""):
            assert words in _refusal(lambda line=line: edit(c, line))
    assert (list(c.hostsubnets), list(c.netnamespaces)) == before
    edit(c, """patch netnamespace p1 -p '{"egressIPs": ["172.16.1.100"]}'""")
    assert c.hostsubnet("node2").egress_ips == ("172.16.1.100",)  # automatic mode placed it
    assert "already in use by netnamespace p1" in _refusal(
        lambda: edit(c, """patch netnamespace p2 -p '{"egressIPs": ["172.16.1.100"]}'"""))
    assert "already in use by hostsubnet node2" in _refusal(
        lambda: edit(c, """patch hostsubnet node3 -p '{"egressIPs": ["172.16.1.100"]}'"""))
    # the allocator skips a taken address even when the model asks for one (an older record, a host added later)
    c.put_netnamespace(replace(c.netnamespace("p2"), egress_ips=("172.16.1.11",)))
    master_egress.reallocate_egress_ips(c)
    assert c.hostsubnet("node2").egress_ips == ("172.16.1.100",)
    assert [ip for ip, _vnid in master_egress.local_egress_ips(c, "node2")] == ["172.16.1.100"]
