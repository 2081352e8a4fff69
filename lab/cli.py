"""The `lab` command: run a topology, list topologies, clean up after any lab."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import List, Optional

import topologies
from lab.errors import BadInput, LabError

USAGE = "lab {run [TOPOLOGY] [options] | list | clean}"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit code 2
        raise BadInput(f"{message} (see `{self.prog} --help`)")


def run_parser(topology) -> argparse.ArgumentParser:
    p = _Parser(prog=f"lab run {topology.name}", add_help=True,
                description=topology.description)
    topology.add_arguments(p)
    p.add_argument("--datapath", choices=["auto", "system", "netdev"], default="auto",
                   help="Open vSwitch datapath: kernel (system), userspace (netdev) or auto (default)")
    p.add_argument("--json", metavar="FILE", help="write the inventory here before the CLI or script starts")
    p.add_argument("--script", metavar="FILE", help="run Mininet CLI commands from FILE, then tear down")
    p.add_argument("--no-checks", action="store_true", help="skip the built-in connectivity checks")
    return p


def choose_datapath(requested: str) -> str:
    from lab.ovs import detect_datapath
    found = detect_datapath()
    if requested == "auto":
        return found
    if requested == "system" and found != "system":
        raise LabError("--datapath system needs the openvswitch kernel module, which this kernel does not have; "
                       "use --datapath netdev or auto")
    return requested


def cmd_run(argv: List[str]) -> int:
    name = topologies.DEFAULT
    if argv and not argv[0].startswith("-"):
        name, argv = argv[0], argv[1:]
    topology = topologies.load(name)
    args = run_parser(topology).parse_args(argv)
    model = topology.model(args)  # validates; raises BadInput before anything exists

    from lab.requirements import require_packages, require_root
    require_root()
    require_packages()
    datapath = choose_datapath(args.datapath)

    from lab.net import LabNet
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    start = time.monotonic()
    net = LabNet(datapath)
    try:
        topology.build(net, model, progress=lambda msg: print(msg, flush=True))
        print(f"*** Lab up in {time.monotonic() - start:.2f} s\n", flush=True)
        print(topology.inventory_text(net, model), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(topology.inventory(net, model), f, indent=2)
                f.write("\n")
        ok = True
        if not args.no_checks:
            print("\n*** Checks", flush=True)
            for check in topology.checks(net, model):
                print(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}", flush=True)
                ok = ok and check.ok
        from lab.mncli import run_cli
        if args.script:
            run_cli(net, topology.cli_verbs(net, model), script=args.script)
        elif sys.stdin.isatty():
            run_cli(net, topology.cli_verbs(net, model))
        return 0 if ok else 1
    finally:
        t = time.monotonic()
        print("*** Tearing down", flush=True)
        net.stop()
        print(f"*** Done in {time.monotonic() - t:.2f} s", flush=True)


def cmd_list(argv: List[str]) -> int:
    if argv:
        raise BadInput(f"`lab list` takes no arguments (got {' '.join(argv)})")
    for name, description in topologies.catalogue().items():
        print(f"{name:<12} {description}")
    return 0


def cmd_clean(argv: List[str]) -> int:
    if argv:
        raise BadInput(f"`lab clean` takes no arguments (got {' '.join(argv)})")
    from lab.cleanup import clean_all
    from lab.requirements import require_root
    require_root()
    done = clean_all()
    print(f"*** Removed {len(done['namespaces'])} namespaces, stopped {done['daemons']} daemons "
          f"and {done['processes']} other processes")
    return 0


COMMANDS = {"run": cmd_run, "list": cmd_list, "clean": cmd_clean}


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(f"usage: {USAGE}\n  run    build a lab, print its inventory, run checks, open the CLI\n"
              f"  list   the topologies\n  clean  remove everything any lab of this project created")
        return 0 if argv else 2
    command = COMMANDS.get(argv[0])
    try:
        if command is None:
            raise BadInput(f"unknown command {argv[0]!r} (usage: {USAGE})")
        return command(argv[1:])
    except LabError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
