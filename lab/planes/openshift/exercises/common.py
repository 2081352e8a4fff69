"""What the OpenShift exercises ask of their lab, through its own CLI's verbs (ExerciseLab.ask): an `oc`
line, a node's underlay cable, the API server's view (from the lab's process, not a file a student edits)."""

from __future__ import annotations

import json


def oc(lab, line: str) -> str:
    """An `oc` line as the lab's CLI runs it; its output."""
    return lab.ask("oc", line)


def unplug(lab, node: str, plugged: bool = False) -> None:
    """The CLI's `unplug NODE` (plugged=True: `plug NODE`)."""
    lab.ask("plug" if plugged else "unplug", node)


def api(lab) -> dict:
    """What `oc get` shows now: the lab's own API state (lab.planes.openshift.api.apistate)."""
    return json.loads(lab.ask("api", ""))
