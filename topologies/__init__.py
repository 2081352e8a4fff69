"""The lab topologies `lab run` knows, each a module with a TOPOLOGY object."""

from __future__ import annotations

import importlib
from typing import Dict

from lab.errors import BadInput

MODULES: Dict[str, str] = {
    "openshift": "topologies.openshift",
    "flannel": "topologies.flannel",
    "vxlan-p2p": "topologies.vxlan_p2p",
    "docker-vxlan": "topologies.docker_vxlan",
}
DEFAULT = "openshift"


def load(name: str):
    if name.endswith(".py"):  # a user's cluster module, as Mininet's --custom
        from topologies.openshift import custom_topology
        return custom_topology(name)
    if name not in MODULES:
        raise BadInput(f"unknown topology {name!r} (known: {', '.join(sorted(MODULES))}; see `lab list`)")
    return importlib.import_module(MODULES[name]).TOPOLOGY


def catalogue() -> Dict[str, str]:
    return {name: load(name).description for name in sorted(MODULES)}
