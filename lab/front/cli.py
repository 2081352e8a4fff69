"""The `lab` command: run a topology, list topologies and running labs, clean up labs."""

from __future__ import annotations

import os
import signal
import threading
import time


class Interrupted(BaseException):
    """A signal asked the lab to stop: tear down, then exit 128 + the signal's number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


class _Signals:
    """SIGINT/SIGTERM/SIGHUP. Until `lab run` starts to claim its lab nothing exists, so the process leaves
    at once. From then on the first signal raises Interrupted wherever the main thread is, so the lab is torn down by
    the `finally` that owns it; a second one during teardown cuts it short (the next `lab run` or
    `lab clean` removes the rest).

    An exception raised by a signal handler is lost when the handler happens to run inside a `__del__`
    the garbage collector called ("Exception ignored in ..."): seen in CI, the lab then slept on. So a
    watcher thread sends the signal again to the main thread until the main thread has taken it."""

    RETRY_S = 0.5
    NUDGE_S = (0.1, 0.4)  # after a signal: when the main thread gets its wake-up signals
    NUDGE = signal.SIGUSR2  # its handler does nothing: it only interrupts what the main thread blocks in

    def __init__(self):
        self.name = ""
        self.started = self.seen = self.tearing_down = False
        self._watching = False
        self._wakeup = None
        for s in SIGNALS:
            signal.signal(s, self._handle)

    def watch_wakeups(self) -> None:
        """A signal can set Python's "handler pending" flag without interrupting the main thread: when it
        arrives just before the main thread blocks in a C call (readline's select() right after it printed
        the prompt: seen in CI, SIGTERM then waited for the next keystroke), or when the kernel hands it to
        another thread. Python writes each signal's number to the wakeup fd; a watcher thread reads it and
        then sends the main thread SIGUSR2, whose handler does nothing: the blocking call returns EINTR and
        Python runs the pending handlers. The nudge never runs a handler of ours a second time (a second
        SIGTERM would cut the teardown short), so it needs no guess whether the first one ran. Called from
        the main thread (set_wakeup_fd requires it)."""
        if self._wakeup is not None:
            return
        signal.signal(self.NUDGE, lambda _s, _f: None)
        r, w = os.pipe()
        os.set_blocking(w, False)
        signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        self._wakeup = (r, w)
        threading.Thread(target=self._watch_wakeups, args=(r,), daemon=True, name="lab-signal-wakeups").start()

    def unwatch_wakeups(self) -> None:
        if self._wakeup is not None:
            signal.set_wakeup_fd(-1)
            os.close(self._wakeup[1])
            self._wakeup = None

    def _watch_wakeups(self, r: int) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # the kernel then prefers the main thread
        while True:
            try:
                data = os.read(r, 256)
            except OSError:
                data = b""
            if not data:  # the write end was closed (unwatch_wakeups)
                os.close(r)
                return
            if not any(s in SIGNALS for s in data):  # our own nudges' bytes, or another handler's
                continue
            for delay in self.NUDGE_S:
                time.sleep(delay)
                signal.pthread_kill(threading.main_thread().ident, self.NUDGE)

    def _handle(self, signum, _frame):
        if not self.started:  # no lab exists yet: leaving at once is the orderly exit
            os._exit(128 + signum)
        if self.tearing_down:
            os.write(2, f"\nlab: teardown cut short by {signal.Signals(signum).name}; "
                        f"`lab clean {self.name or '<name>'}` removes the rest\n".encode())
            os._exit(128 + signum)
        if not self._watching:
            self._watching = True
            threading.Thread(target=self._resend, args=(signum,), daemon=True).start()
        raise Interrupted(signum)

    def _resend(self, signum: int) -> None:
        while True:
            time.sleep(self.RETRY_S)
            if self.seen or self.tearing_down:
                return
            signal.pthread_kill(threading.main_thread().ident, signum)

    def interactive(self, on: bool) -> None:
        """At the interactive prompt Ctrl-C interrupts the running command, as in Mininet."""
        signal.signal(signal.SIGINT, signal.default_int_handler if on else self._handle)


SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SIGS = _Signals()  # before the imports below: from here on a signal is an orderly exit

import argparse  # noqa: E402
import faulthandler  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from typing import List, Optional  # noqa: E402

import topologies  # noqa: E402
from lab import paths  # noqa: E402
from lab.errors import BadInput, LabError  # noqa: E402

USAGE = "lab {run [TOPOLOGY] [options] | list [--running] | ps | clean [NAME] | oc ... | fault ... | draw ... | workshop ...}"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit code 2
        raise BadInput(f"{message} (see `{self.prog} --help`)")


def run_parser(topology) -> argparse.ArgumentParser:
    p = _Parser(prog=f"lab run {topology.name}", add_help=True, description=topology.description)
    topology.add_arguments(p)
    p.add_argument("--name", default=paths.lab_name(),
                   help=f"the lab's name: several labs of different names run side by side (default {paths.lab_name()})")
    if topology.uses_ovs:
        p.add_argument("--datapath", choices=["auto", "system", "netdev"], default="auto",
                       help="Open vSwitch datapath: kernel (system), userspace (netdev) or auto (default)")
    p.add_argument("--json", metavar="FILE", help="write the inventory here before the CLI or script starts")
    p.add_argument("--script", metavar="FILE", help="run Mininet CLI commands from FILE, then tear down")
    p.add_argument("--no-checks", action="store_true", help="skip the built-in connectivity checks")
    return p


def check_files(args) -> None:
    """--json and --script are checked before anything exists, so a typo costs no lab."""
    from lab.validate import check_readable_file, check_writable_file
    if args.json:
        check_writable_file(args.json, "--json")
    if args.script:
        check_readable_file(args.script, "--script")


def cmd_run(argv: List[str], hooks=None) -> int:
    """hooks (a workshop exercise): after_build(net, topology, model) once the lab is up, verbs(net) for the CLI."""
    name = topologies.DEFAULT
    if argv and not argv[0].startswith("-"):
        name, argv = argv[0], argv[1:]
    topology = topologies.load(name)
    args = run_parser(topology).parse_args(argv)
    paths.check_name(args.name)
    model = topology.model(args)  # validates; raises BadInput before anything exists
    check_files(args)

    from lab.requirements import require_packages, require_root
    require_root()
    require_packages(topology.packages)
    datapath = None
    if topology.uses_ovs:
        from lab.daemons.ovs import choose_datapath
        datapath = choose_datapath(args.datapath)

    from lab import cleanup, registry
    from lab.front.mncli import run_cli
    from lab.net import LabNet
    sigs = SIGS
    sigs.watch_wakeups()
    # until here nothing exists, so a signal just ends the process (also in the middle of an import,
    # where an exception would leave some library's half-built objects behind); from here it tears down
    sigs.name, sigs.seen, sigs.tearing_down, sigs.started = args.name, False, False, True
    start = time.monotonic()
    net = server = None
    failed_lines = 0
    try:
        net = LabNet(datapath, name=args.name, topology=topology.name, progress=lambda m: print(m, flush=True))
        topology.build(net, model, progress=lambda msg: print(msg, flush=True))
        net.record_daemons()
        print(f"*** Lab {net.name!r} up in {time.monotonic() - start:.2f} s\n", flush=True)
        print(topology.inventory_text(net, model), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(topology.inventory(net, model), f, indent=2)
                f.write("\n")
        if hooks is not None:
            hooks.after_build(net, topology, model)
        verbs = {**topology.cli_verbs(net, model), **(hooks.verbs(net) if hooks is not None else {})}
        server = serve_requests(net, topology, model)
        ok = True
        if not args.no_checks:
            print("\n*** Checks", flush=True)
            for check in topology.checks(net, model):
                print(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}", flush=True)
                ok = ok and check.ok
        if args.script:
            failed_lines = run_cli(net, verbs, script=args.script,
                                   endpoints=lambda: topology.endpoints(net, model))
            if failed_lines:
                print(f"*** {failed_lines} line(s) of {args.script} failed", flush=True)
        elif sys.stdin.isatty():
            sigs.interactive(True)
            try:
                run_cli(net, verbs, endpoints=lambda: topology.endpoints(net, model))
            finally:
                sigs.interactive(False)
        return 0 if ok and not failed_lines else 1
    except Interrupted as exc:
        sigs.seen = True
        print(f"\n*** {exc}: tearing down", file=sys.stderr, flush=True)
        return exc.exit_code
    finally:
        sigs.seen = sigs.tearing_down = True
        if net is not None or registry.holds(args.name):
            t = time.monotonic()
            print("*** Tearing down", flush=True)
            if server is not None:
                server.stop()
            if net is not None:
                net.stop()
            else:  # interrupted while the lab was being claimed
                cleanup.clean_lab(args.name)
                registry.release(args.name)
            print(f"*** Done in {time.monotonic() - t:.2f} s", flush=True)


def serve_requests(net, topology, model):
    """The lab's control socket (lab.control), so other shells reach what this process holds (`lab oc`)."""
    from lab import control
    try:
        return control.Server(net.name, topology.control_handlers(net, model), topology=topology.name).start()
    except LabError as exc:  # the lab works without it; only other shells' requests are refused
        print(f"*** {exc}: `lab oc` from other shells will not reach this lab", flush=True)
        return None


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


def cmd_fault(argv: List[str]) -> int:
    from lab.front import faults
    return faults.main(argv)


def cmd_workshop(argv: List[str]) -> int:
    from lab.workshop import command
    return command.main(argv)


def cmd_draw(argv: List[str]) -> int:
    from lab.front import draw
    return draw.main(argv)


COMMANDS = {"run": cmd_run, "list": cmd_list, "ps": cmd_ps, "clean": cmd_clean, "fault": cmd_fault, "draw": cmd_draw,
            "workshop": cmd_workshop, "oc": cmd_oc}


def main(argv: Optional[List[str]] = None) -> int:
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
              f"  workshop  list | start EX | check [--all] | answer Q VALUE | solve EX | verify [EX...]: exercises, auto-graded\n"
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
        SIGS.seen = True
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
