"""kill -9 of a lab with Docker pods, then `lab clean`: nothing of its daemons and containers is left,
while a Docker daemon of the machine's own namespace (started here, private dirs and socket) lives on."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from lab import cleanup, docker, paths
from lab.daemons import cni
from lab.front.pytest_plugin import left_as_found, machine_owns
from lab.observe.probe import read_until

LAB = [sys.executable, "-m", "lab"]
pytestmark = pytest.mark.root


def lab_name() -> str:
    return (paths.lab_name()[:9] + "dk")[:12]  # unique per worker (the suite may run on several at once)


@pytest.fixture
def machine_dockerd():
    """A dockerd in the machine's own network namespace, as a user runs one, with a running container:
    its own dirs and socket (never /var/run/docker.sock), no bridge, no iptables, no forwarding."""
    made = [d for d in docker.FIXED_DIRS if not os.path.exists(d)]
    root = tempfile.mkdtemp(prefix="sdnd", dir="/tmp")  # short: unix socket paths
    cgroups = os.path.basename(root)  # not "docker": a user's daemon may own that one
    with open(f"{root}/daemon.json", "w") as f:
        json.dump({"deprecated-key-path": f"{root}/key.json"}, f)
    log = open(f"{root}/dockerd.log", "wb")
    proc = subprocess.Popen(["dockerd", f"--config-file={root}/daemon.json", f"--data-root={root}/data",
                             f"--exec-root={root}/exec", f"--host=unix://{root}/docker.sock",
                             f"--pidfile={root}/dockerd.pid", "--bridge=none", "--iptables=false",
                             "--ip6tables=false", "--ip-masq=false", "--ip-forward=false", f"--cgroup-parent={cgroups}"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    daemon = docker.NodeDaemon("machine")
    daemon.where = docker.DaemonPaths(root)
    daemon.pid = proc.pid
    try:
        daemon.wait_ready()
        daemon.client.api.import_image_from_data(open(docker.image_tar(f"{root}/rootfs.tar"), "rb").read(),
                                                 repository="userimage", tag="1", changes=['CMD ["/pause"]'])
        container = daemon.client.containers.run("userimage:1", name="users-own", network_mode="none", detach=True)
        yield daemon, proc, container
    finally:
        try:
            for c in daemon.client.containers.list(all=True):
                c.remove(force=True)
        except Exception:  # noqa: BLE001
            pass
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        cleanup.unmount_all(root)
        shutil.rmtree(root, ignore_errors=True)
        cleanup.remove_cgroups([cgroups])
        for d in reversed(made):
            try:
                os.rmdir(d)
            except OSError:
                pass


def wait_for(proc, marker: str, timeout: float = 90) -> str:
    """The lab's output up to the line with marker, read unbuffered against a deadline."""
    try:
        return read_until(proc.stdout, marker, timeout)
    except (TimeoutError, EOFError) as e:
        raise AssertionError(str(e)) from None


def lab_docker_processes(name: str):
    """The lab's Docker side while it runs: processes in its node namespaces (dockerd, containerd,
    shims) and in its containers' cgroups."""
    nodes = set()
    for node in ("node1", "node2"):
        try:
            nodes.add(os.stat(paths.netns_path(node, name)).st_ino)
        except OSError:
            pass
    in_nodes = cleanup.processes_in(nodes)
    in_cgroups = cleanup.cgroup_processes(docker.cgroup_parent(n, name) for n in ("node1", "node2"))
    return in_nodes, in_cgroups


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


@pytest.mark.parametrize("topology,moment,daemons_too", [
    ("openshift", "Loading images", False), ("openshift", "Starting the app containers", False),
    ("openshift", "SCRIPT-STARTED", False), ("openshift", "SCRIPT-STARTED", True),
    ("flannel", "Wiring pods with the CNI plugins", False), ("flannel", "SCRIPT-STARTED", True)])
def test_kill_9_then_lab_clean_leaves_nothing_and_spares_the_machines_dockerd(topology, moment, daemons_too,
                                                                             machine_dockerd, tmp_path):
    """daemons_too: the lab's dockerd and containerd die by SIGKILL as well, so no daemon can remove its
    containers or unmount their file systems: cleanup alone must (namespaces, cgroups, mounts)."""
    daemon, user_proc, user_container = machine_dockerd
    user_start = cleanup.start_time(user_proc.pid)
    name = lab_name()
    script = tmp_path / "wait.mn"
    script.write_text("sh echo SCRIPT-STARTED\nsh sleep 60\n")
    # the machine's own /var/lib/cni (not a mountpoint another lab made and will remove)
    machine_cni_dir = machine_owns(cni.DATA_DIR)
    proc = subprocess.Popen(LAB + ["run", topology, "--runtime", "docker", "--name", name, "--no-checks",
                                   "--script", str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, stdin=subprocess.DEVNULL)
    try:
        wait_for(proc, moment)
        if moment == "Loading images":
            time.sleep(0.3)  # some pause containers exist, their namespaces not yet bound by the lab
    finally:
        proc.kill()
        proc.wait()
    in_nodes, in_cgroups = lab_docker_processes(name)
    names = {comm(p) for p, _s in in_nodes}
    assert "dockerd" in names and "containerd" in names, names  # kill -9 of the lab left its daemons running
    if moment == "SCRIPT-STARTED":
        assert len(in_cgroups) >= 4 * 3, in_cgroups  # every pod's pause and two app containers ran
        assert any("containerd-shim" in comm(p) for p, _s in in_nodes)
        assert cleanup.mounts_under(paths.run_dir(name))  # the containers' overlays
        assert cleanup.cgroup_dirs(docker.cgroup_parent("node1", name))
    if daemons_too:
        daemons = [p for p in in_nodes if comm(p[0]) in ("dockerd", "containerd")]
        assert cleanup.signal_processes(daemons, signal.SIGKILL, grace=0) == len(daemons) == 4
        assert cleanup.mounts_under(paths.run_dir(name))  # nobody left to unmount them

    done = subprocess.run(LAB + ["clean", name], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr

    alive = [(p, comm(p)) for p, s in in_nodes + in_cgroups
             if cleanup.same_process((p, s)) and not cleanup.is_zombie(p)]
    assert not alive, alive
    assert not cleanup.mounts_under(paths.run_dir(name))
    assert not os.path.exists(paths.run_dir(name))
    assert not [d for n in ("node1", "node2") for d in cleanup.cgroup_dirs(docker.cgroup_parent(n, name))]
    assert not [e for e in os.listdir(paths.NETNS_DIR) if e.startswith(f"{name}-")]
    assert not any(cleanup.leftovers(name).values())
    # flannel's mountpoint for the nodes' /var/lib/cni: gone with the lab, unless the machine had it or
    # another lab (the other test worker's) holds it now
    assert left_as_found(cni.DATA_DIR, machine_cni_dir)

    # the machine's own daemon and its container were never touched
    assert cleanup.start_time(user_proc.pid) == user_start
    assert daemon.client.ping()
    user_container.reload()
    assert user_container.status == "running"
    assert os.path.isdir(os.path.join(daemon.where.data, "containers", user_container.id))


@pytest.mark.parametrize("moment", ["Loading images", "Starting the app containers"])
def test_sigterm_during_bring_up_tears_down_promptly_and_leaves_nothing(moment, tmp_path):
    name = lab_name()
    script = tmp_path / "empty.mn"
    script.write_text("")
    proc = subprocess.Popen(LAB + ["run", "openshift", "--runtime", "docker", "--name", name, "--no-checks",
                                   "--script", str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, stdin=subprocess.DEVNULL)
    try:
        wait_for(proc, moment)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143
        # the lab's own teardown, before any `lab clean`
        assert not cleanup.mounts_under(paths.run_dir(name))
        assert not os.path.exists(paths.run_dir(name))
        assert not [d for n in ("node1", "node2") for d in cleanup.cgroup_dirs(docker.cgroup_parent(n, name))]
        assert not any(cleanup.leftovers(name).values())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run(LAB + ["clean", name], capture_output=True, timeout=120)
