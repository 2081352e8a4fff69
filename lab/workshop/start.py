"""How an exercise's lab starts: its `lab run` options, what the bring-up does for it (StartHooks), and the
workshop labs running on this machine."""

from __future__ import annotations

from typing import List

from lab.workshop import session
from lab.workshop.exercise import Exercise
from lab.workshop.live import hold, read_record


class StartHooks:
    """What `lab run` does for an exercise: after the build, the record and the setup; then the task;
    the CLI gets the workshop verbs."""

    def __init__(self, ex: Exercise, lang: str):
        self.ex, self.lang = ex, lang

    def after_build(self, net, topology, model) -> None:
        hold(net.name, topology.control_handlers(net, model))  # the exercise's `oc` steps apply here
        session.begin(net.name, self.ex, self.lang, topology.inventory(net, model))
        print("\n" + session.task_text(self.ex, self.lang, net.name), flush=True)

    def verbs(self, net) -> dict:
        return session.cli_verbs(net.name)


def run_args(ex: Exercise, name: str) -> List[str]:
    argv = [ex.topology, *ex.run_args, "--name", name]
    if ex.datapaths != ("system", "netdev"):
        argv += ["--datapath", ex.datapaths[0]]
    return argv


def running_labs() -> List[str]:
    """The running labs that run a workshop exercise."""
    from lab import registry
    return [lab["name"] for lab in registry.labs() if lab["state"] == "running" and read_record(lab["name"])]
