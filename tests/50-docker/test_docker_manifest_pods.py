"""Docker pods from manifests (one app container per declared container: its name, image, command and
ports) and Docker pods that start and stop at runtime (live.add_pod / remove_pod)."""

import functools
import os
import time

import pytest

from lab import docker, paths
from lab.daemons import ovs
from lab.front.pytest_plugin import built_lab
from lab.planes.openshift import live, realize
from lab.planes.openshift.api import manifests
from lab.planes.openshift.master.cluster import build_cluster
from lab.shell import run

pytestmark = pytest.mark.root

WGET = ["timeout", "5", "wget", "-qO-"]  # every exec has a deadline
SHOP = ("shop.yaml", {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shop", "labels": {"app": "shop"}},
    "spec": {"nodeName": "node1", "containers": [
        {"name": "tomcat", "image": "kirillf/centos-tomcat", "ports": [{"containerPort": 8080}]},
        {"name": "nginx", "image": "nginx:1.14", "ports": [{"containerPort": 80}]},
        # its own command instead of the lab's server: busybox httpd with another page on 9090
        {"name": "custom", "image": "busybox", "command": ["sh", "-c"],
         "args": ["mkdir -p /w && echo made-by-command > /w/index.html && exec httpd -f -p 9090 -h /w"],
         "ports": [{"containerPort": 9090}]}]}})


@pytest.fixture(scope="module")
def lab():
    cluster = build_cluster(nodes=2, pods_per_node=1)
    manifests.apply_documents(cluster, [SHOP])
    with built_lab(functools.partial(realize.build, runtime="docker"), cluster,
                   {**ovs.PACKAGES, **docker.PACKAGES}) as built:
        yield built


def spec_of(cluster, name):
    return realize.pod_spec(cluster.pod(name))


def names_and_images(node) -> dict:
    out = run(node, "docker ps --format '{{.Names}} {{.Image}}'")
    return dict(line.split() for line in out.splitlines() if line.strip())


def fetch(node, ip: str, port: int, tries: float = 10.0) -> str:
    """HTTP GET from the node (through tun0 and br0), retried until a deadline: a container's
    httpd may still be starting when `docker run` returns."""
    deadline = time.monotonic() + tries
    while True:
        out = node.cmd(f"timeout 3 wget -qO- http://{ip}:{port}/ 2>&1").strip()
        if out and "wget" not in out or time.monotonic() > deadline:
            return out
        time.sleep(0.1)


def test_docker_ps_lists_each_manifest_container_with_its_name_and_image(lab):
    net, cluster = lab
    spec = spec_of(cluster, "shop")
    listed = names_and_images(net["node1"])
    assert listed[docker.pause_name(spec)] == docker.PAUSE_IMAGE
    assert {name: image for name, image in listed.items() if f"_shop_default_{spec.uid}_0" in name} == {
        docker.pause_name(spec): docker.PAUSE_IMAGE,
        f"k8s_tomcat_shop_default_{spec.uid}_0": "kirillf/centos-tomcat",
        f"k8s_nginx_shop_default_{spec.uid}_0": "nginx:1.14",
        f"k8s_custom_shop_default_{spec.uid}_0": "busybox"}


def test_every_app_container_joins_the_pause_containers_network(lab):
    net, cluster = lab
    spec = spec_of(cluster, "shop")
    client = docker.NodeDaemon("node1").client
    pause = client.containers.get(docker.pause_name(spec))
    for app in spec.containers:
        c = client.containers.get(docker.container_name(spec, app))
        assert c.attrs["HostConfig"]["NetworkMode"] == f"container:{pause.id}"
        assert c.attrs["HostConfig"]["IpcMode"] == f"container:{pause.id}"


def test_each_containers_ports_answer_through_the_pod_ip(lab):
    net, cluster = lab
    pod = cluster.pod("shop")
    for node in ("node1", "node2"):  # from its own node (tun0) and across the VXLAN
        assert fetch(net[node], pod.ip, 8080).splitlines() == ["shop", "tomcat"]
        assert fetch(net[node], pod.ip, 80).splitlines() == ["shop", "nginx"]
        assert fetch(net[node], pod.ip, 9090) == "made-by-command"  # the manifest's command ran
    # and another pod's container reaches them too
    other = spec_of(cluster, "pod2")
    client = docker.NodeDaemon(other.node).client
    tomcat = client.containers.get(docker.container_name(other, other.containers[0]))
    got = tomcat.exec_run(WGET + [f"http://{pod.ip}:80/"])
    assert (got.exit_code, got.output.decode().split()) == (0, ["shop", "nginx"])


def test_a_pod_added_at_runtime_is_a_pause_container_with_app_containers_and_goes_again(lab):
    net, cluster = lab
    change = live.add_pod(net, cluster, "node2", "late")
    assert change  # its port and flows on node2
    pod = cluster.pod("late")
    spec = spec_of(cluster, "late")
    client = docker.NodeDaemon("node2").client
    pause = client.containers.get(docker.pause_name(spec))
    expected = {docker.pause_name(spec): docker.PAUSE_IMAGE,
                **{docker.container_name(spec, a): a.image for a in spec.containers}}
    listed = names_and_images(net["node2"])
    assert {n: i for n, i in listed.items() if n in expected} == expected
    # the pod's host is the pause container's network namespace, wired into br0 with the model's IP
    assert os.stat(f"/proc/{pause.attrs['State']['Pid']}/ns/net").st_ino == os.stat(paths.netns_path("late")).st_ino
    assert f"inet {pod.ip}/" in pause.exec_run(["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).output.decode()
    for app in spec.containers:
        c = client.containers.get(docker.container_name(spec, app))
        assert c.attrs["HostConfig"]["NetworkMode"] == f"container:{pause.id}"
    assert fetch(net["node1"], pod.ip, 8080).splitlines() == ["late", "tomcat"]  # across the VXLAN from the other node
    assert fetch(net["node2"], pod.ip, 80).splitlines() == ["late", "nginx"]

    live.remove_pod(net, cluster, "late")
    left = run(net["node2"], "docker ps -a --format '{{.Names}}'").split()
    assert not [n for n in left if f"_late_default_{spec.uid}_0" in n]
    assert not os.path.exists(paths.netns_path("late")) and "late" not in net
    ports = run(net["node2"], "ovs-ofctl -O OpenFlow13 --no-names show br0")
    assert f"({pod.veth})" not in ports
    # the rest stays: the manifest pod still answers
    assert fetch(net["node2"], cluster.pod("shop").ip, 80).splitlines() == ["shop", "nginx"]


def test_oc_apply_of_a_pod_makes_its_containers_and_oc_delete_removes_them(lab, tmp_path):
    """A live `oc apply -f` of a manifest pod on a Docker lab: a pause container wired into br0 and one
    app container per declared container, as at bring-up; `oc delete pod` takes them away again."""
    import yaml

    net, cluster = lab
    manifest = tmp_path / "cache.yaml"
    manifest.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cache"},
        "spec": {"nodeName": "node2", "containers": [
            {"name": "front", "image": "nginx:1.14", "ports": [{"containerPort": 80}]},
            {"name": "back", "image": "kirillf/centos-tomcat", "ports": [{"containerPort": 8080}]}]}}))
    change = live.apply(net, cluster, f"oc apply -f {manifest}")
    assert change.pods_added == ("cache",)
    spec = spec_of(cluster, "cache")
    expected = {docker.pause_name(spec): docker.PAUSE_IMAGE,
                f"k8s_front_cache_default_{spec.uid}_0": "nginx:1.14",
                f"k8s_back_cache_default_{spec.uid}_0": "kirillf/centos-tomcat"}
    assert {n: i for n, i in names_and_images(net["node2"]).items() if n in expected} == expected
    ip = cluster.pod("cache").ip
    assert fetch(net["node1"], ip, 80).splitlines() == ["cache", "front"]
    assert fetch(net["node1"], ip, 8080).splitlines() == ["cache", "back"]

    live.apply(net, cluster, "oc delete pod cache")
    left = run(net["node2"], "docker ps -a --format '{{.Names}}'").split()
    assert not [n for n in left if f"_cache_default_{spec.uid}_0" in n]
    assert "cache" not in net and not os.path.exists(paths.netns_path("cache"))


def node_links(node) -> set:
    return {line.split(": ")[1].split("@")[0] for line in run(node, "ip -o link show 2>/dev/null").splitlines()}


def no_new_links(node, before: set, deadline_s: float = 15.0) -> bool:
    """No link beyond `before`: polled, as the kernel destroys a veth whose peer's namespace went away
    asynchronously (it lingers a moment with "Peer netns reference is invalid")."""
    end = time.monotonic() + deadline_s
    while node_links(node) - before:
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize("command", [["/nonexistent"], ["sh", "-c", "echo bye; exit 3"]])
def test_a_live_pod_whose_container_does_not_start_is_undone(lab, tmp_path, command):
    """A failed app container is a failed apply: no namespace, container, veth, port or flow of the pod stays,
    `oc get pods` does not list it, and the same manifest is refused again (not "unchanged")."""
    import yaml

    from lab.errors import LabError
    net, cluster = lab
    manifest = tmp_path / "broken.yaml"
    manifest.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "broken"},
        "spec": {"nodeName": "node2", "containers": [
            {"name": "ok", "image": "nginx:1.14", "ports": [{"containerPort": 80}]},
            {"name": "bad", "image": "busybox", "command": command}]}}))
    before = {n: run(net[n], "ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0") for n in ("node1", "node2")}
    ports = run(net["node2"], "ovs-ofctl -O OpenFlow13 --no-names show br0")
    links = node_links(net["node2"])
    for _attempt in range(2):
        with pytest.raises(LabError, match=r"^pod default/broken: container bad did not start"):
            live.apply(net, cluster, f"oc apply -f {manifest}")
        assert "broken" not in {p.name for p in cluster.pods}
        assert "broken" not in live.apply(net, cluster, "oc get pods").output
        assert "broken" not in net and not os.path.exists(paths.netns_path("broken"))
        assert not [n for n in run(net["node2"], "docker ps -a --format '{{.Names}}'").split() if "_broken_" in n]
        assert run(net["node2"], "ovs-ofctl -O OpenFlow13 --no-names show br0") == ports
        assert no_new_links(net["node2"], links)
        assert {n: run(net[n], "ovs-ofctl -O OpenFlow13 --no-names --no-stats dump-flows br0")
                for n in ("node1", "node2")} == before
