"""Docker pods without root: kubelet's names, the daemon's command line, the image's files, and which
recorded daemons and mounts a lab's cleanup may act on."""

import os
import tarfile

import pytest

from lab import cleanup, docker, paths


@pytest.fixture
def run_root(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "RUN_DIR", str(tmp_path / "run"))
    os.makedirs(paths.run_dir("ut"))
    return tmp_path / "run"


def test_containers_are_named_as_kubelet_names_them():
    pod = docker.PodSpec("pod1", "node1")
    assert pod.uid == docker.PodSpec("pod1", "node2").uid != docker.PodSpec("pod2", "node1").uid
    assert docker.pause_name(pod) == f"k8s_POD_pod1_default_{pod.uid}_0"
    assert docker.container_name(pod, pod.containers[1]) == f"k8s_nginx_pod1_default_{pod.uid}_0"
    assert docker.pod_labels(pod, "POD")["io.kubernetes.docker.type"] == "podsandbox"
    assert docker.pod_labels(pod, "nginx")["io.kubernetes.container.name"] == "nginx"


def test_dockerd_enters_only_the_nodes_network_namespace_and_owns_no_networking():
    where = docker.DaemonPaths("/run/sdnlab/ut/node1/docker")
    cmd = docker.dockerd_command("/var/run/netns/ut-node1", where, "sdnlab-ut-node1")
    assert cmd[:3] == ["nsenter", "--net=/var/run/netns/ut-node1", "dockerd"]  # not `ip netns exec`
    for flag in ("--bridge=none", "--iptables=false", "--ip-masq=false", "--cgroup-parent=sdnlab-ut-node1",
                 f"--host=unix://{where.socket}", f"--data-root={where.data}", f"--exec-root={where.exec_root}",
                 f"--pidfile={where.pidfile}", f"--config-file={where.config}"):
        assert flag in cmd
    assert all(not a.startswith("--host=unix:///var/run/docker.sock") for a in cmd)


@pytest.mark.skipif(not os.path.exists(docker.BUSYBOX), reason="busybox-static is not installed")
def test_the_image_holds_busybox_its_applets_and_the_pause_script(tmp_path):
    path = docker.image_tar(str(tmp_path / "rootfs.tar"))
    with tarfile.open(path) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert members["bin/busybox"].isfile()
        for applet in ("bin/sh", "usr/sbin/httpd", "bin/ping", "usr/bin/wget", "bin/sleep"):
            assert members[applet].issym() and members[applet].linkname == "/bin/busybox", applet
        assert members["pause"].mode & 0o111
        assert b"trap 'exit 0' TERM" in tar.extractfile("pause").read()


def test_the_app_command_serves_the_containers_name_on_its_ports():
    cmd = docker.app_command(docker.AppContainer("tomcat", "kirillf/centos-tomcat", (8080,)))
    assert cmd[:2] == ["sh", "-c"] and "echo tomcat > /www/index.html" in cmd[2]
    assert cmd[2].endswith("exec httpd -f -p 8080 -h /www")
    cmd = docker.app_command(docker.AppContainer("nginx", "nginx:1.14", (80,)), "shop")
    assert "printf '%s\\n' shop nginx > /www/index.html" in cmd[2]  # the pod's name first, as every pod server
    cmd = docker.app_command(docker.AppContainer("web", "nginx:1.14", (80, 443)))
    assert "httpd -p 80 -h /www && exec httpd -f -p 443 -h /www" in cmd[2]  # one in the background per port


def test_a_containers_own_command_runs_instead_of_the_server_and_no_ports_just_waits():
    assert docker.app_command(docker.AppContainer("c", "busybox", (80,), ("sleep", "1000"))) == ["sleep", "1000"]
    idle = docker.app_command(docker.AppContainer("c", "busybox"))
    assert idle[:2] == ["sh", "-c"] and "httpd" not in idle[2] and "sleep" in idle[2]


@pytest.mark.parametrize("name, ref", [("nginx:1.14", ("nginx", "1.14")),
                                       ("kirillf/centos-tomcat", ("kirillf/centos-tomcat", "latest")),
                                       ("registry:5000/app", ("registry:5000/app", "latest")),
                                       ("registry:5000/app:v2", ("registry:5000/app", "v2"))])
def test_image_names_split_into_repository_and_tag(name, ref):
    assert docker.image_reference(name) == ref


def test_manifest_containers_become_app_containers_with_their_names_images_commands_and_tcp_ports():
    from lab.planes.openshift.api import manifests
    from lab.planes.openshift.master.cluster import build_cluster
    from lab.planes.openshift.realize import pod_spec
    c = build_cluster(2, 1)
    manifests.apply_documents(c, [("pod.yaml", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shop", "namespace": "default"},
        "spec": {"nodeName": "node2", "containers": [
            {"name": "tomcat", "image": "kirillf/centos-tomcat", "ports": [{"containerPort": 8080}]},
            {"name": "nginx", "image": "nginx:1.14",
             "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]},
            {"name": "sidecar", "image": "busybox", "command": ["sh", "-c"], "args": ["sleep 1000"]}]}})])
    spec = pod_spec(c.pod("shop"))
    assert spec.containers == (docker.AppContainer("tomcat", "kirillf/centos-tomcat", (8080,)),
                               docker.AppContainer("nginx", "nginx:1.14", (80,)),  # UDP: the lab's server in the pod
                               docker.AppContainer("sidecar", "busybox", (), ("sh", "-c", "sleep 1000")))
    assert (spec.name, spec.node, spec.host) == ("shop", "node2", "shop")
    assert docker.container_name(spec, spec.containers[1]) == f"k8s_nginx_shop_default_{spec.uid}_0"
    # pods the lab generates declare no containers: the notes' classic pair
    assert pod_spec(c.pod("pod1")).containers == docker.DEFAULT_CONTAINERS


def test_only_daemons_recorded_inside_the_lab_count(run_root):
    cleanup.record_docker("node1", paths.run_dir("ut") + "/node1/docker/docker.sock", "sdnlab-ut-node1", name="ut")
    with open(os.path.join(paths.run_dir("ut"), "docker"), "a") as f:  # a record that was tampered with
        f.write("node2 /var/run/docker.sock sdnlab-ut-node2\n")
        f.write(f"node3 {paths.run_dir('ut')}/x.sock docker\n")
        f.write(f"node4 {paths.run_dir('ut')}/y.sock sdnlab-ut-../../docker\n")
    assert cleanup.recorded_dockers("ut") == [("node1", paths.run_dir("ut") + "/node1/docker/docker.sock",
                                                "sdnlab-ut-node1")]


def test_a_dead_daemons_socket_removes_nothing(run_root):
    assert cleanup.remove_containers(str(run_root / "ut" / "none.sock")) == 0
    sock = run_root / "ut" / "stale.sock"
    sock.write_text("")  # a file where a socket was: no answer, no error
    assert cleanup.remove_containers(str(sock), timeout=1) == 0


def test_mounts_are_taken_from_mountinfo_deepest_first(monkeypatch, tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text("1 0 0:1 / / rw - ext4 /dev/root rw\n"
                    "2 1 0:2 / /run/sdnlab/ut rw - tmpfs t rw\n"
                    "3 2 0:3 / /run/sdnlab/ut/n1/docker/data/overlay2/a/merged rw - overlay o rw\n"
                    "4 2 0:4 / /run/sdnlab/ut/n1/docker/exec/netns/b rw - nsfs nsfs rw\n"
                    "5 2 0:5 / /run/sdnlab/utx/c rw - tmpfs t rw\n"
                    "6 2 0:6 / /run/sdnlab/ut/with\\040space rw - tmpfs t rw\n")
    real_open = open
    monkeypatch.setattr("builtins.open", lambda p, *a, **k: real_open(info if p == "/proc/self/mountinfo" else p, *a, **k))
    found = cleanup.mounts_under("/run/sdnlab/ut")
    assert found[0] == "/run/sdnlab/ut/n1/docker/data/overlay2/a/merged"
    assert set(found) == {"/run/sdnlab/ut", "/run/sdnlab/ut/n1/docker/data/overlay2/a/merged",
                          "/run/sdnlab/ut/n1/docker/exec/netns/b", "/run/sdnlab/ut/with space"}
