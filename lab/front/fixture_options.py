"""The `sdnlab` fixture's options as a test writes them, turned into a topology's `lab run` arguments.

Every `lab run TOPOLOGY` option is a keyword under its long name (`--pods-per-node 2` is `pods_per_node=2`),
and the manifests of `-f/--filename` are `manifests=`: one FILE_OR_DIR or a list of them, a relative path
taken from the test file's folder (so `sudo pytest DIR` works from anywhere). `filename=` (the long option)
works too. `f=` does not: options are long names, one rule without short letters; it is refused in one line
that names `manifests=`, as is any other name the topology does not take (with the nearest it does take).
"""

from __future__ import annotations

import difflib
import os
from typing import Dict, List

# what every lab takes and the fixture decides itself (the lab's name, the CLI's script and checks)
LAB_OWN = frozenset({"name", "json", "script", "no_checks"})
MANIFESTS = "manifests"


class OptionError(TypeError):
    """An option the topology does not take, said in one line."""


def option_names(topology) -> List[str]:
    """The keywords a topology takes: its `lab run` options' long names, plus manifests= where it reads -f."""
    from lab.run import run_parser
    names = set(vars(run_parser(topology).parse_args([]))) - LAB_OWN
    if "filename" in names:
        names.add(MANIFESTS)
    return sorted(names)


def paths_from(value, folder: str) -> List[str]:
    """One path or a list of them; a relative one is taken from `folder` (the test file's)."""
    items = [value] if isinstance(value, (str, os.PathLike)) else list(value)
    return [os.path.join(folder, os.fspath(p)) if not os.path.isabs(os.fspath(p)) else os.fspath(p) for p in items]


def topology_path(topology: str, folder: str) -> str:
    """A cluster module named relative to the test file (`sdnlab("my_cluster.py")`) when it is there."""
    if topology.endswith(".py") and not os.path.isabs(topology) and os.path.exists(os.path.join(folder, topology)):
        return os.path.join(folder, topology)
    return topology


def refuse(topology, name: str, known: List[str]) -> OptionError:
    where = f"sdnlab({topology.name!r})"
    if name in ("f", MANIFESTS, "filename") and MANIFESTS not in known:
        return OptionError(f"{where}: this topology reads no manifests ({name}=); its options: {', '.join(known)}")
    if name == "f":
        return OptionError(f"{where}: options are long names: the command line's -f is {MANIFESTS}=[FILE_OR_DIR, ...]")
    near = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {near[0]}=?)" if near else ""
    return OptionError(f"{where}: no option {name}={hint}; its options: {', '.join(known)}")


def fixture_options(topology, options: Dict[str, object], folder: str) -> Dict[str, object]:
    """The options of `sdnlab(topology, **options)` as lab.run.topology_args takes them, or OptionError."""
    known = option_names(topology)
    for name in options:
        if name not in known:
            raise refuse(topology, name, known)
    out = dict(options)
    if MANIFESTS in out:
        if "filename" in out:
            raise OptionError(f"sdnlab({topology.name!r}): {MANIFESTS}= and filename= are the same option: give one")
        out["filename"] = out.pop(MANIFESTS)
    if "filename" in out:
        out["filename"] = paths_from(out["filename"], folder)
    return out
