"""The Mininet CLI, unchanged for a user, plus the lab's verbs (flows, pingmatrix, and the topology's own).

No mistake ends the lab: every failing line prints one `error: ...` line and the CLI carries on.
In a script (`--script FILE`, `source FILE`) the remaining lines still run, and run_cli() returns how
many lines failed: an unknown verb or node, a verb's error, a `py`/`px` exception, a Mininet command
that logged an error. A node command that merely exits non-zero (`pod1 false`, a ping that gets no
answer) is not a failure, as in Mininet: the CLI ran it, and its output says what happened.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import mininet.cli
from mininet.cli import CLI
from mininet.log import lg, output
from mininet.util import quietRun

from lab import control, paths
from lab.errors import LabError
from lab.observe.ping import ping_matrix

Verbs = Dict[str, Tuple[Callable[[str], None], str]]


def generic_verbs(net, endpoints: Callable[[], List[object]]) -> Verbs:
    """Verbs of every lab; `endpoints` gives the hosts the topology calls its endpoints (pods, containers)."""
    def do_pingmatrix(line: str) -> None:
        if line.strip():
            raise LabError("usage: pingmatrix (no arguments)")
        hosts = list(endpoints())
        if len(hosts) < 2:
            raise LabError("pingmatrix: this lab has fewer than two endpoints to ping between")
        pairs = [(a, b.name, b.IP()) for a in hosts for b in hosts if a is not b]
        results = {(r.src, r.dst): r.ok for r in ping_matrix(pairs)}
        width = max(len(h.name) for h in hosts)
        print(" " * (width + 1) + " ".join(h.name.rjust(width) for h in hosts))
        for a in hosts:
            row = ["-" if a is b else ("ok" if results[(a.name, b.name)] else "X") for b in hosts]
            print(a.name.rjust(width) + " " + " ".join(c.rjust(width) for c in row))

    from lab.front.capture import capture_verb
    from lab.front.diff import diff_verb
    from lab.front.draw import draw_verb
    from lab.front.faults import fault_verb
    return {"pingmatrix": (do_pingmatrix, "pingmatrix: every endpoint pings every other one, in parallel"),
            **fault_verb(net), **draw_verb(net), **capture_verb(net), **diff_verb(net)}


def split_commands(line: str, nodes: Iterable[str]) -> List[str]:
    """`node1 a; node1 b` -> ["node1 a", "node1 b"] when every `;`-separated part starts with a node name.

    Mininet replaces node names anywhere in a line with addresses, so the second `node1` of such a line
    would become an address in node1's shell. A line whose parts do not all start with a node name
    (`node1 cd /tmp; ls`) stays one shell command line. `;` inside quotes or after a backslash does not split.
    """
    names = set(nodes)
    parts, current, quote, escaped = [], [], None, False
    for ch in line:
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == ";":
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    parts = [p for p in parts if p]
    if len(parts) > 1 and all(p.split()[0] in names for p in parts):
        return parts
    return [line]


def one_line(message: str) -> str:
    """A multi-line message (a command's output inside a LabError) as one line."""
    return " | ".join(part.strip() for part in str(message).splitlines() if part.strip()) or "(no message)"


def bug_log_path() -> str:
    """Where tracebacks of unexpected errors go: beside the hosts' directories in the lab's run dir."""
    return os.path.join(os.path.dirname(paths.host_dir("cli")), "cli-errors.log")


class _MininetErrors(logging.Filter):
    """Mininet's own commands report mistakes with error(): mark the line failed, print it as `error:`."""

    def __init__(self, cli: "LabCLI"):
        super().__init__()
        self.cli = cli

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            self.cli.line_failed = True
            message = record.getMessage().strip().lstrip("* ")
            if not message.startswith("error:"):
                record.msg, record.args = f"error: {self.cli.where()}{one_line(message)}\n", ()
        return True


class LabCLI(CLI):
    """Mininet's CLI where every command is guarded: one `error:` line, and the lab stays up."""

    prompt = "sdnlab> "

    def __init__(self, mininet, script: Optional[str] = None, **kwargs):
        self.failures = 0  # script lines that failed
        self.line_failed = False
        self.script_line: Optional[int] = None  # the current line number while a script runs
        errors = _MininetErrors(self)
        lg.addFilter(errors)
        try:  # Mininet's CLI runs the whole session (script or interactive) inside __init__
            super().__init__(mininet, script=script, **kwargs)
        finally:
            lg.removeFilter(errors)

    # -- failure reporting

    def where(self) -> str:
        return f"line {self.script_line}: " if self.script_line else ""

    def fail(self, message: object) -> None:
        text = one_line(message)
        if text.startswith("error: "):  # a tool's own wording (oc's `error: ...`): one prefix is enough
            text = text[len("error: "):]
        print(f"error: {self.where()}{text}", flush=True)
        self.line_failed = True

    def report_bug(self, exc: Exception, line: str) -> None:
        """An exception nobody expected: one line for the user, the traceback in the run dir."""
        detail = ""
        try:
            path = bug_log_path()
            with paths.open_private(path, "a") as f:
                f.write(f"--- {line.strip()}\n{traceback.format_exc()}\n")
            detail = f" (traceback in {path})"
        except OSError:
            pass
        self.fail(f"{type(exc).__name__}: {exc}{detail}")

    # run without the lab's command lock: `sh` touches no node shell (`sh sleep 30` must not hold off other
    # shells' requests), `source` takes it for each of its lines
    UNLOCKED = ("sh", "source")

    def onecmd(self, line: str):
        verb = (line.split(None, 1) or [""])[0]
        if verb in self.UNLOCKED:
            return self._guarded(line)
        with control.COMMANDS:  # requests from other shells (lab.control) wait while this command runs
            return self._guarded(line)

    def _guarded(self, line: str):
        try:
            return super().onecmd(line)
        except LabError as exc:
            self.fail(exc)
        except Exception as exc:  # noqa: BLE001 (a bug in a command must not end the lab)
            self.report_bug(exc, line)
        return False

    def run_counted(self, line: str):
        """Run one line; count it as failed if it reported an error."""
        self.line_failed = False
        stop = self.onecmd(self.precmd(line))
        if self.line_failed:
            self.failures += 1
        self.line_failed = False
        return stop

    def run(self):
        """Mininet's interactive loop; after Ctrl-C it stops what the CLI's nodes still run, but never a
        command a request from another shell has under way (it holds the lab's command lock)."""
        while True:
            try:
                with control.COMMANDS:
                    for node in self.mn.values():
                        while node.waiting:
                            node.sendInt()
                            node.waitOutput()
                if self.isatty():
                    quietRun("stty echo sane intr ^C")
                self.cmdloop()
                return
            except KeyboardInterrupt:
                output("\nInterrupt\n")

    # -- Mininet's commands, guarded

    def do_source(self, line: str) -> None:
        """Read commands from a file; a failing line does not stop the others (`exit` does).
           Usage: source <file>"""
        args = line.split()
        if len(args) != 1:
            self.fail("usage: source <file>")
            return
        try:
            with open(args[0]) as f:
                lines = f.readlines()
        except (OSError, UnicodeDecodeError) as exc:
            self.fail(f"cannot read {args[0]}: {getattr(exc, 'strerror', None) or exc}")
            return
        outer = self.script_line
        try:
            for number, text in enumerate(lines, 1):
                self.script_line = number
                if self.run_counted(text):
                    break
        finally:
            self.script_line = outer

    def default(self, line: str) -> None:
        """`<node> <command>`: node names after the first word become addresses, as in Mininet."""
        for part in split_commands(line, self.mn.nameToNode):
            self.node_command(part)

    def node_command(self, line: str) -> None:
        # the first word whole: cmd's parseline stops at '-', '.' and '/', which pod names contain (web-1, ns/name)
        words = line.strip().split(None, 1)
        first, args = (words + ["", ""])[:2] if words else ("", "")
        if not first or first not in self.mn.nameToNode:
            word = (line.split() or [""])[0]
            self.fail(f"unknown command or node {word!r} (`help` lists the commands, `nodes` the nodes)")
            return
        if not args:
            self.fail(f"give {first} a command, e.g. `{first} ip addr`")
            return
        node = self.mn.nameToNode[first]
        node.sendCmd(" ".join(self.address_of(word) for word in args.split(" ")))
        self.waitForNode(node)

    def address_of(self, word: str) -> str:
        """A node name becomes its address; a node without one (the underlay switch) keeps its name."""
        node = self.mn.nameToNode.get(word)
        intf = node.defaultIntf() if node is not None and node.intfs else None
        return (intf.updateIP() if intf is not None else None) or word

    def do_py(self, line: str) -> None:
        """Evaluate a Python expression.
           Node names may be used, e.g.: py pod1.cmd('ls')"""
        try:
            result = eval(line, vars(mininet.cli), self.getLocals())  # as Mininet's own py
        except Exception as exc:  # noqa: BLE001 (the user's expression)
            self.fail(f"py: {type(exc).__name__}: {exc}")
            return
        if result:
            output((result if isinstance(result, str) else repr(result)) + "\n")

    def do_px(self, line: str) -> None:
        """Execute a Python statement.
           Node names may be used, e.g.: px print(pod1.IP())"""
        try:
            exec(line, vars(mininet.cli), self.getLocals())  # noqa: S102 (the user's statement)
        except Exception as exc:  # noqa: BLE001
            self.fail(f"px: {type(exc).__name__}: {exc}")


def make_cli(verbs: Verbs) -> type:
    """A LabCLI subclass whose do_<verb> methods call the given functions (errors are caught by onecmd)."""
    methods = {}
    for name, (fn, helptext) in verbs.items():
        def method(self, line, fn=fn):
            fn(line)
        method.__doc__ = helptext
        methods[f"do_{name}"] = method
    return type("LabVerbsCLI", (LabCLI,), methods)


def run_cli(net, verbs: Verbs, script: Optional[str] = None,
            endpoints: Optional[Callable[[], List[object]]] = None) -> int:
    """The CLI on a running lab: interactive (returns 0), or a script (returns its number of failed lines)."""
    # Mininet prints node output through its logger (stderr); keep the transcript in one stream
    for handler in lg.handlers:
        handler.setStream(sys.stdout)
    from lab.front.link import link_verb
    cli = make_cli({**generic_verbs(net, endpoints or (lambda: net.hosts)), **verbs, **link_verb(net, verbs)})(net, script=script)
    return cli.failures if script else 0
