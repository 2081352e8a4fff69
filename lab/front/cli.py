"""The `lab` command: run a topology, list topologies and running labs, clean up labs."""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import time
from typing import List, Optional

import topologies
from lab import paths
from lab.errors import BadInput, LabError
from lab.signals import SIGS, Interrupted

USAGE = "lab {run [TOPOLOGY] [options] | list [--running] | ps | clean [NAME] | oc ... | fault ... | link ... | draw ... | diff ... | capture ... | workshop ...}"


def files_from_here(argv: List[str]) -> List[str]:
    """`-f FILE` read by the lab's process, whose working directory is not ours: the path made absolute."""
    out, after_f = [], False
    for word in argv:
        if after_f:
            word = os.path.abspath(word)
        elif word.startswith(("-f=", "--filename=")):
            flag, path = word.split("=", 1)
            word = f"{flag}={os.path.abspath(path)}"
        after_f = word in ("-f", "--filename")
        out.append(word)
    return out


def cmd_oc(argv: List[str]) -> int:
    """`lab oc [--name LAB] ARGS...`: one `oc` line run by the running lab, as typed in its CLI."""
    import shlex
    name = paths.lab_name()
    if argv and argv[0] == "--name":
        if len(argv) < 2:
            raise BadInput("--name needs a lab name (usage: lab oc [--name LAB] ARGS...)")
        name, argv = argv[1], argv[2:]
    elif argv and argv[0].startswith("--name="):
        name, argv = argv[0][len("--name="):], argv[1:]
    paths.check_name(name)
    if not argv:
        raise BadInput("usage: lab oc [--name LAB] ARGS... (e.g. `lab oc get pods -o wide`)")
    from lab import control
    out = control.request(name, "oc", shlex.join(files_from_here(argv)))
    if out:
        print(out.rstrip("\n"))
    return 0


def cmd_list(argv: List[str]) -> int:
    if argv == ["--running"]:
        return cmd_ps([])
    if argv:
        raise BadInput(f"`lab list` takes only --running (got {' '.join(argv)})")
    for name, description in topologies.catalogue().items():
        print(f"{name:<12} {description}")
    return 0


def cmd_ps(argv: List[str]) -> int:
    if argv:
        raise BadInput(f"`lab ps` takes no arguments (got {' '.join(argv)})")
    from lab import registry
    from lab.table import format_table
    rows = []
    for lab in registry.labs():
        age = f"{int(time.time() - lab['started'])}s" if lab["started"] else "?"
        rows.append([lab["name"], lab["topology"], lab["state"], lab["pid"] or "-", lab["hosts"], age])
    if rows:
        print(format_table(["NAME", "TOPOLOGY", "STATE", "PID", "HOSTS", "AGE"], rows))
    else:
        print("no labs")
    return 0


def cmd_clean(argv: List[str]) -> int:
    if len(argv) > 1:
        raise BadInput(f"`lab clean` takes at most one lab name (got {' '.join(argv)})")
    from lab import cleanup, registry
    from lab.requirements import require_root
    if argv:
        paths.check_name(argv[0])
    require_root()
    names = argv or cleanup.list_labs()
    for name in names:
        done = registry.stop(name)
        print(f"*** Removed lab {name!r}: {len(done['namespaces'])} namespaces, stopped {done['processes']} processes")
    if not names:
        print("*** Removed nothing: no labs")
    return 0


def cmd_run(argv: List[str]) -> int:
    from lab.front.runner import run_lab
    return run_lab(argv)


def cmd_fault(argv: List[str]) -> int:
    from lab.front import faults
    return faults.main(argv)


def cmd_workshop(argv: List[str]) -> int:
    from lab.workshop import command
    return command.main(argv)


def cmd_capture(argv: List[str]) -> int:
    from lab.front import capture
    return capture.main(argv)


def cmd_diff(argv: List[str]) -> int:
    from lab.front import diff
    return diff.main(argv)


def cmd_draw(argv: List[str]) -> int:
    from lab.front import draw
    return draw.main(argv)


def cmd_link(argv: List[str]) -> int:
    from lab.front import link
    return link.main(argv)


COMMANDS = {"run": cmd_run, "list": cmd_list, "ps": cmd_ps, "clean": cmd_clean, "fault": cmd_fault, "draw": cmd_draw,
            "workshop": cmd_workshop, "oc": cmd_oc, "link": cmd_link, "capture": cmd_capture,
            "diff": cmd_diff}


def main(argv: Optional[List[str]] = None) -> int:
    SIGS.install()  # from here on a signal is an orderly exit
    try:  # `kill -USR1 PID` prints where a stuck lab's threads are
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    except (OSError, ValueError):  # stderr is not a file (the lab called from a test's captured output)
        pass
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(f"usage: {USAGE}\n  run    build a lab, print its inventory, run checks, open the CLI\n"
              f"  list   the topologies (--running: the labs on this machine, as `lab ps`)\n"
              f"  ps     the labs on this machine\n"
              f"  clean  stop and remove one lab, or every lab of this project\n"
              f"  oc     [--name LAB] ARGS...: an `oc` line run by the running lab, as typed in its CLI\n"
              f"  fault  list | inject [--name LAB] FAULT [ARGS] | repair [--name LAB] FAULT: break/fix a running lab\n"
              f"  link   [--name LAB] [HOST:IF loss PCT|rate RATE|delay MS|... | HOST:IF down|up|clear]: impair a link, list\n"
              f"  diff   [--name LAB] [HOST...]: what the kernels and switches hold that the lab did not render (+/-)\n"
              f"  workshop  list | start EX | check [--all] | answer Q VALUE | solve EX | verify [EX...]: exercises, auto-graded\n"
              f"  capture  [--name LAB] HOST:IF... [-w FILE.pcapng|-] [--filter BPF] [--for S|--count N]: one pcapng\n"
              f"  draw   TOPOLOGY --what topology|pipeline -o FILE.svg|.png (no root), or --name LAB topology|pipeline NODE|path SRC DST")
        return 0 if argv else 2
    command = COMMANDS.get(argv[0])
    try:
        if command is None:
            raise BadInput(f"unknown command {argv[0]!r} (usage: {USAGE})")
        return command(argv[1:])
    except LabError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Interrupted as exc:
        SIGS.taken()
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
