"""What every `lab list` entry provides to the harness. A topology declares its options and which plane
builds it (its module sits in topologies/, its class with its plane); it keeps no state of its own: what an
option decides is in the model, so one topology object serves many labs in one process."""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Tuple

if TYPE_CHECKING:
    from lab.host import LabHost


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str = ""


# past this many pairs a group is sampled: all pairs grow with the square of the pods (300 pods: 89,700)
CHECK_PAIRS = 400


def sample_pairs(group: List[Tuple[LabHost, str, str]], limit: int = CHECK_PAIRS) -> List[Tuple[LabHost, str, str]]:
    """Every pair when there are at most `limit`; else every source and every destination at least once
    (rotating, so sources pick different destinations), filled to `limit` with a fixed-seed random choice."""
    if len(group) <= limit:
        return list(group)
    by_src: Dict[str, List[int]] = {}
    for i, (src, _dst, _ip) in enumerate(group):
        by_src.setdefault(src.name, []).append(i)
    chosen = {idxs[k % len(idxs)] for k, idxs in enumerate(by_src.values())}
    seen_dst = {group[i][1] for i in chosen}
    for i, (_src, dst, _ip) in enumerate(group):
        if dst not in seen_dst:
            chosen.add(i)
            seen_dst.add(dst)
    rest = [i for i in range(len(group)) if i not in chosen]
    chosen.update(random.Random(len(group)).sample(rest, max(0, min(len(rest), limit - len(chosen)))))
    return [group[i] for i in sorted(chosen)]


def reachability_checks(groups: Dict[str, List[Tuple[LabHost, str, str]]],
                        limit: int = CHECK_PAIRS) -> List[CheckResult]:
    """One check per group of (source host, destination name, destination IP); all pinged in parallel.
    A group of more than `limit` pairs is sampled (sample_pairs), and its detail says so."""
    from lab.observe.ping import ping_matrix
    sampled = {label: sample_pairs(group, limit) for label, group in groups.items()}
    results = {(r.src, r.dst): r
               for r in ping_matrix([p for g in sampled.values() for p in g], count=1, timeout=2)}
    checks = []
    for label, group in sampled.items():
        failed = [f"{src.name}->{dst}" for src, dst, _ip in group if not results[(src.name, dst)].ok]
        of_all = len(groups[label])
        detail = (f"{len(group) - len(failed)}/{len(group)} reachable" if len(group) == of_all else
                  f"{len(group) - len(failed)}/{len(group)} sampled pairs reachable (of {of_all}; every source "
                  f"and destination at least once)")
        checks.append(CheckResult(label, not failed, detail + (f"; failed: {' '.join(failed)}" if failed else "")))
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
