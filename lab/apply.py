"""The executor of rendered state: one batched script per host, all hosts at once.

`state_script` brings a host to a whole NodeState with idempotent commands (a second run changes
nothing); `diff_script` applies only a StateDiff (empty diff, empty script). `converge` does either
for many hosts in parallel and remembers what each host holds, so the next call applies the difference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from lab.shell import run_scripts
from lab.state import (
    Flow,
    FlowLine,
    Ip,
    Item,
    Link,
    Netns,
    NodeState,
    OvsPort,
    StateDiff,
    Vsctl,
    diff,
    heredoc,
    ordered,
)

if TYPE_CHECKING:
    from lab.host import LabHost

OFCTL = "ovs-ofctl -O OpenFlow13 --bundle"


def _group(cmd: str) -> Optional[tuple]:
    if isinstance(cmd, Vsctl):
        return ("vsctl",)
    if isinstance(cmd, FlowLine):
        return ("flows", cmd.bridge)
    if isinstance(cmd, Ip):
        return ("ip",)
    return None


def _joined(group: tuple, cmds: List[str]) -> str:
    if group[0] == "vsctl":
        return "ovs-vsctl " + " -- ".join(cmds)
    if group[0] == "flows":
        return heredoc(f"{OFCTL} add-flows {group[1]} /dev/stdin", "\n".join(cmds))
    if len(cmds) == 1:
        return cmds[0]
    # one iproute2 process for the lot: it stops at the first failure and exits non-zero
    return heredoc("ip -batch /dev/stdin", "\n".join(c[len("ip "):] for c in cmds))


def _batched(commands: Iterable[str]) -> List[str]:
    """Neighbouring commands of one tool become one call: an ovs-vsctl transaction, a flow bundle per
    bridge, an `ip -batch`. Fewer processes keep bring-up fast."""
    out: List[str] = []
    run: List[str] = []
    group: Optional[tuple] = None
    for cmd in list(commands) + [""]:
        g = _group(cmd)
        if run and (g is None or g != group):
            assert group is not None  # `run` holds commands only of a group (its g was not None)
            out.append(_joined(group, run))
            run = []
        if g is None:
            if cmd:
                out.append(cmd)
        else:
            run.append(cmd)
        group = g
    return out


def state_script(state: NodeState, netns: Optional[Netns] = None) -> str:
    """Everything of `state`, idempotently; each bridge's flows become exactly the rendered ones."""
    commands: List[str] = []
    done_bridges = set()
    for item in ordered(state.items):
        if isinstance(item, Flow):
            if item.bridge not in done_bridges:  # replace-flows: adds, changes and removes in one bundle
                done_bridges.add(item.bridge)
                commands.append(heredoc(f"{OFCTL} replace-flows {item.bridge} /dev/stdin",
                                        "\n".join(state.flows(item.bridge))))
            continue
        commands += item.commands(netns)
    return "".join(c + "\n" for c in _batched(commands))


def _replace_commands(old: Item, new: Item, netns: Optional[Netns]) -> List[str]:
    """`new` in place of `old` (one key: the same kind of item). The kinds with replace_commands say how;
    any other kind's commands replace (they look before they act)."""
    if isinstance(new, Link) and isinstance(old, Link):
        return new.replace_commands(old, netns)
    if isinstance(new, OvsPort) and isinstance(old, OvsPort):
        return new.replace_commands(old, netns)
    return new.commands(netns)


def diff_script(change: StateDiff, netns: Optional[Netns] = None) -> str:
    """Removals in reverse bring-up order, then replacements and additions in bring-up order."""
    commands: List[str] = []
    for item in ordered(change.removed, reverse=True):
        commands += item.remove_commands()
    old_of = {new.key: old for old, new in change.replaced}
    for item in ordered([new for _old, new in change.replaced] + list(change.added)):
        old = old_of.get(item.key)
        if old is not None:
            commands += _replace_commands(old, item, netns)
        else:  # known to be missing: an item may skip looking for itself first
            commands += item.add_commands(netns) if hasattr(item, "add_commands") else item.commands(netns)
    if any(isinstance(i, Flow) for i in list(change.removed) + list(change.added) + [n for _o, n in change.replaced]):
        # the datapath's cached flows follow a flow-table change only when the revalidators have been
        # round: until then a packet can still take the old path (a just-isolated project still answers)
        commands.append("ovs-appctl revalidator/wait")
    return "".join(c + "\n" for c in _batched(commands))


def script(change: Union[NodeState, StateDiff], netns: Optional[Netns] = None) -> str:
    return state_script(change, netns) if isinstance(change, NodeState) else diff_script(change, netns)


def applied(host) -> NodeState:
    """What the executor last brought this host to (empty before the first apply)."""
    return getattr(host, "applied_state", None) or NodeState()


def _netns(net) -> Netns:
    return {h.name: str(h.pid) for h in list(net.hosts) + list(net.switches)}


def _run(jobs: List[Tuple[LabHost, str]], also: Sequence[Tuple[LabHost, str, str]] = ()) -> None:
    """One script per host (a host's shell runs one at a time); `also` scripts run after the host's state."""
    scripts: Dict[LabHost, List[str]] = {}  # host -> [step, script]
    for host, text in jobs:
        if text:  # nothing to do: no shell is even woken
            host.apply_count = getattr(host, "apply_count", 0) + 1
            scripts[host] = [f"apply-{host.apply_count}", text]
    for host, step, text in also:
        if host in scripts:
            scripts[host][1] += text
        else:
            scripts[host] = [step, text]
    run_scripts([(host, step, text) for host, (step, text) in scripts.items()])


def converge(net, targets: Iterable[Tuple[LabHost, NodeState]],
             also: Sequence[Tuple[LabHost, str, str]] = ()) -> Dict[str, StateDiff]:
    """Bring each host to its new state: the whole state the first time, later only the difference
    from what it holds. Returns each host's difference (empty where nothing changed).
    also: (host, step, script) of the same bring-up phase that are not state (start a daemon, a mount)."""
    targets = list(targets)
    netns = _netns(net)
    changes: Dict[str, StateDiff] = {}
    jobs = []
    for host, new in targets:
        old = getattr(host, "applied_state", None)
        change = diff(old or NodeState(), new)
        changes[host.name] = change
        jobs.append((host, state_script(new, netns) if old is None else diff_script(change, netns)))
    _run(jobs, also)
    for host, new in targets:
        host.applied_state = new
        host.last_change = changes[host.name]
    return changes


def restore(net, targets: Iterable[Tuple[LabHost, NodeState, NodeState]]) -> None:
    """After a converge that failed part-way: bring each (host, state, attempted) back to `state` from wherever
    it stopped on its way to `attempted`. What only `attempted` holds is removed, each command on its own and
    allowed to find nothing gone already; then the whole `state` runs again (idempotent, flows and iptables
    exact), which also puts back what the attempt removed or changed."""
    targets = list(targets)
    netns = _netns(net)
    jobs = []
    for host, state, attempted in targets:
        extra = [i for i in ordered(diff(state, attempted).added, reverse=True) if not isinstance(i, Flow)]
        undo = [f"{line} >/dev/null 2>&1 || true" for item in extra for cmd in item.remove_commands()
                for line in _batched([cmd])]
        jobs.append((host, "".join(c + "\n" for c in undo) + state_script(state, netns)))
    _run(jobs)
    for host, state, _attempted in targets:
        host.applied_state = state


def reapply(net, targets: Iterable[Tuple[LabHost, NodeState]]) -> None:
    """Run the whole state again, as a first bring-up would (idempotent: nothing may change)."""
    targets = list(targets)
    netns = _netns(net)
    _run([(host, state_script(state, netns)) for host, state in targets])
    for host, state in targets:
        host.applied_state = state
