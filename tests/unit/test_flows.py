"""Rendering against the flow strings of openshift-sdn 3.11's ovscontroller.go (subnet plugin)."""

from lab.observe.flows import as_stored
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.model import ClusterNetwork, HostSubnet, plugin_name
from lab.planes.openshift.node.flows import render_hostsubnet_flows, render_node_flows, render_vxlan_multicast_flow
from lab.planes.openshift.node.iptables import USERSPACE_SERVICE_SNAT, render_node_iptables

# SetupOVS() for node1 of the default cluster (10.128.0.0/23, gateway .1, node IP 172.16.1.11),
# written out by hand from ovscontroller.go with useConnTrack=false
EXPECTED_BASE = """\
table=0, priority=200, in_port=1, arp, nw_src=10.128.0.0/14, nw_dst=10.128.0.0/23, actions=move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],goto_table:10
table=0, priority=200, in_port=1, ip, nw_src=10.128.0.0/14, actions=move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],goto_table:10
table=0, priority=200, in_port=1, ip, nw_dst=10.128.0.0/14, actions=move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],goto_table:10
table=0, priority=150, in_port=1, actions=drop
table=0, priority=250, in_port=2, ip, nw_dst=224.0.0.0/4, actions=drop
table=0, priority=200, in_port=2, arp, nw_src=10.128.0.1, nw_dst=10.128.0.0/14, actions=goto_table:30
table=0, priority=200, in_port=2, ip, actions=goto_table:30
table=0, priority=150, in_port=2, actions=drop
table=0, priority=100, arp, actions=goto_table:20
table=0, priority=100, ip, actions=goto_table:20
table=0, priority=0, actions=drop
table=10, priority=0, actions=drop
table=20, priority=0, actions=drop
table=21, priority=0, actions=goto_table:30
table=30, priority=300, arp, nw_dst=10.128.0.1, actions=output:2
table=30, priority=200, arp, nw_dst=10.128.0.0/23, actions=goto_table:40
table=30, priority=100, arp, nw_dst=10.128.0.0/14, actions=goto_table:50
table=30, priority=300, ip, nw_dst=10.128.0.1, actions=output:2
table=30, priority=100, ip, nw_dst=172.30.0.0/16, actions=goto_table:60
table=30, priority=200, ip, nw_dst=10.128.0.0/23, actions=goto_table:70
table=30, priority=100, ip, nw_dst=10.128.0.0/14, actions=goto_table:90
table=30, priority=50, in_port=1, ip, nw_dst=224.0.0.0/4, actions=goto_table:120
table=30, priority=25, ip, nw_dst=224.0.0.0/4, actions=goto_table:110
table=30, priority=0, ip, actions=goto_table:100
table=30, priority=0, arp, actions=drop
table=40, priority=0, actions=drop
table=50, priority=0, actions=drop
table=60, priority=200, reg0=0, actions=output:2
table=60, priority=0, actions=drop
table=70, priority=0, actions=drop
table=80, priority=300, ip, nw_src=10.128.0.1/32, actions=output:NXM_NX_REG2[]
table=80, priority=0, actions=drop
table=90, priority=0, actions=drop
table=100, priority=300,udp,udp_dst=4789,actions=drop
table=100, priority=200,tcp,tcp_dst=53,nw_dst=172.16.1.11,actions=output:2
table=100, priority=200,udp,udp_dst=53,nw_dst=172.16.1.11,actions=output:2
table=100, priority=0, actions=goto_table:101
table=101, priority=0, actions=output:2
table=110, priority=0, actions=drop
table=120, priority=0, actions=drop
table=253, actions=note:00.07
table=80, priority=200, actions=output:NXM_NX_REG2[]
""".splitlines()


def test_node_flows_are_setupovs_plus_remote_subnets_plus_pods():
    c = build_cluster(2, 2)
    flows = render_node_flows(c, "node1")
    node2 = c.hostsubnet("node2")
    cookie = f"0x{node2.cookie:08x}"
    assert flows == EXPECTED_BASE + [
        f"table=10, priority=100, cookie={cookie}, tun_src=172.16.1.12, actions=goto_table:30",
        f"table=50, priority=100, cookie={cookie}, arp, nw_dst=10.129.0.0/23, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:172.16.1.12->tun_dst,output:1",
        f"table=90, priority=100, cookie={cookie}, ip, nw_dst=10.129.0.0/23, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:172.16.1.12->tun_dst,output:1",
        "table=111, priority=100, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:172.16.1.12->tun_dst,output:1,goto_table:120",
        "table=20, priority=100, in_port=3, arp, nw_src=10.128.0.2, arp_sha=00:00:0a:80:00:02/00:00:ff:ff:ff:ff, actions=load:0->NXM_NX_REG0[], goto_table:21",
        "table=20, priority=100, in_port=3, ip, nw_src=10.128.0.2, actions=load:0->NXM_NX_REG0[], goto_table:21",
        "table=40, priority=100, arp, nw_dst=10.128.0.2, actions=output:3",
        "table=70, priority=100, ip, nw_dst=10.128.0.2, actions=load:0->NXM_NX_REG1[], load:3->NXM_NX_REG2[], goto_table:80",
        "table=20, priority=100, in_port=4, arp, nw_src=10.128.0.3, arp_sha=00:00:0a:80:00:03/00:00:ff:ff:ff:ff, actions=load:0->NXM_NX_REG0[], goto_table:21",
        "table=20, priority=100, in_port=4, ip, nw_src=10.128.0.3, actions=load:0->NXM_NX_REG0[], goto_table:21",
        "table=40, priority=100, arp, nw_dst=10.128.0.3, actions=output:4",
        "table=70, priority=100, ip, nw_dst=10.128.0.3, actions=load:0->NXM_NX_REG1[], load:4->NXM_NX_REG2[], goto_table:80",
    ]


def test_every_table_of_the_311_pipeline_is_programmed():
    tables = {int(f.split(",")[0].split("=")[1]) for f in render_node_flows(build_cluster(2, 1), "node2")}
    assert tables == {0, 10, 20, 21, 30, 40, 50, 60, 70, 80, 90, 100, 101, 110, 111, 120, 253}


def test_hostsubnet_cookie_is_sha256_of_uid():
    hs = HostSubnet("node9", "172.16.1.19", "10.131.2.0/23", "a4ab1e6e-0f4c-11e9-8c4d-525400f8b8b8")
    assert render_hostsubnet_flows(hs)[0] == \
        "table=10, priority=100, cookie=0xc64f5065, tun_src=172.16.1.19, actions=goto_table:30"


def test_vxlan_multicast_flow_sorts_actions_as_strings():
    assert render_vxlan_multicast_flow(["172.16.1.12", "172.16.1.100"]) == (
        "table=111, priority=100, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],"
        "set_field:172.16.1.100->tun_dst,output:1,set_field:172.16.1.12->tun_dst,output:1,goto_table:120")
    assert render_vxlan_multicast_flow([]) == "table=111, priority=100, actions=goto_table:120"


def test_single_node_has_no_remote_flows():
    flows = render_node_flows(build_cluster(1, 1), "node1")
    assert not [f for f in flows if "cookie=" in f]
    assert "table=111, priority=100, actions=goto_table:120" in flows


def test_overrides_reach_the_flows():
    c = build_cluster(2, 0, ClusterNetwork(cidr="10.0.0.0/16", host_subnet_length=8, vxlan_port=4790))
    flows = render_node_flows(c, "node2")
    assert "table=100, priority=300,udp,udp_dst=4790,actions=drop" in flows
    assert "table=30, priority=300, ip, nw_dst=10.0.1.1, actions=output:2" in flows


def test_note_is_padded_as_the_switch_stores_it():
    assert as_stored(["table=253, actions=note:00.07"]) == ["table=253, actions=note:00.07.00.00.00.00"]
    assert as_stored(["table=1, actions=note:01.02.03.04.05.06.07"]) == \
        ["table=1, actions=note:01.02.03.04.05.06.07.00.00.00.00.00.00.00"]


def test_iptables_chains_of_the_subnet_plugin():
    rules = render_node_iptables(ClusterNetwork())
    assert '-A OPENSHIFT-MASQUERADE -s 10.128.0.0/14 -m comment --comment "masquerade pod-to-service and pod-to-external traffic" -j MASQUERADE' in rules
    assert '-A OPENSHIFT-FIREWALL-ALLOW -p udp -m udp --dport 4789 -m comment --comment "VXLAN incoming" -j ACCEPT' in rules
    forward = [line for line in rules.splitlines() if line.startswith("-A FORWARD")]
    assert [line.split()[-1] for line in forward] == ["OPENSHIFT-ADMIN-OUTPUT-RULES", "OPENSHIFT-FIREWALL-FORWARD"]
    assert "OPENSHIFT-MASQUERADE-2" not in rules


def test_iptables_chains_of_the_multitenant_plugin_masquerade_services_too():
    rules = render_node_iptables(ClusterNetwork(plugin=plugin_name("multitenant")))
    assert '-A OPENSHIFT-MASQUERADE -s 10.128.0.0/14 -m comment --comment "masquerade pod-to-service and pod-to-external traffic" -j MASQUERADE' in rules
    assert "OPENSHIFT-MASQUERADE-2" not in rules


def test_iptables_chains_of_the_networkpolicy_plugin_keep_pod_sources_inside_the_cluster():
    """iptables.go at 3.11 with masqueradeServices = !useConnTrack = false: the Go strings, as iptables-save prints them."""
    rules = render_node_iptables(ClusterNetwork(plugin=plugin_name("networkpolicy")))
    nat = rules[rules.index("*nat"):].splitlines()
    assert nat == [
        "*nat",
        ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]",
        ":OPENSHIFT-MASQUERADE - [0:0]", ":OPENSHIFT-MASQUERADE-2 - [0:0]",
        '-A POSTROUTING -m comment --comment "rules for masquerading OpenShift traffic" -j OPENSHIFT-MASQUERADE',
        '-A OPENSHIFT-MASQUERADE -s 10.128.0.0/14 -m comment --comment "masquerade pod-to-external traffic" -j OPENSHIFT-MASQUERADE-2',
        '-A OPENSHIFT-MASQUERADE-2 -d 10.128.0.0/14 -m comment --comment "masquerade pod-to-external traffic" -j RETURN',
        "-A OPENSHIFT-MASQUERADE-2 -j MASQUERADE",
        "COMMIT",
    ]
    assert "pod-to-service" not in rules
    # the filter table is the other plugins' (nothing in iptables.go depends on the plugin there)
    assert rules[:rules.index("*nat")] == render_node_iptables(ClusterNetwork())[:rules.index("*nat")]


def test_the_networkpolicy_plugin_on_the_userspace_datapath_masquerades_dnated_pod_traffic():
    """The lab's one rule of its own, first in OPENSHIFT-MASQUERADE-2, only on the userspace datapath."""
    network = ClusterNetwork(plugin=plugin_name("networkpolicy"))
    rules = render_node_iptables(network, userspace=True).splitlines()
    masq2 = [line for line in rules if line.startswith("-A OPENSHIFT-MASQUERADE-2")]
    assert masq2 == [USERSPACE_SERVICE_SNAT,
                     '-A OPENSHIFT-MASQUERADE-2 -d 10.128.0.0/14 -m comment --comment "masquerade pod-to-external '
                     'traffic" -j RETURN',
                     "-A OPENSHIFT-MASQUERADE-2 -j MASQUERADE"]
    assert USERSPACE_SERVICE_SNAT.startswith("-A OPENSHIFT-MASQUERADE-2 -m conntrack --ctstate DNAT ")
    assert USERSPACE_SERVICE_SNAT not in render_node_iptables(network)
    for plugin in ("subnet", "multitenant"):  # they masquerade pod-to-service anyway
        other = ClusterNetwork(plugin=plugin_name(plugin))
        assert render_node_iptables(other, userspace=True) == render_node_iptables(other)
