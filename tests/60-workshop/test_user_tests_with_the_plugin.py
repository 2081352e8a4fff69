"""The pytest plugin as a user meets it: pytest run on examples/pytest passes, and its assertions
explain a wrong expectation."""

import os
import subprocess
import sys
from importlib import metadata

import pytest

from lab import paths

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "examples", "pytest")


def run_pytest(*args: str, timeout: float = 300, user: str = "", **extra_env: str) -> subprocess.CompletedProcess:
    """pytest in a child process under a lab name of its own (ours + 'x'), plugin as installed;
    user: run it as that user instead (setpriv)."""
    env = dict(os.environ, SDNLAB_NAME=paths.lab_name()[:11] + "x", PYTHONPATH=REPO)
    for var in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_ADDOPTS", "SDNLAB_REQUIRE_ALL"):
        env.pop(var, None)
    installed = any(ep.name == "sdnlab" for ep in metadata.entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "lab.front.pytest_plugin"]  # a checkout not yet reinstalled
    env.update(extra_env)
    who = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if user else []
    return subprocess.run([*who, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", EXAMPLES,
                           *plugin, *args], cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.root
def test_the_example_folder_passes():
    r = run_pytest(EXAMPLES)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "4 passed" in out and "skipped" not in out, out


@pytest.mark.root
def test_a_wrong_path_fails_with_a_readable_diff(tmp_path):
    (tmp_path / "test_wrong.py").write_text(
        "import pytest\n"
        "@pytest.mark.root\n"
        "def test_wrong(sdnlab):\n"
        "    lab = sdnlab('openshift', nodes=2, pods_per_node=1)\n"
        "    lab.assert_path('pod1', 'pod2', [0, 20, 21, 30, 90, 0, 10, 30, 70, 99])\n")
    r = run_pytest(str(tmp_path / "test_wrong.py"))
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "path pod1 -> pod2 differs" in out and "> 99" in out, out
    assert "node1: 0 > 20 > 21 > 30 > 90: output vxlan0" in out, out
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [ln for ln in left.splitlines() if ln.startswith(paths.lab_name()[:11] + "x-")], left


@pytest.mark.root
def test_not_root_skips_with_the_reason_and_require_all_fails_the_run():
    r = run_pytest("-rs", EXAMPLES, user="65534")
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "4 skipped" in out, out
    assert out.count("needs root: real network namespaces and kernel objects") == 4, out
    r = run_pytest(EXAMPLES, user="65534", SDNLAB_REQUIRE_ALL="1")
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "SDNLAB_REQUIRE_ALL: 4 tests skipped; failing the run" in out, out
