"""Pods as kubelet makes them with Docker: a pause container holding the network namespace that the
OpenShift data plane wires, app containers joined to its network and IPC namespaces."""

import os

import pytest

from lab import docker, paths
from lab.shell import run

pytestmark = pytest.mark.root


WGET = ["timeout", "5", "wget", "-qO-"]  # busybox-static's own `wget -T` crashes; every exec has a deadline


def client(node: str):
    return docker.NodeDaemon(node).client


def containers_of(cluster, pod_name: str):
    """(pause container, [app containers]) of a pod, found by kubelet's names on the pod's node."""
    pod = cluster.pod(pod_name)
    spec = docker.PodSpec(pod.name, pod.node)
    c = client(pod.node)
    return (c.containers.get(docker.pause_name(spec)),
            [c.containers.get(docker.container_name(spec, app)) for app in spec.containers])


def ns_inode(pid: int, kind: str) -> int:
    return os.stat(f"/proc/{pid}/ns/{kind}").st_ino


def test_app_containers_share_the_pause_containers_net_and_ipc_namespaces_only(lab):
    _net, cluster = lab
    for pod in cluster.pods:
        pause, apps = containers_of(cluster, pod.name)
        assert len(apps) == 2
        ppid = pause.attrs["State"]["Pid"]
        for app in apps:
            pid = app.attrs["State"]["Pid"]
            assert app.status == "running" and pid != ppid
            for kind in ("net", "ipc"):
                assert ns_inode(pid, kind) == ns_inode(ppid, kind), (pod.name, app.name, kind)
            for kind in ("uts", "mnt", "pid"):
                assert ns_inode(pid, kind) != ns_inode(ppid, kind), (pod.name, app.name, kind)


def test_the_pod_host_and_its_bind_are_the_pause_containers_network_namespace(lab):
    net, cluster = lab
    for pod in cluster.pods:
        pause, _apps = containers_of(cluster, pod.name)
        inode = ns_inode(pause.attrs["State"]["Pid"], "net")
        assert ns_inode(net[pod.name].pid, "net") == inode
        assert os.stat(paths.netns_path(pod.name)).st_ino == inode
        # the pod's eth0 with its IP, as the data plane wired it, seen from inside the container
        addrs = pause.exec_run(["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).output.decode()
        assert f"inet {pod.ip}/" in addrs, addrs


def test_containers_of_a_pod_reach_each_other_over_localhost(lab):
    _net, cluster = lab
    pod = cluster.pods[0]
    _pause, (tomcat, nginx) = containers_of(cluster, pod.name)
    # each answer names the pod, then the container that served it: the other one, over 127.0.0.1
    got = tomcat.exec_run(WGET + ["http://127.0.0.1:80/"])
    assert (got.exit_code, got.output.decode().split()) == (0, [pod.name, "nginx"])
    got = nginx.exec_run(WGET + ["http://127.0.0.1:8080/"])
    assert (got.exit_code, got.output.decode().split()) == (0, [pod.name, "tomcat"])
    # and a port nobody serves is refused there (so the answers above are not a default)
    got = nginx.exec_run(WGET + ["http://127.0.0.1:8081/"])
    assert got.exit_code != 0


def test_network_mode_is_the_pause_container_in_the_nodes_own_docker(lab):
    net, cluster = lab
    for pod in cluster.pods:
        pause, apps = containers_of(cluster, pod.name)
        for app in apps:  # the node's shell: `docker` there talks to the node's daemon
            mode = run(net[pod.node], f"docker inspect -f '{{{{.HostConfig.NetworkMode}}}}' {app.name}")
            assert mode.strip() == f"container:{pause.id}"


def test_docker_ps_on_a_node_lists_exactly_its_pods_containers(lab):
    net, cluster = lab
    for hs in cluster.hostsubnets:
        expected = set()
        for pod in cluster.pods_on(hs.name):
            spec = docker.PodSpec(pod.name, pod.node)
            expected |= {docker.pause_name(spec)} | {docker.container_name(spec, a) for a in spec.containers}
        names = run(net[hs.name], "docker ps --format '{{.Names}}'").split()
        assert sorted(names) == sorted(expected)


def test_openshift_checks_pass_and_containers_talk_http_across_nodes(lab):
    import topologies
    net, cluster = lab
    checks = topologies.load("openshift").checks(net, cluster)
    assert checks and all(c.ok for c in checks), [(c.name, c.detail) for c in checks]
    # an app container on node1 fetches from one on node2: over VXLAN through both br0s
    src = next(p for p in cluster.pods if p.node == "node1")
    dst = next(p for p in cluster.pods if p.node == "node2")
    _pause, (tomcat, _nginx) = containers_of(cluster, src.name)
    got = tomcat.exec_run(WGET + [f"http://{dst.ip}:8080/"])
    assert (got.exit_code, got.output.decode().split()) == (0, [dst.name, "tomcat"])
    got = tomcat.exec_run(WGET + [f"http://{dst.ip}:80/"])
    assert (got.exit_code, got.output.decode().split()) == (0, [dst.name, "nginx"])


def test_a_pods_veth_is_found_as_on_a_real_node(lab):
    """docker inspect's Pid, `nsenter -t PID -n ip link` for eth0's peer index, `ip link` on the node for
    the veth with that index, `ovs-ofctl show br0` for its port: the pod's model veth and ofport."""
    net, cluster = lab
    for pod in cluster.pods:
        node = net[pod.node]
        spec = docker.PodSpec(pod.name, pod.node)
        pid = run(node, f"docker inspect -f '{{{{.State.Pid}}}}' {docker.pause_name(spec)}").strip()
        link = run(node, f"nsenter -t {pid} -n ip -o link show eth0")
        peer_index = link.split("@if", 1)[1].split(":", 1)[0]
        veth = run(node, f"ip -o link 2>/dev/null | grep '^{peer_index}: '").split(":")[1].strip().split("@")[0]
        assert veth == pod.veth
        ports = run(node, "ovs-ofctl -O OpenFlow13 --no-names show br0")
        assert f" {pod.ofport}({pod.veth}):" in ports, ports
