"""Flannel pods as Docker containers, wired by the real CNI plugins from /usr/lib/cni: cni0 and the pod
veths are the bridge plugin's, the addresses host-local's, the delegate the flannel plugin's."""

import functools
import json
import os

import pytest

from lab import docker
from lab.addressing import veth_name
from lab.cleanup import leftovers
from lab.daemons import cni
from lab.shell import run

pytestmark = pytest.mark.root
WGET = ["timeout", "5", "wget", "-qO-"]


@pytest.fixture(scope="module")
def lab():
    from lab.net import running
    from lab.planes.flannel import realize
    from lab.planes.flannel.model import build_flannel_cluster
    from lab.requirements import require_packages

    require_packages({**docker.PACKAGES, **cni.PACKAGES})
    cluster = build_flannel_cluster(2, 2)
    with running(functools.partial(realize.build, runtime="docker"), cluster) as net:
        yield net, cluster
    left = leftovers()
    assert not any(left.values()), f"the lab left behind: {left}"


def test_checks_pass_and_containers_talk_http_across_nodes(lab):
    import topologies
    net, cluster = lab
    checks = topologies.load("flannel").checks(net, cluster)
    assert checks and all(c.ok for c in checks), [(c.name, c.detail) for c in checks]
    src, dst = cluster.pods_on("node1")[0], cluster.pods_on("node2")[0]
    spec = docker.PodSpec(src.name, src.node)
    tomcat = docker.NodeDaemon("node1").client.containers.get(docker.container_name(spec, spec.containers[0]))
    got = tomcat.exec_run(WGET + [f"http://{dst.ip}:80/"])
    assert (got.exit_code, got.output.decode().split()) == (0, [dst.name, "nginx"])


def test_cni0_and_the_pod_veths_are_the_bridge_plugins(lab):
    net, cluster = lab
    from lab.planes.flannel.realize import cni_dir
    for node in cluster.nodes:
        cni0 = json.loads(run(net[node.name], "ip -j -d addr show dev cni0"))[0]
        assert [a["local"] for a in cni0["addr_info"] if a["family"] == "inet"] == [node.gateway]
        ports = json.loads(run(net[node.name], "ip -j -d link show master cni0"))
        pods = cluster.pods_on(node.name)
        # the plugin's random veth names (the model took them from its results), hairpin on (hairpinMode)
        assert sorted(port["ifname"] for port in ports) == sorted(p.veth for p in pods)
        assert not {p.veth for p in pods} & {veth_name(node.name, p.name) for p in pods}  # not the lab's names
        for port in ports:
            assert port["ifname"].startswith("veth") and port["linkinfo"]["info_slave_data"]["hairpin"] is True
        # host-local's leases in the node's own /var/lib/cni (a mount in the node's namespace only)
        leased = set(run(net[node.name], f"ls {cni.DATA_DIR}/networks/{cni.NETWORK}").split())
        assert {p.ip for p in pods} <= leased
        assert sorted(os.listdir(os.path.join(cni_dir(node.name), "networks", cni.NETWORK))) == sorted(leased)
        assert not os.path.exists(f"{cni.DATA_DIR}/networks/{cni.NETWORK}/{pods[0].ip}")  # not the machine's


def test_each_pod_got_the_flannel_delegates_address_and_routes(lab):
    net, cluster = lab
    for pod in cluster.pods:
        node = cluster.node(pod.node)
        spec = docker.PodSpec(pod.name, pod.node)
        pause = docker.NodeDaemon(pod.node).client.containers.get(docker.pause_name(spec))
        assert os.stat(f"/proc/{pause.attrs['State']['Pid']}/ns/net").st_ino == os.stat(
            f"/proc/{net[pod.name].pid}/ns/net").st_ino
        routes = [r.strip() for r in run(net[pod.name], "ip route").splitlines()]
        assert f"default via {node.gateway} dev eth0" in routes
        assert f"{cluster.config.network} via {node.gateway} dev eth0" in routes  # ipam's route
        saved = run(net[pod.node], f"cat {cni.DATA_DIR}/flannel/{pause.id}")
        assert json.loads(saved)["ipam"]["subnet"] == node.subnet


def test_a_node_joining_at_runtime_gets_its_own_dockerd_and_its_pods_are_containers(lab):
    from lab.observe.ping import ping
    from lab.planes.flannel import realize
    net, cluster = lab
    node = realize.join(net, cluster)
    daemon = docker.NodeDaemon(node.name)
    assert run(net[node.name], "docker info --format '{{.DockerRootDir}}'").strip() == daemon.where.data
    pod = realize.add_pod(net, cluster, node.name)
    spec = docker.PodSpec(pod.name, node.name)
    expected = {docker.pause_name(spec)} | {docker.container_name(spec, a) for a in spec.containers}
    assert set(run(net[node.name], "docker ps --format '{{.Names}}'").split()) == expected
    # host-local of the new node's lease gave the address; the bridge plugin made cni0 there
    assert pod.ip in run(net[node.name], f"ls {cni.DATA_DIR}/networks/{cni.NETWORK}").split()
    cni0 = json.loads(run(net[node.name], "ip -j addr show dev cni0"))[0]
    assert [a["local"] for a in cni0["addr_info"] if a["family"] == "inet"] == [node.gateway]
    pause = daemon.client.containers.get(docker.pause_name(spec))
    assert os.stat(f"/proc/{pause.attrs['State']['Pid']}/ns/net").st_ino == os.stat(
        f"/proc/{net[pod.name].pid}/ns/net").st_ino
    # across the new node's tunnel, to its app container
    assert ping(net["pod1"], pod.ip, count=2, timeout=2).ok
    src = docker.PodSpec("pod1", "node1")
    tomcat = docker.NodeDaemon("node1").client.containers.get(docker.container_name(src, src.containers[0]))
    got = tomcat.exec_run(WGET + [f"http://{pod.ip}:80/"])
    assert (got.exit_code, got.output.decode().split()) == (0, [pod.name, "nginx"])

    realize.remove_pod(net, cluster, pod.name)
    assert run(net[node.name], "docker ps -a --format '{{.Names}}'").split() == []
    assert pod.ip not in run(net[node.name], f"ls {cni.DATA_DIR}/networks/{cni.NETWORK}").split()  # CNI DEL
    assert not os.path.exists(os.path.join(realize.cni_dir(node.name), "flannel", pause.id))
    dockerd = net[node.name].cmd(f"cat {daemon.where.pidfile}").strip()
    realize.leave(net, cluster, node.name)
    assert not os.path.exists(f"/proc/{dockerd}"), "the node's dockerd outlived its node"
    assert not os.path.exists(daemon.where.root)
    assert ping(net["pod1"], cluster.pod("pod3").ip).ok  # the rest is untouched
