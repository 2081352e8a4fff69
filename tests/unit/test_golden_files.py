"""The golden readers (lab.observe.golden) on the project's own goldens: change sections, settled composition,
iptables-save chains."""

import os

from lab.observe.golden import (
    fill_change,
    iptables_chains,
    read_change,
    read_flows,
    read_iptables,
    read_iptables_change,
    rule_changes,
)

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MT = os.path.join(TESTS, "12-openshift-plugins", "golden")
SVC = os.path.join(TESTS, "11-openshift-objects", "golden")
RULE80 = "table=80, priority=100,reg0=0x69d729,reg1=0x69d729 actions=output:NXM_NX_REG2[]"


def test_an_event_leaves_out_the_later_syncvnidrules_section_and_settled_applies_it():
    event = read_change(os.path.join(MT, "change-join-projects.diff"))
    settled = read_change(os.path.join(MT, "change-join-projects.diff"), settled=True)
    for node in ("node1", "node2"):
        added, removed = event[node]
        assert len(added) == 5 and len(removed) == 5 and RULE80 not in removed
        assert settled[node] == (added, removed | {RULE80})


def test_settled_cancels_an_addition_the_sync_removes_again():
    settled = read_change(os.path.join(MT, "change-namespace-created-multitenant.diff"), settled=True)
    assert settled == {"node1": (set(), set()), "node2": (set(), set())}
    event = read_change(os.path.join(MT, "change-namespace-created-multitenant.diff"))
    assert [len(a) for a, _r in event.values()] == [1, 1]


def test_flow_goldens_have_no_header_lines_and_are_sorted():
    flows = read_flows(os.path.join(MT, "multitenant-node1.flows"))
    assert flows == sorted(flows) and len(flows) == 57 and not any(f.startswith("#") for f in flows)


def test_iptables_annotations_are_not_part_of_the_rule_and_chains_keep_their_order():
    chains = read_iptables(os.path.join(SVC, "services-node1.iptables"))
    assert chains[("filter", "KUBE-FIREWALL")] == [
        '-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets" '
        '-m mark --mark 0x8000/0x8000 -j DROP']
    assert chains[("nat", "KUBE-NODEPORT-HOST")] == []  # the unidler's empty chain is declared
    assert iptables_chains(["*nat", ":X - [0:0]", "-A X -j B", "-A X -j A", "COMMIT"]) == {("nat", "X"): ["-A X -j B", "-A X -j A"]}


def test_an_iptables_change_golden_reads_per_node_and_table_and_an_empty_section_is_no_change():
    change = read_iptables_change(os.path.join(MT, "change-egress-ip-assigned-node2-multitenant.iptables.diff"))
    assert change["node1"] == {"filter": (set(), set()), "nat": (set(), set())}
    snat = "-A OPENSHIFT-MASQUERADE -s 10.128.0.0/14 -m mark --mark 0x153cff0 -j SNAT --to-source 172.16.1.100"
    assert change["node2"]["nat"] == ({snat}, set())
    (reject,), removed = change["node2"]["filter"]
    assert reject.startswith("-A OPENSHIFT-FIREWALL-ALLOW -d 172.16.1.100/32") and removed == set()


def test_rule_changes_are_per_table_added_and_removed_and_fill_change_edits_every_flow():
    before = {"filter": {"-A X -j ACCEPT"}, "nat": {"-A Y -j SNAT"}}
    after = {"filter": {"-A X -j ACCEPT", "-A X -j DROP"}, "nat": set()}
    assert rule_changes(before, after) == {"filter": ({"-A X -j DROP"}, set()), "nat": (set(), {"-A Y -j SNAT"})}
    edited = fill_change({"node1": ({"a,goto_table:101"}, {"b"})}, lambda f: f.replace(",goto", ",x,goto"))
    assert edited == {"node1": ({"a,x,goto_table:101"}, {"b"})}
