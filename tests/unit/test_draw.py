"""`lab draw` from the pure model: valid SVG naming every node and pod, PNG, the pipeline as rendered."""

import xml.etree.ElementTree as ET

import pytest

from lab import planes
from lab.front import cli, draw
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.node.flows import render_node_flows

SVG = "{http://www.w3.org/2000/svg}"


def svg_texts(path) -> str:
    root = ET.parse(path).getroot()  # raises on anything that is not well-formed XML
    assert root.tag == SVG + "svg"
    return "\n".join(t.text or "" for t in root.iter(SVG + "text"))


@pytest.mark.parametrize("argv, names", [
    (["openshift", "--nodes", "3", "--pods-per-node", "2"],
     ["node1", "node2", "node3", "pod1", "pod6", "ext", "br0", "tun0", "vxlan0", "underlay 172.16.1.0/24"]),
    (["flannel", "--backend", "vxlan"], ["node1", "node2", "pod1", "pod4", "cni0", "flannel.1", "etcd", "ext"]),
    (["flannel", "--backend", "host-gw", "--routed", "--nodes", "3"], ["node3", "pod6", "router", "host-gw route"]),
    (["vxlan-p2p"], ["host1", "host2", "vxlan20", "VXLAN VNI 20, 4789/udp"]),
    # past 5 nodes dot once failed ("trouble in init_rank", "lost edge") on the labelled full mesh
    (["openshift", "--nodes", "16", "--pods-per-node", "1"], ["node16", "pod16", "VXLAN 4789"]),
    (["flannel", "--nodes", "8"], ["node8", "pod16", "etcd"]),
    (["docker-vxlan"], ["host1", "host2", "c1", "c2"]),
])
def test_topology_svg_names_every_host(tmp_path, capsys, argv, names):
    out = tmp_path / "t.svg"
    assert cli.main(["draw", *argv, "-o", str(out)]) == 0
    texts = svg_texts(out)
    for name in names:
        assert name in texts, f"{name} missing from the picture: {texts}"


def test_every_node_and_pod_of_the_model_is_in_the_svg(tmp_path):
    cluster = build_cluster(nodes=4, pods_per_node=3)
    out = tmp_path / "c.svg"
    draw.write(draw.topology_dot(planes.get("openshift").picture(cluster)), str(out))
    lines = svg_texts(out).splitlines()
    for host in [h.name for h in cluster.hostsubnets] + [p.name for p in cluster.pods]:
        assert host in lines, host  # a whole text line: pod1 is not found inside pod10
    for p in cluster.pods:
        assert p.ip in lines


def test_png_has_the_png_signature(tmp_path, capsys):
    out = tmp_path / "t.png"
    assert cli.main(["draw", "openshift", "--what", "pipeline", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pipeline_counts_the_rendered_flows_per_table(tmp_path, capsys):
    cluster = build_cluster(nodes=3, pods_per_node=2)
    flows = render_node_flows(cluster, "node2")
    tables = draw.pipeline(flows, planes.get("openshift").port_names)
    assert sum(t.flows for t in tables.values()) == len(flows)
    assert tables[90].flows == 3  # two remote nodes + the default drop
    assert tables[0].gotos[10] >= 1 and 30 in tables[10].gotos
    assert tables[90].outputs == {"vxlan0": 2} and tables[90].drops == 1
    out = tmp_path / "p.svg"
    assert cli.main(["draw", "openshift", "--nodes", "3", "--what", "pipeline", "--node", "node2", "-o", str(out)]) == 0
    texts = svg_texts(out)
    for n, t in tables.items():
        assert f"table {n}" in texts and f"{t.flows} flow" in texts
    assert "vxlan0" in texts and "tun0" in texts and "drop" in texts


def test_live_dump_counters_are_summed():
    dump = [" cookie=0x0, duration=1.2s, table=0, n_packets=5, n_bytes=490, priority=100,arp actions=goto_table:20",
            " cookie=0x0, duration=1.2s, table=0, n_packets=2, n_bytes=196, priority=0 actions=drop"]
    t = draw.pipeline(dump)[0]
    assert (t.flows, t.packets, t.gotos, t.drops) == (2, 7, {20: 1}, 1)


@pytest.mark.parametrize("argv, message", [
    (["openshift", "-o", "x.gif"], ".svg or .png"),
    (["flannel", "--what", "pipeline", "-o", "x.svg"], "not offered by flannel labs; OpenShift SDN labs offer it"),
    (["openshift", "--what", "pipeline", "--node", "node9", "-o", "x.svg"], "no node 'node9'"),
    (["openshift", "--mtu", "9000", "-o", "x.svg"], "--mtu 9000"),
    (["nosuch", "-o", "x.svg"], "unknown topology"),
    (["openshift"], "-o"),
])
def test_mistakes_are_one_line_exit_2(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["draw", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lab: error: ") and message in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []
