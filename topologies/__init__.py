"""The lab topologies `lab run` knows, each a module with a TOPOLOGY object."""

from __future__ import annotations

import importlib
from typing import Dict

from lab.errors import BadInput

MODULES: Dict[str, str] = {
    "openshift": "lab.planes.openshift.topology",
    "flannel": "lab.planes.flannel.topology",
    "vxlan-p2p": "lab.planes.rawvxlan.p2p",
    "docker-vxlan": "lab.planes.rawvxlan.docker_bridges",
}
DEFAULT = "openshift"


def load(name: str):
    if name.endswith(".py"):  # a user's cluster module, as Mininet's --custom
        from lab.planes.openshift.topology import custom_topology
        return custom_topology(name)
    if name not in MODULES:
        raise BadInput(f"unknown topology {name!r} (known: {', '.join(sorted(MODULES))}; see `lab list`)")
    return importlib.import_module(MODULES[name]).TOPOLOGY


def catalogue() -> Dict[str, str]:
    return {name: load(name).description for name in sorted(MODULES)}
