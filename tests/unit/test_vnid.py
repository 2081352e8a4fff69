"""NetNamespace NETIDs and `oc adm pod-network`, held to pkg/network/master/vnids.go (3.11)."""

import pytest

from lab.errors import BadInput
from lab.planes.openshift.api.objects import NetNamespace
from lab.planes.openshift.master import vnid
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.master.vnid import allocate_netids, isolate_projects, join_projects, make_projects_global
from lab.planes.openshift.model import MULTITENANT_PLUGIN, SUBNET_PLUGIN, Cluster, ClusterNetwork
from lab.planes.openshift.oc.printers import get_netnamespaces

NAMESPACES = ("default", "kube-system", "kube-public", "openshift", "openshift-infra", "p1", "p2")


def test_default_is_global_and_every_other_namespace_gets_a_distinct_id_in_range():
    ids = allocate_netids(NAMESPACES)
    assert ids["default"] == 0
    others = [ids[n] for n in NAMESPACES if n != "default"]
    assert all(10 <= v <= (1 << 24) - 1 for v in others)
    assert len(set(others)) == len(others)
    # random-looking: not a sequence from the bottom of the range
    assert sorted(others) != list(range(10, 10 + len(others)))


def test_the_same_lab_gets_the_same_ids_on_every_run_and_a_namespace_keeps_its_id():
    assert allocate_netids(NAMESPACES) == allocate_netids(NAMESPACES)
    assert allocate_netids(NAMESPACES)["p1"] == allocate_netids(["default", "p1"])["p1"]


def test_a_taken_id_makes_the_scan_move_on_to_the_next_free_one(monkeypatch):
    # two namespaces whose start offsets collide: the second gets the next ID, as randomScanStrategy scans
    monkeypatch.setattr(vnid, "_start_offset", lambda key: 5)
    assert allocate_netids(["default", "a", "b", "c"]) == {"default": 0, "a": 15, "b": 16, "c": 17}


def test_the_scan_wraps_around_at_the_top_of_the_range(monkeypatch):
    monkeypatch.setattr(vnid, "_start_offset", lambda key: (1 << 24) - 1 - 10)
    assert allocate_netids(["a", "b"]) == {"a": (1 << 24) - 1, "b": 10}


def test_join_projects_gives_each_project_the_target_id_and_skips_the_target():
    ids = {"default": 0, "a": 100, "b": 200, "c": 300}
    assert join_projects(ids, "a", ["a", "b", "c"]) == {"default": 0, "a": 100, "b": 100, "c": 100}
    assert ids["b"] == 200  # pure: the input map is unchanged


def test_make_projects_global_sets_netid_0():
    assert make_projects_global({"default": 0, "a": 100, "b": 200}, ["b"]) == {"default": 0, "a": 100, "b": 0}


def test_isolate_keeps_a_unique_id_and_allocates_a_new_one_for_a_shared_or_global_id():
    ids = {"default": 0, "a": 100, "b": 100, "c": 300, "g": 0}
    out = isolate_projects(ids, ["b", "c", "g"])
    assert out["c"] == 300  # already alone on its ID
    assert out["a"] == 100 and out["b"] not in (0, 100, 300) and out["g"] not in (0, 100, 300, out["b"])
    assert isolate_projects(ids, ["b"]) == isolate_projects(ids, ["b"])  # deterministic


def test_isolating_default_or_naming_an_unknown_project_is_refused():
    ids = {"default": 0, "a": 100}
    with pytest.raises(BadInput, match='network isolation for project "default" is forbidden'):
        isolate_projects(ids, ["default"])
    with pytest.raises(BadInput, match='"nope" not found'):
        join_projects(ids, "nope", ["a"])


def test_oc_get_netnamespaces_prints_as_oc_311_with_tabwriter_minwidth_10():
    netnamespaces = [NetNamespace(n, i) for n, i in {"project-a": 7823105, "default": 0, "kube-public": 10461457}.items()]
    text = get_netnamespaces(Cluster(ClusterNetwork(), "172.16.1.0/24", netnamespaces=netnamespaces))
    assert text == (
        "NAME          NETID      EGRESS IPS\n"
        "default       0          []\n"
        "kube-public   10461457   []\n"
        "project-a     7823105    []"
    )


def test_generated_clusters_put_pods_in_two_projects_only_with_the_vnid_plugins():
    subnet = build_cluster(2, 2, ClusterNetwork(plugin=SUBNET_PLUGIN))
    assert subnet.netids == {} and {p.namespace for p in subnet.pods} == {"default"}
    mt = build_cluster(2, 2, ClusterNetwork(plugin=MULTITENANT_PLUGIN))
    assert [(p.name, p.namespace) for p in mt.pods] == [("pod1", "p1"), ("pod2", "p2"), ("pod3", "p1"), ("pod4", "p2")]
    assert all(p.vnid == mt.netids[p.namespace] for p in mt.pods)
    assert set(mt.netids) == set(NAMESPACES)
