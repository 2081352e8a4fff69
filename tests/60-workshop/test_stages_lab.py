"""Stages on a real lab: a small staged exercise built here (stage 1: fix node1's MASQUERADE; stage 2: a
stale ARP entry on pod2), `stage next` only once the stage's check passes and then a checkpoint, `reset --stage N` back to
that stage's start as the kernel had it, the moves in the lab's journal, check naming the stage."""

import pytest

from lab import paths
from lab.front import cli, faults
from lab.workshop import catalogue, journal, session
from lab.workshop.catalogue import exercise
from lab.workshop.criteria import reaches, repair
from lab.workshop.exercise import Exercise, Stage, hints, text
from lab.workshop.live import ExerciseLab, hold, release

pytestmark = pytest.mark.root


def _setup(lab) -> None:
    faults.inject(lab.name, "masquerade", ["node1"])
    faults.inject(lab.name, "stale-arp", ["pod2", "pod1"])


STAGED = Exercise(
    "staged-demo", "openshift", exercise("masquerade").run_args, 10,
    text("Two steps", "两步"), text("Fix node1, then node2.", "先修复 node1，再修复 node2。"),
    hints(["look at node1's nat table"], ["查看 node1 的 nat 表"]),
    setup=_setup,
    stages=(Stage(text("SNAT on node1", "node1 的 SNAT"), text("pod1 must reach ext.", "pod1 要能访问 ext。"),
                  criteria=(reaches("pod1", "ext"),), solve=repair("masquerade")),
            Stage(text("pod2 reaches pod1", "pod2 访问 pod1"), text("pod2 must reach pod1.", "pod2 要能访问 pod1。"),
                  criteria=(reaches("pod2", "pod1"),), solve=repair("stale-arp"))),
)


@pytest.fixture(scope="module")
def lab():
    import topologies
    from lab import run
    from lab.workshop.command import _run_args
    name = (paths.lab_name()[:8] + "st")[:12]
    catalogue.CATALOGUE[STAGED.id] = STAGED
    topology = topologies.load(STAGED.topology)
    args, model = run.from_argv(topology, _run_args(STAGED, name)[1:])
    net = run.start(topology, args, model, name=name)
    try:
        hold(name, topology.control_handlers(net, model))
        session.begin(name, STAGED, "en", topology.inventory(net, model))
        yield ExerciseLab(name)
    finally:
        release(name)
        net.stop()
        catalogue.CATALOGUE.pop(STAGED.id, None)


def test_stages_advance_only_when_done_and_reset_returns_to_each_stages_start(lab, capsys):
    ext = lab.ip_of("ext")
    assert "stage 1/2: SNAT on node1" in session.stage_text(lab.name)
    with pytest.raises(Exception, match="stage 1 of staged-demo is not done yet"):
        session.advance(lab.name)
    g = session.check(lab.name)
    assert (g.stage, g.stages, g.passed) == (0, 2, False)

    session.solve(lab.name)
    assert lab.ping("pod1", ext)
    assert cli.main(["workshop", "stage", "--name", lab.name, "next"]) == 0  # `lab workshop stage next`
    assert "on to stage 2/2" in capsys.readouterr().out
    assert cli.main(["workshop", "stage", "--name", lab.name]) == 0
    assert "stage 2/2: pod2 reaches pod1" in capsys.readouterr().out
    assert not lab.ping("pod2", lab.ip_of("pod1"), tries=2)
    g = session.check(lab.name)
    assert (g.stage, g.passed) == (1, False) and "pod2 reaches pod1" in g.results[0].criterion

    # the student breaks stage 1's work again: reset (stage 2) brings back stage 2's start, SNAT included
    lab.sh("node1", "iptables -t nat -F OPENSHIFT-MASQUERADE")
    assert not lab.ping("pod1", ext, tries=2)
    out = session.reset(lab.name)
    assert "reset to stage 2" in out and "restored from the checkpoint" in out, out
    assert lab.ping("pod1", ext) and not lab.ping("pod2", lab.ip_of("pod1"), tries=2)

    # from another shell: `lab workshop reset --stage 1` puts node1's fault back and the stage to 1
    # (in this process: the staged exercise exists only here)
    assert cli.main(["workshop", "reset", "--name", lab.name, "--stage", "1"]) == 0
    out = capsys.readouterr().out
    assert "reset to stage 1" in out, out
    assert not lab.ping("pod1", ext, tries=2) and session.current_stage(lab.name) == 0
    with pytest.raises(Exception, match="stage 3 has not been reached"):
        session.reset(lab.name, 3)

    moves = [(e["event"], e.get("stage")) for e in journal.events(lab.name) if e["event"] in ("stage", "reset")]
    assert moves == [("stage", 1), ("reset", 1), ("reset", 0)]
