"""`lab fault` without a lab: the catalogue and mistakes (one error line, exit code 2, nothing touched)."""

from lab import paths
from lab.front import cli
from lab.front.faults import every_fault


def test_at_least_eight_faults_over_both_data_planes(capsys):
    assert cli.main(["fault", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    faults = every_fault()
    assert len(out) == len(faults) >= 8
    assert {p for _f, planes in faults.values() for p in planes} == {"openshift", "flannel"}
    assert all(line.split()[0] in faults for line in out)


def test_mistakes_are_one_line_and_exit_2(capsys):
    assert cli.main(["fault"]) == 2
    assert cli.main(["fault", "break"]) == 2
    assert cli.main(["fault", "status", "--name", "Bad_Name"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith("lab: error: ") for line in err)


def test_status_of_a_lab_without_faults(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "RUN_DIR", str(tmp_path))
    assert cli.main(["fault", "status", "--name", "nolab"]) == 0
    assert "no faults injected in lab 'nolab'" in capsys.readouterr().out
