"""Records the lab writes under its run directory are born 0600, whatever the umask."""

import os
import stat

from lab import paths
from lab.planes.openshift.api import apistate
from lab.planes.openshift.master.cluster import build_cluster
from lab.workshop import live


def test_workshop_and_api_records_are_0600(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "RUN_DIR", str(tmp_path))
    (tmp_path / "rec").mkdir()
    old = os.umask(0o022)
    try:
        live.write_record("rec", {"exercise": "x"})
        apistate.write("rec", build_cluster(nodes=1, pods_per_node=1))
        with paths.open_private(str(tmp_path / "rec" / "log"), "a") as f:
            f.write("x\n")
    finally:
        os.umask(old)
    for f in (live.RECORD, apistate.FILE, "log"):
        assert stat.S_IMODE(os.stat(tmp_path / "rec" / f).st_mode) == 0o600, f
