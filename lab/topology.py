"""What every lab topology provides to the harness; data planes implement it in topologies/."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str = ""


def reachability_checks(groups: Dict[str, List[Tuple[object, str, str]]]) -> List[CheckResult]:
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
    uses_ovs = False  # offers --datapath and needs Open vSwitch
    packages: Dict[str, str] = {}  # command -> Debian package, beyond the core's (lab.requirements.CORE)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--nodes", type=int, default=2, help="cluster nodes (default 2)")
        parser.add_argument("--pods-per-node", type=int, default=2, help="pods on each node (default 2)")

    def model(self, args: argparse.Namespace):
        raise NotImplementedError

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
