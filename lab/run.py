"""The one bring-up: a topology's options parsed, its model made, the machine checked, the lab claimed and
built. `lab run` (lab.front.runner), the workshop and the pytest plugin all start labs through here."""

from __future__ import annotations

import argparse
from typing import Callable, List, Optional

from lab import paths
from lab.errors import BadInput
from lab.net import LabNet
from lab.signals import SIGS, Interrupted


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit code 2
        raise BadInput(f"{message} (see `{self.prog} --help`)")


def run_parser(topology) -> argparse.ArgumentParser:
    """`lab run TOPOLOGY` options: the topology's own, then what every lab takes."""
    p = _Parser(prog=f"lab run {topology.name}", add_help=True, description=topology.description)
    topology.add_arguments(p)
    p.add_argument("--name", default=paths.lab_name(),
                   help=f"the lab's name: several labs of different names run side by side (default {paths.lab_name()})")
    p.add_argument("--json", metavar="FILE", help="write the inventory here before the CLI or script starts")
    p.add_argument("--script", metavar="FILE", help="run Mininet CLI commands from FILE, then tear down")
    p.add_argument("--no-checks", action="store_true", help="skip the built-in connectivity checks")
    return p


def topology_args(topology, **options) -> argparse.Namespace:
    """The topology's `lab run` defaults, overridden by keyword options (pods_per_node=2, backend=...).
    An option the topology does not know is a mistake of the caller, said at once."""
    args = run_parser(topology).parse_args([])
    known = set(vars(args)) - {"name", "json", "script", "no_checks"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"sdnlab({topology.name!r}): unknown option(s) {', '.join(unknown)} "
                        f"(known: {', '.join(sorted(known))})")
    for key, value in options.items():
        setattr(args, key, value)
    return args


def prepare(topology, args, model) -> dict:
    """Everything checked before anything exists: root, the packages the lab drives, what the kernel offers.
    Returns the options of the lab's network (lab.net.LabNet)."""
    from lab.requirements import require_packages, require_root
    require_root()
    require_packages(topology.packages(model))
    return topology.net_options(args)


def claim(topology, options: dict, name: Optional[str] = None, progress: Callable[[str], None] = print) -> LabNet:
    """The lab's name taken (lab.registry), its run directory made: from here on there is something to tear down."""
    from lab.planes import get
    return LabNet(name=name, topology=topology.name, plane=get(topology.plane).name, progress=progress, **options)


def build(topology, net: LabNet, model, progress: Callable[[str], None] = print) -> None:
    """The plane realises the model; the daemons it started and its address book are recorded for cleanup
    and for other shells."""
    from lab.planes import get
    topology.build(net, model, progress=progress)
    net.record_daemons()
    net.record_addresses(get(topology.plane).address_book(model))


def start(topology, args, model, name: Optional[str] = None, progress: Callable[[str], None] = lambda m: None) -> LabNet:
    """A running lab, or nothing at all: a failure or a signal during the build tears it down again."""
    options = prepare(topology, args, model)
    net = claim(topology, options, name=name, progress=progress)
    try:
        build(topology, net, model, progress=progress)
    except BaseException as exc:
        if isinstance(exc, Interrupted):
            SIGS.taken()  # answered by this teardown: a re-send of the signal must not cut it in half
        net.stop()
        raise
    return net


def from_argv(topology, argv: List[str]):
    """(args, model) of a `lab run TOPOLOGY ...` line: parsed and validated, nothing created."""
    args = run_parser(topology).parse_args(argv)
    paths.check_name(args.name)
    return args, topology.model(args)
