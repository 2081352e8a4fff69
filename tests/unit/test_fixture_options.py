"""The sdnlab fixture's option names (lab.front.fixture_options): manifests= for -f, relative to the test
file; wrong names refused in one line with the right one. Models only: no lab, no root."""

import pytest

import topologies
from lab.front.fixture_options import OptionError, fixture_options, option_names, topology_path
from lab.run import topology_args

WEB = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec: {nodeName: node2, containers: [{name: web, image: busybox}]}
"""


def model(topology_name, folder, **options):
    topology = topologies.load(topology_name)
    return topology.model(topology_args(topology, **fixture_options(topology, options, str(folder))))


def test_manifests_relative_to_the_test_folder_reach_the_model(tmp_path, monkeypatch):
    (tmp_path / "web.yaml").write_text(WEB)
    monkeypatch.chdir("/")  # not where the manifest is
    cluster = model("openshift", tmp_path, nodes=2, pods_per_node=1, manifests="web.yaml")
    assert cluster.pod("web").node == "node2"
    assert model("openshift", tmp_path, nodes=2, pods_per_node=0, manifests=[tmp_path / "web.yaml"]).pod("web")
    assert model("openshift", "/", nodes=2, pods_per_node=0, filename=str(tmp_path / "web.yaml")).pod("web")


def test_manifests_is_offered_only_where_the_topology_reads_them():
    assert {"manifests", "filename", "nodes", "pods_per_node"} <= set(option_names(topologies.load("openshift")))
    assert "manifests" not in option_names(topologies.load("flannel"))
    assert not {"name", "json", "script", "no_checks"} & set(option_names(topologies.load("openshift")))


@pytest.mark.parametrize("topology, options, said", [
    ("openshift", {"f": "web.yaml"}, "sdnlab('openshift'): options are long names: the command line's -f is "
                                     "manifests=[FILE_OR_DIR, ...]"),
    ("openshift", {"node": 2}, "sdnlab('openshift'): no option node= (did you mean nodes=?); its options: "),
    ("openshift", {"manifests": "a.yaml", "filename": ["b.yaml"]}, "manifests= and filename= are the same option"),
    ("flannel", {"manifests": "a.yaml"}, "sdnlab('flannel'): this topology reads no manifests (manifests=); "),
    ("flannel", {"f": "a.yaml"}, "sdnlab('flannel'): this topology reads no manifests (f=); "),
    ("openshift", {"name": "x"}, "no option name="),
])
def test_a_wrong_name_is_one_line(topology, options, said):
    with pytest.raises(OptionError) as exc:
        fixture_options(topologies.load(topology), options, "/")
    assert said in str(exc.value) and "\n" not in str(exc.value)


def test_a_cluster_module_beside_the_test_is_found(tmp_path):
    (tmp_path / "mine.py").write_text("")
    assert topology_path("mine.py", str(tmp_path)) == str(tmp_path / "mine.py")
    assert topology_path("elsewhere.py", str(tmp_path)) == "elsewhere.py"
    assert topology_path("openshift", str(tmp_path)) == "openshift"
