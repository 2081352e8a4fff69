"""The topologies `lab run` knows: every module here is one `lab list` entry, a TOPOLOGY object that says
which plane builds it. A user's own Python file (`lab run ./my_cluster.py`) is read the same way: it holds a
TOPOLOGY, or the default topology's cluster module (a build(c) function)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Dict

from lab.errors import BadInput

DEFAULT = "openshift"


def _modules() -> Dict[str, object]:
    found = {}
    for m in pkgutil.iter_modules(__path__):
        topology = importlib.import_module(f"{__name__}.{m.name}").TOPOLOGY
        found[topology.name] = topology
    return found


def names():
    return sorted(_modules())


def load(name: str):
    if name.endswith(".py"):  # a user's file, as Mininet's --custom
        return _user_file(name)
    known = _modules()
    if name not in known:
        raise BadInput(f"unknown topology {name!r} (known: {', '.join(sorted(known))}; see `lab list`)")
    return known[name]


def _user_file(path: str):
    """A file with its own TOPOLOGY, or a cluster module for the default topology."""
    import ast
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return load(DEFAULT).custom(path)  # its loader says what is wrong, in one line
    if any(isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "TOPOLOGY" for t in n.targets) for n in tree.body):
        spec = importlib.util.spec_from_file_location("sdnlab_user_topology", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.TOPOLOGY
    return load(DEFAULT).custom(path)


def catalogue() -> Dict[str, str]:
    return {name: t.description for name, t in sorted(_modules().items())}
