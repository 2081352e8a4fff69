"""Files named with -o/--json/--junit: a bad place is one line and exit 2 before any work; a write that
fails leaves no file, no half file and no temporary file, and never says "wrote"."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab import outfile
from lab.errors import BadInput

REPO = str(Path(__file__).resolve().parents[2])


def lab_cmd(*args, cwd=REPO):
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=cwd, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("path, words", [
    ("/proc/x.svg", "/proc is a proc filesystem"),
    ("/sys/x.svg", "/sys is a sysfs filesystem"),
    ("/dev/full.svg", "/dev is a"),  # once: dot wrote a file into /dev and said "wrote"
    ("/nonexistent-sdnlab/x.svg", "does not exist"),
    ("", "the file name is empty"),
    ("x.txt", "the file name ends in .svg or .png"),
])
def test_bad_places_are_refused_before_any_work(path, words):
    with pytest.raises(BadInput, match=words.replace(".", r"\.")):
        outfile.check_file(path, suffixes=(".svg", ".png"))


def test_a_directory_named_as_a_file_and_a_file_named_as_a_directory(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(BadInput, match="is a directory"):
        outfile.check_file(str(tmp_path))
    with pytest.raises(BadInput, match="is not a directory"):
        outfile.check_file(str(tmp_path / "afile" / "x.svg"))
    with pytest.raises(BadInput, match="is not a directory"):
        outfile.check_dir(str(tmp_path / "afile"))


def test_write_replaces_whole_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "p.svg"
    target.write_text("old")
    outfile.write(str(target), b"new picture")
    assert target.read_bytes() == b"new picture"
    assert sorted(os.listdir(tmp_path)) == ["p.svg"]


def test_write_through_a_symlink_keeps_the_link_and_fills_its_target(tmp_path):
    (tmp_path / "pics").mkdir()
    target = tmp_path / "pics" / "real.svg"
    target.write_text("old")
    link = tmp_path / "p.svg"
    link.symlink_to(target)
    assert outfile.write(str(link), b"new picture") == str(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"new picture"
    assert sorted(os.listdir(tmp_path)) == ["p.svg", "pics"] and os.listdir(tmp_path / "pics") == ["real.svg"]
    dangling = tmp_path / "d.svg"
    dangling.symlink_to(tmp_path / "pics" / "new.svg")
    outfile.write(str(dangling), b"x")
    assert dangling.is_symlink() and (tmp_path / "pics" / "new.svg").read_bytes() == b"x"


@pytest.mark.parametrize("args", [
    ["draw", "openshift", "-o", "/dev/full.svg"],
    ["draw", "openshift", "-o", "/nonexistent-sdnlab/x.svg"],
    ["draw", "openshift", "--what", "pipeline", "-o", "/proc/p.png"],
    ["workshop", "handout", "veth-port", "-o", "/proc/handouts"],
    ["workshop", "handout", "veth-port", "-o", "/sys/kernel"],
])
def test_the_commands_refuse_bad_outputs_with_one_line(args):
    before = set(os.listdir("/dev"))
    r = lab_cmd(*args)
    assert r.returncode == 2 and r.stdout == "", r
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lab: error: -o "), r.stderr
    assert set(os.listdir("/dev")) == before


def test_handout_under_a_file_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x")
    r = lab_cmd("workshop", "handout", "veth-port", "-o", str(tmp_path / "afile" / "sub"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "is not a directory" in r.stderr, r
    assert "Traceback" not in r.stderr
