"""Process identity, fail-closed namespace selection and the lab lock, without root (own children, a tmp RUN_DIR)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from lab import cleanup, paths, registry
from lab.errors import BadInput
from lab.observe.probe import read_line


@pytest.fixture
def run_root(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "RUN_DIR", str(tmp_path / "run"))
    return tmp_path / "run"


def test_a_pid_with_another_start_time_is_not_signalled():
    child = subprocess.Popen(["sleep", "30"])
    try:
        start = cleanup.start_time(child.pid)
        assert cleanup.signal_processes([(child.pid, start - 1)]) == 0
        time.sleep(0.1)
        assert child.poll() is None  # a reused pid is someone else
        assert cleanup.signal_processes([(child.pid, start)], grace=2) == 1
        assert child.wait(timeout=5) == -signal.SIGTERM
    finally:
        child.kill()
        child.wait()


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace():
    child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                              "print('ready', flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert read_line(child.stdout, 10).decode().strip() == "ready"
        t = time.monotonic()
        cleanup.signal_processes([(child.pid, cleanup.start_time(child.pid))], grace=0.3)
        assert child.wait(timeout=5) == -signal.SIGKILL and time.monotonic() - t < 3
    finally:
        child.kill()
        child.wait()


def test_namespaces_are_selected_by_nothing_when_our_own_cannot_be_read(run_root, monkeypatch):
    """Fail closed: without our own namespace to exclude, no process is chosen by namespace at all."""
    os.makedirs(paths.run_dir("ut"))
    child = subprocess.Popen(["sleep", "30"])
    try:
        cleanup.record_process(child.pid, "shell x", "ut")
        assert cleanup.lab_namespaces("ut") == set()  # the child shares our namespace: excluded
        monkeypatch.setattr(cleanup, "netns_inode", lambda pid: None if pid == "self" else 4026531840)
        assert cleanup.lab_namespaces("ut") == set()
        assert cleanup.processes_in(cleanup.lab_namespaces("ut")) == []
    finally:
        child.kill()
        child.wait()


def test_records_only_name_binds_of_their_own_lab(run_root):
    os.makedirs(paths.run_dir("ut"))
    for p in ("/var/run/netns/ut-node1", "/var/run/netns/other-node1", "/etc/passwd"):
        cleanup.record_netns(p, "ut")
    assert cleanup.recorded_binds("ut") == ["/var/run/netns/ut-node1"]


def test_one_name_one_owner_and_a_dead_owner_frees_it(run_root):
    claim = registry.acquire("ut", {"topology": "x"}, progress=lambda m: None)
    try:
        with pytest.raises(BadInput, match="lab 'ut' is already running"):
            registry.acquire("ut", progress=lambda m: None)
        assert [lab["state"] for lab in registry.labs()] == ["running"]
    finally:
        registry.release("ut")
    assert claim.fd is None and not os.path.exists(paths.lock_file("ut"))
    # another process holds it, then dies by SIGKILL: the lock is free and its remains are removed
    holder = subprocess.Popen([sys.executable, "-c", f"""
import fcntl, os, sys, time
os.makedirs({str(run_root)!r}, exist_ok=True)
fd = os.open({paths.lock_file('ut')!r}, os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.makedirs({paths.run_dir('ut')!r}, exist_ok=True)
open({paths.run_dir('ut') + '/owner'!r}, 'w').write('%d 1\\n' % os.getpid())
print('held', flush=True)
time.sleep(30)
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert read_line(holder.stdout, 10).decode().strip() == "held"
        with pytest.raises(BadInput):
            registry.acquire("ut", progress=lambda m: None)
        assert [lab["state"] for lab in registry.labs()] == ["stale"]  # its owner record has a wrong start time
        holder.kill()
        holder.wait()
        said = []
        registry.acquire("ut", progress=said.append)
        assert said == ["*** Removing what an earlier run of lab 'ut' left behind"]
        assert sorted(os.listdir(paths.run_dir("ut"))) == ["info.json", "owner"]
    finally:
        holder.kill()
        holder.wait()
        registry.release("ut")


@pytest.mark.parametrize("bad", ["", "Upper", "has-dash", "1abc", "abcdefghijklm", "a b"])
def test_lab_names_are_short_lowercase_words(bad):
    with pytest.raises(BadInput, match="invalid lab name"):
        paths.check_name(bad)


def test_the_last_lab_out_leaves_no_run_directory(run_root):
    registry.acquire("ut1", progress=lambda m: None)
    registry.acquire("ut2", progress=lambda m: None)
    cleanup.clean_lab("ut1")
    registry.release("ut1")
    assert os.path.isdir(run_root)  # ut2 still holds its lock in it
    cleanup.clean_lab("ut2")
    registry.release("ut2")
    assert not os.path.exists(run_root)
    registry.acquire("ut1", progress=lambda m: None)  # and the next lab makes it again
    assert os.path.exists(paths.lock_file("ut1"))
    cleanup.clean_lab("ut1")
    registry.release("ut1")


def test_a_process_that_outlived_teardown_is_reported_although_its_record_is_gone(tmp_path, monkeypatch):
    """Teardown deletes the records that name a lab's processes; the snapshot taken before it still
    tells whether one of them survived."""
    from lab.front.pytest_plugin import assert_nothing_left
    monkeypatch.setattr(paths, "RUN_DIR", str(tmp_path))  # an empty run dir: no records at all
    survivor = subprocess.Popen(["sleep", "30"])
    try:
        snapshot = [(survivor.pid, cleanup.start_time(survivor.pid))]
        with pytest.raises(AssertionError, match=str(survivor.pid)):
            assert_nothing_left("nolab", snapshot)
    finally:
        survivor.kill()
        survivor.wait(5)
    assert_nothing_left("nolab", snapshot)  # gone (and reaped): nothing left


def test_a_shared_mountpoint_goes_with_the_last_lab_that_uses_it(run_root, tmp_path, monkeypatch):
    """Two labs use one mountpoint the first one made; whichever leaves first keeps it, the last removes
    it; and a directory the machine had is never removed."""
    from lab.net import LabNet
    shared, machines = str(tmp_path / "flannel"), str(tmp_path / "machines")
    os.makedirs(machines)
    for lab in ("one", "two"):
        os.makedirs(run_root / lab)
        monkeypatch.setitem(paths._current, "name", lab)  # this process is that lab for the moment
        for path in (shared, machines):
            LabNet.ensure_mountpoint(None, path)
    assert cleanup.recorded_mountpoints() == {shared}  # the machine's own directory is nobody's
    cleanup.clean_lab("one")
    assert os.path.isdir(shared)  # "two" still uses it
    cleanup.clean_lab("two")
    assert not os.path.exists(shared) and os.path.isdir(machines)


@pytest.mark.root
def test_a_mountpoint_in_use_in_another_mount_namespace_is_seen(tmp_path):
    """A lab of another run directory (whose records this lab cannot see) still has its hosts' mounts on
    the shared directory: cleanup must see them before it removes the directory."""
    point = tmp_path / "shared"
    point.mkdir()
    assert not cleanup.mounted_in_some_namespace(str(point))
    holder = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                               f"mount -t tmpfs none {point} && echo ready && exec sleep 30"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert read_line(holder.stdout, 10).decode().strip() == "ready"
        assert not cleanup.mounts_under(str(point))  # not in this namespace...
        assert cleanup.mounted_in_some_namespace(str(point))  # ...but in the holder's
    finally:
        holder.kill()
        holder.wait(5)
    assert not cleanup.mounted_in_some_namespace(str(point))
