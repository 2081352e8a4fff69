"""What every `lab list` entry provides to the harness. A topology declares its options and which plane
builds it (its module sits in topologies/, its class with its plane); it keeps no state of its own: what an
option decides is in the model, so one topology object serves many labs in one process."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Tuple

if TYPE_CHECKING:
    from lab.host import LabHost


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str = ""


def reachability_checks(groups: Dict[str, List[Tuple[LabHost, str, str]]]) -> List[CheckResult]:
    """One check per group of (source host, destination name, destination IP); all pinged in parallel."""
    from lab.observe.ping import ping_matrix
    results = {(r.src, r.dst): r for r in ping_matrix([p for g in groups.values() for p in g], count=1, timeout=2)}
    checks = []
    for label, group in groups.items():
        failed = [f"{src.name}->{dst}" for src, dst, _ip in group if not results[(src.name, dst)].ok]
        detail = f"{len(group) - len(failed)}/{len(group)} reachable" + (f"; failed: {' '.join(failed)}" if failed else "")
        checks.append(CheckResult(label, not failed, detail))
    return checks


class Topology:
    """Subclasses: model() is pure and validates (BadInput before anything exists); build() realises."""

    name = ""
    description = ""
    plane = ""  # the data plane that builds it: its name in the registry (lab.planes)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--nodes", type=int, default=2, help="cluster nodes (default 2)")
        parser.add_argument("--pods-per-node", type=int, default=2, help="pods on each node (default 2)")

    def model(self, args: argparse.Namespace):
        raise NotImplementedError

    def packages(self, model) -> Dict[str, str]:
        """command -> Debian package the lab needs, beyond the core's (lab.requirements.CORE)."""
        return {}

    def net_options(self, args: argparse.Namespace) -> Dict[str, object]:
        """What the lab's network needs from this machine (the Open vSwitch datapath its kernel offers),
        checked after the root check and before anything exists; passed to lab.net.LabNet."""
        return {}

    def build(self, net, model, progress: Callable[[str], None]) -> None:
        raise NotImplementedError

    def inventory(self, net, model) -> Dict:
        """The JSON inventory (`--json`)."""
        raise NotImplementedError

    def inventory_text(self, net, model) -> str:
        """The inventory as a person reads it."""
        raise NotImplementedError

    def checks(self, net, model) -> List[CheckResult]:
        return []

    def endpoints(self, net, model) -> List[object]:
        """The hosts `pingmatrix` pings between (a data plane's pods, containers...)."""
        return list(net.hosts)

    def cli_verbs(self, net, model) -> Dict[str, Tuple[Callable[[str], None], str]]:
        """Extra Mininet CLI verbs: name -> (function taking the argument line, one-line help)."""
        return {}

    def control_handlers(self, net, model) -> Dict[str, Callable[[str], str]]:
        """What other shells may ask the running lab (lab.control): verb -> function(line) -> output text;
        a LabError is the refusal. Runs in the lab's process, serialised with the CLI's commands."""
        return {}

    def custom(self, path: str) -> "Topology":
        """`lab run ./my_cluster.py`: this topology with the objects a user's module makes."""
        from lab.errors import BadInput
        raise BadInput(f"{path}: the {self.name} topology takes no cluster module")
