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


def oc_yaml(lab, line: str) -> dict:
    """`oc get ... -o yaml` through the lab's CLI, parsed: an object, or a List's {'items': [...]}."""
    import yaml
    return yaml.safe_load(oc(lab, f"{line} -o yaml")) or {}


def netids(lab) -> dict:
    """NetNamespace -> NETID as `oc get netnamespaces` shows it now (not the record taken at start)."""
    return dict(api(lab)["netnamespaces"])


def private_file(lab, name: str, content: str) -> str:
    """A file in the lab's run directory (0600) for an `oc apply -f` of a wrong fix; its path."""
    import os

    from lab import paths
    path = os.path.join(paths.run_dir(lab.name), name)
    with paths.open_private(path) as f:
        f.write(content)
    return path


def write_api_json(lab, edit) -> None:
    """A student's edit of {lab_dir}/api.json (root can write it): edit(state) changes the parsed file."""
    import os

    from lab import paths
    path = os.path.join(paths.run_dir(lab.name), "api.json")
    with open(path) as f:
        state = json.load(f)
    edit(state)
    with open(path, "w") as f:
        json.dump(state, f, indent=1)
