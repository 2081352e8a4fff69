"""The plugin's pure parts: options into a topology's arguments, diffs, names back from addresses."""

import pytest

import topologies
from lab.front.pytest_plugin import Lab, path_diff, topology_args, worker_lab_name
from lab.planes.openshift.master.cluster import build_cluster


def test_options_override_the_topology_defaults():
    args = topology_args(topologies.load("flannel"), backend="host-gw", nodes=3)
    assert (args.backend, args.nodes, args.pods_per_node, args.routed) == ("host-gw", 3, 2, False)


def test_an_unknown_option_is_named():
    with pytest.raises(TypeError, match="unknown option.*backend"):
        topology_args(topologies.load("openshift"), backend="vxlan")


def test_path_diff_marks_the_differing_rows():
    text = path_diff(["0", "20", "90"], ["0", "20", "21", "30"])
    rows = text.splitlines()[1:]
    assert [r[0] for r in rows] == [" ", " ", ">", ">"]
    assert rows[3].split() == [">", "-", "30"]


def test_addresses_map_back_to_lab_names():
    cluster = build_cluster(nodes=2, pods_per_node=1)
    lab = Lab(topologies.load("openshift"), net=None, model=cluster)
    n2 = cluster.hostsubnet("node2")
    assert lab.name_of(n2.gateway) == "node2" and lab.name_of(n2.host_ip) == "node2"
    assert lab.name_of(cluster.pod("pod2").ip) == "pod2"
    assert lab.name_of(cluster.external.ip) == cluster.external.name
    assert lab.name_of("192.0.2.1") == "192.0.2.1"
    assert lab.ip_of("pod2") == cluster.pod("pod2").ip and lab.ip_of("10.1.2.3") == "10.1.2.3"


def test_each_xdist_worker_has_a_lab_name_of_its_own():
    assert [worker_lab_name(w) for w in ("gw0", "gw1")] == ["w0", "w1"]
    assert worker_lab_name("gw1", "hw") == "hww1"
    assert len(worker_lab_name("gw12", "abcdefghijkl")) == 12


def test_require_all_counts_xfails_as_well_as_skips():
    from lab.front.pytest_plugin import not_run
    assert not_run({"passed": [1, 2]}) == {}
    assert not_run({"skipped": [1], "xfailed": [1, 2], "xpassed": [3], "passed": [4]}) == \
        {"skipped": 1, "xfailed": 2, "xpassed": 1}
