"""A lab's records are root's alone: its run directory 0700, the files the lab writes there 0600."""

import os
import stat

import pytest
from test_lab_lifecycle import assert_gone, lab, name, no_lab_survives_a_test, output, start, wait_for_line  # noqa: F401

from lab import paths

pytestmark = pytest.mark.root

# what the lab writes for itself (the daemons' own files are behind the 0700 directories)
RECORDS = ("owner", "info.json", "hosts.json", "api.json", "faults/flow-90.json", "control.sock")


def test_records_are_0600_under_a_0700_run_directory(tmp_path):
    lab_name = name("rec")
    script = tmp_path / "wait.mn"
    script.write_text("sh echo SCRIPT-STARTED\nsh sleep 60\n")
    proc = start("run", "openshift", "--nodes", "2", "--pods-per-node", "1", "--no-checks", "--name", lab_name,
                 "--script", str(script))
    try:
        wait_for_line(proc, "SCRIPT-STARTED", timeout=120)
        r = lab("fault", "inject", "--name", lab_name, "flow-90")
        assert r.returncode == 0, r.stdout + r.stderr
        r = lab("oc", "--name", lab_name, "label", "pod", "pod1", "tier=web")  # api.json written again
        assert r.returncode == 0, r.stdout + r.stderr
        run_dir = paths.run_dir(lab_name)
        assert stat.S_IMODE(os.stat(run_dir).st_mode) == 0o700
        modes = {rec: stat.S_IMODE(os.stat(os.path.join(run_dir, rec)).st_mode) for rec in RECORDS}
        assert modes == {rec: 0o600 for rec in RECORDS}
        assert stat.S_IMODE(os.stat(os.path.join(run_dir, "faults")).st_mode) == 0o700
        for host in ("node1", "node2", "pod1"):
            assert stat.S_IMODE(os.stat(os.path.join(run_dir, host)).st_mode) == 0o700, host
        written = [os.path.join(d, f) for d, _dirs, files in os.walk(run_dir) for f in files
                   if f.endswith((".sh", ".json", "flows.expected"))]
        assert written and {p: stat.S_IMODE(os.stat(p).st_mode) for p in written} == {p: 0o600 for p in written}
    finally:
        proc.terminate()
        output(proc, timeout=60)
    assert_gone(lab_name)
