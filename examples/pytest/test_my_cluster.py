"""A user's own tests of a cluster network, with the sdnlab pytest plugin (installed with sdnlab).

After `vagrant up` (in the VM) or `sudo ./sdnlab` (on a Debian/Ubuntu machine), root's `pytest`
(/usr/local/bin/pytest) is the project's, with the plugin; each test builds its lab and tears it down:

    sudo pytest /vagrant/examples/pytest        # this folder (in a checkout: sudo pytest examples/pytest)
    sudo pytest ~/my-tests                      # your own: copy this file and conftest.py there
    sudo pytest ~/my-tests -k vxlan             # any pytest option works as usual

Not provisioned yet: `sudo .venv/bin/pytest DIR` in the checkout does the same. A pytest without sdnlab
(Debian's pytest-3, another virtualenv) stops with one line saying how to get it: that is conftest.py's job,
so keep it beside your tests. The fixture's options: `sdnlab(TOPOLOGY, **options)` takes every
`lab run TOPOLOGY` option by its long name (nodes=2, pods_per_node=1, plugin="multitenant",
backend="host-gw"), and manifests="web.yaml" (or a list; relative to this file) for `-f`.
Without root the tests skip with the reason (they are marked `root`).
"""

import os

import pytest

SHOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shop_cluster.py")


@pytest.mark.root
def test_pods_on_two_openshift_nodes_talk_over_vxlan(sdnlab):
    lab = sdnlab("openshift", nodes=2, pods_per_node=2)
    lab.assert_reachable("pod1", "pod3")
    # node1 sends it into the tunnel (table 90), node2 takes it in by tun_src (table 10)
    lab.assert_path("pod1", "pod3", [0, 20, 21, 30, 90, 0, 10, 30, 70, 80])
    # pods on other nodes are L2 neighbours: one hop
    lab.assert_hops("pod1", "pod3", ["pod3"])
    # to the outside: tun0 on the pod's node first
    assert lab.hops("pod1", "ext")[0] == "node1"


@pytest.mark.root
def test_joining_two_projects_with_oc_lets_them_talk(sdnlab):
    lab = sdnlab("openshift", plugin="multitenant", nodes=2, pods_per_node=2)  # pod1, pod3 in p1; pod2, pod4 in p2
    lab.assert_unreachable("pod1", "pod4")
    change = lab.oc("oc adm pod-network join-projects --to=p1 p2")
    added, removed = change.flows("node2")  # p2's pods now carry p1's VNID
    assert added and removed and all(f"load:{lab.model.netids['p1']}->" in f for f in added)
    lab.assert_reachable("pod1", "pod4")


@pytest.mark.root
def test_a_service_spreads_requests_over_its_pods(sdnlab):
    lab = sdnlab(SHOP, pods_per_node=0)  # a cluster module, as `lab run examples/shop_cluster.py`
    answers = lab.request("client", "web.shop:80", count=30)  # each on a new connection
    assert {a.pod for a in answers} == {"web-1", "web-2", "web-3"}
    assert lab.request("client", "web.shop:53", proto="udp").pod in {"web-1", "web-2", "web-3"}
    assert lab.request("ext", "node2:30080").ok  # the NodePort service, from the external host


@pytest.mark.root
def test_flannel_host_gw_routes_via_the_other_node(sdnlab):
    lab = sdnlab("flannel", backend="host-gw")
    lab.assert_reachable("pod1", "pod3")
    assert "via 172.16.1.12 dev eth0" in lab.cmd("node1", "ip route show 10.244.1.0/24")
