"""`vagrant up && sudo pytest` as a new user meets it: provisioning's link script (vagrant/link-commands.sh) puts
a fresh virtualenv's pytest (sdnlab installed -e) on the PATH, and that bare `pytest` runs a user's folder
(no conftest: the plugin comes from the entry point pytest11) with a lab built from manifests, and the
checkout's suite from its testpaths. A pytest without the plugin (a virtualenv with only pytest) stops in one
line saying how to get it, in a folder made from examples/pytest and in the checkout. Wrong fixture option
names are one line each. The tests marked rootless build no lab: they stop before root is needed."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lab import paths

REPO = Path(__file__).resolve().parents[2]
LINK = REPO / "vagrant" / "link-commands.sh"
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
WEB = """\
apiVersion: v1
kind: Namespace
metadata: {name: p1}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: p1, labels: {app: web}}
spec:
  nodeName: node2
  containers:
  - {name: web, image: busybox, ports: [{containerPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: p1}
spec:
  selector: {app: web}
  clusterIP: 172.30.0.80
  ports: [{port: 80, targetPort: 8080}]
"""
USER_TEST = """\
import sys
import pytest

@pytest.mark.root
def test_web_from_a_manifest_answers_across_nodes(sdnlab):
    lab = sdnlab("openshift", nodes=2, pods_per_node=1, manifests="web.yaml")  # beside this file
    print("PYTHON", sys.prefix, "LAB", lab.name)
    lab.assert_reachable("pod1", "web")
    assert lab.request("pod1", "web.p1:80").pod == "web"
"""
WRONG_NAMES = """\
import pytest

@pytest.mark.root
def test_f(sdnlab):
    sdnlab("openshift", nodes=2, f="web.yaml")

@pytest.mark.root
def test_node(sdnlab):
    sdnlab("openshift", node=2)

@pytest.mark.root
def test_flannel_manifests(sdnlab):
    sdnlab("flannel", manifests="web.yaml")
"""


def clean_env(**extra: str) -> dict:
    """The environment of a person's shell: none of this run's pytest, xdist or import path."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "SDNLAB_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return dict(env, **extra)


def run(argv, cwd, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def venv(where: Path, *pip_args: str) -> Path:
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(where)], check=True, timeout=120)
    r = subprocess.run([str(where / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", *pip_args],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return where


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory):
    """A fresh virtualenv with sdnlab installed -e, linked into a bin folder by provisioning's own script:
    (venv, bin) as /usr/local/bin would be after `vagrant up`."""
    root = tmp_path_factory.mktemp("provisioned")
    env = venv(root / "venv", "-e", str(REPO))
    r = subprocess.run(["bash", str(LINK), str(env), str(root / "bin")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr, r.stdout + r.stderr
    return env, root / "bin"


@pytest.fixture(scope="module")
def bare_pytest(tmp_path_factory) -> Path:
    """A pytest without sdnlab: a virtualenv with only pytest in it."""
    return venv(tmp_path_factory.mktemp("bare") / "venv", "pytest") / "bin" / "pytest"


@pytest.mark.root
def test_pytest_on_the_path_runs_a_user_folder_with_a_lab_from_manifests(provisioned, tmp_path):
    env, bin_dir = provisioned
    folder = tmp_path / "my-tests"
    folder.mkdir()
    (folder / "web.yaml").write_text(WEB)
    (folder / "test_cluster.py").write_text(USER_TEST)
    name = paths.lab_name()[:11] + "1"  # zp1 under SDNLAB_NAME=zp
    # a bare `pytest`, found on the PATH; from another folder (the manifest is found beside the test)
    r = run(["pytest", "-v", "-s", "-p", "no:cacheprovider", str(folder)], cwd=tmp_path,
            PATH=f"{bin_dir}:{SYSTEM_PATH}", SDNLAB_NAME=name)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "1 passed" in out, out
    assert f"PYTHON {env} LAB {name}" in out, out  # the linked venv's pytest ran it, on the lab named
    plugins = next(ln for ln in out.splitlines() if ln.startswith("plugins:"))
    assert "sdnlab-0.1.0" in plugins, out  # loaded by its entry point: the folder has no conftest
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10).stdout
    assert not [ln for ln in left.splitlines() if ln.startswith(f"{name}-")], left


@pytest.mark.rootless
def test_wrong_option_names_are_one_line_each(provisioned, tmp_path):
    _env, bin_dir = provisioned
    (tmp_path / "test_wrong.py").write_text(WRONG_NAMES)
    r = run(["pytest", "-p", "no:cacheprovider", "--tb=short", str(tmp_path)], cwd=tmp_path,
            PATH=f"{bin_dir}:{SYSTEM_PATH}", SDNLAB_NAME=paths.lab_name()[:11] + "1")
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "3 failed" in out, out
    said = [ln for ln in out.splitlines() if ln.startswith("E   ")]
    assert said == [
        "E   lab.front.fixture_options.OptionError: sdnlab('openshift'): options are long names: "
        "the command line's -f is manifests=[FILE_OR_DIR, ...]",
        "E   lab.front.fixture_options.OptionError: sdnlab('openshift'): no option node= (did you mean nodes=?); "
        "its options: " + said[1].split("its options: ")[1],
        "E   lab.front.fixture_options.OptionError: sdnlab('flannel'): this topology reads no manifests (manifests=); "
        "its options: " + said[2].split("its options: ")[1],
    ], out
    assert "manifests" in said[1] and "manifests" not in said[2].split("its options: ")[1], out
    assert "fixture_options.py" not in out and "pytest_plugin.py" not in out, out  # the test's line, not ours


@pytest.mark.rootless
def test_pytest_in_the_checkout_collects_the_suite(provisioned):
    _env, bin_dir = provisioned
    r = run(["pytest", "--collect-only", "-q", "-p", "no:cacheprovider"], cwd=REPO, PATH=f"{bin_dir}:{SYSTEM_PATH}")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    ids = [ln for ln in r.stdout.splitlines() if "::" in ln]
    folders = {i.split("/")[1] for i in ids}
    assert {"unit", "10-openshift", "20-lab-command", "60-workshop"} <= folders, folders  # setup.cfg's testpaths
    assert all(i.startswith("tests/") for i in ids), [i for i in ids if not i.startswith("tests/")][:5]


@pytest.mark.rootless
def test_without_the_plugin_one_line_says_how_to_get_it(bare_pytest, tmp_path):
    folder = tmp_path / "mine"
    shutil.copytree(REPO / "examples" / "pytest", folder, ignore=shutil.ignore_patterns("__pycache__"))
    r = run([str(bare_pytest), "-p", "no:cacheprovider", str(folder)], cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 4 and "fixture 'sdnlab' not found" not in out, out
    said = [ln for ln in out.splitlines() if "sdnlab" in ln]
    assert len(said) == 1 and "has no sdnlab plugin" in said[0] and f"sudo pytest {folder}" in said[0], out
    assert "pip install -e" in said[0] and "/usr/local/bin/pytest" in said[0], out
    assert "Traceback" not in out and "warning" not in out.lower(), out
    # the checkout's suite with that pytest: the same, before any test module is imported
    r = run([str(bare_pytest), "-p", "no:cacheprovider"], cwd=REPO)
    assert r.returncode == 4 and r.stdout == "", r.stdout + r.stderr
    assert r.stderr.count("\n") == 1 and "has no sdnlab plugin" in r.stderr, r.stderr


@pytest.mark.rootless
def test_provisioning_leaves_someone_elses_pytest_alone(tmp_path):
    # the script these tests run is the one provisioning runs (provision.sh itself repoints this machine's commands)
    assert 'bash "$REPO/vagrant/link-commands.sh" "$VENV" "${SDNLAB_BIN:-/usr/local/bin}"' in \
        (REPO / "vagrant" / "provision.sh").read_text()
    new = tmp_path / "new-venv"
    old = tmp_path / "old-venv"
    (old / "bin").mkdir(parents=True)
    (old / "bin" / "pytest").write_text("#!/bin/sh\n")
    (old / ".sdnlab-installed").write_text("stamp\n")
    other = tmp_path / "their-venv" / "bin"
    other.mkdir(parents=True)
    (other / "pytest").write_text("#!/bin/sh\n")
    cases = {  # what BIN/pytest was -> whether the script repoints it at the new venv
        "absent": (None, True),
        "a file of theirs": ("file", False),
        "a link into their venv": (other / "pytest", False),
        "a link into an sdnlab venv": (old / "bin" / "pytest", True),
        "a dangling link": (tmp_path / "gone" / "bin" / "pytest", True),
    }
    for case, (was, repointed) in cases.items():
        bin_dir = tmp_path / case.replace(" ", "-")
        bin_dir.mkdir()
        if was == "file":
            (bin_dir / "pytest").write_text("#!/bin/sh\necho theirs\n")
        elif was is not None:
            (bin_dir / "pytest").symlink_to(was)
        r = subprocess.run(["bash", str(LINK), str(new), str(bin_dir)], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, (case, r.stderr)
        assert os.readlink(bin_dir / "lab") == f"{new}/bin/lab", case
        link = bin_dir / "pytest"
        if repointed:
            assert os.readlink(link) == f"{new}/bin/pytest" and not r.stderr, (case, r.stderr)
        else:
            assert (link.read_text() == "#!/bin/sh\necho theirs\n") if was == "file" else os.readlink(link) == str(was)
            assert r.stderr.count("\n") == 1 and f"{link} is not sdnlab's" in r.stderr, (case, r.stderr)
            assert f"sdnlab's pytest is {new}/bin/pytest" in r.stderr, (case, r.stderr)

