"""The Mininet CLI, unchanged, plus the lab's verbs (flows, pingmatrix, and the topology's own)."""

from __future__ import annotations

import sys
from typing import Callable, Dict, Tuple

from mininet.cli import CLI
from mininet.log import lg

from lab.errors import LabError
from lab.observe.flows import dump, format_tables
from lab.observe.ping import ping_matrix


def generic_verbs(net) -> Dict[str, Tuple[Callable[[str], None], str]]:
    def do_flows(line: str) -> None:
        words = line.split()
        if not words or words[0] not in net.nameToNode or len(words) > 2:
            print("usage: flows <node> [table]")
            return
        table = int(words[1]) if len(words) == 2 else None
        print(format_tables(dump(net[words[0]], table)))

    def do_pingmatrix(line: str) -> None:
        hosts = [h for h in net.hosts if h.role == "pod"]
        pairs = [(a, b.name, b.IP()) for a in hosts for b in hosts if a is not b]
        results = {(r.src, r.dst): r.ok for r in ping_matrix(pairs)}
        width = max(len(h.name) for h in hosts)
        print(" " * (width + 1) + " ".join(h.name.rjust(width) for h in hosts))
        for a in hosts:
            row = ["-" if a is b else ("ok" if results[(a.name, b.name)] else "X") for b in hosts]
            print(a.name.rjust(width) + " " + " ".join(c.rjust(width) for c in row))

    return {
        "flows": (do_flows, "flows <node> [table]: br0 flows per table, without cookies, durations and counters"),
        "pingmatrix": (do_pingmatrix, "pingmatrix: every pod pings every other pod, in parallel"),
    }


def make_cli(verbs: Dict[str, Tuple[Callable[[str], None], str]]):
    """A CLI class whose do_<verb> methods wrap the given functions; errors print one line."""
    methods = {"prompt": "sdnlab> "}
    for name, (fn, helptext) in verbs.items():
        def method(self, line, fn=fn):
            try:
                fn(line)
            except LabError as exc:
                print(f"error: {exc}")
        method.__doc__ = helptext
        methods[f"do_{name}"] = method
    return type("LabCLI", (CLI,), methods)


def run_cli(net, verbs, script: str = None) -> None:
    # Mininet prints node output through its logger (stderr); keep the transcript in one stream
    for handler in lg.handlers:
        handler.setStream(sys.stdout)
    cls = make_cli({**generic_verbs(net), **verbs})
    if script:
        cls(net, script=script)
    else:
        cls(net)
