"""`lab run` for a person: the lab brought up (lab.run), its inventory printed, its checks run, then the
Mininet CLI or a script, and a teardown however it ends (a signal included: lab.signals)."""

from __future__ import annotations

import json
import sys
import time
from typing import List

import topologies
from lab import outfile, run
from lab.errors import LabError
from lab.signals import SIGS, Interrupted


def run_lab(argv: List[str], hooks=None) -> int:
    """hooks (a workshop exercise): after_build(net, topology, model) once the lab is up, verbs(net) for the CLI."""
    name = topologies.DEFAULT
    if argv and not argv[0].startswith("-"):
        name, argv = argv[0], argv[1:]
    topology = topologies.load(name)
    args, model = run.from_argv(topology, argv)  # validates; BadInput before anything exists
    check_files(args)
    options = run.prepare(topology, args, model)

    from lab import cleanup, registry
    from lab.front.mncli import run_cli
    # until here nothing exists, so a signal just ends the process (also in the middle of an import,
    # where an exception would leave some library's half-built objects behind); from here it tears down
    SIGS.arm(args.name)
    start = time.monotonic()
    net = server = None
    failed_lines = 0
    say = lambda m: print(m, flush=True)  # noqa: E731
    try:
        net = run.claim(topology, options, name=args.name, progress=say)
        run.build(topology, net, model, progress=say)
        print(f"*** Lab {net.name!r} up in {time.monotonic() - start:.2f} s\n", flush=True)
        print(topology.inventory_text(net, model), flush=True)
        if args.json is not None:
            outfile.write(args.json, (json.dumps(topology.inventory(net, model), indent=2) + "\n").encode(), "--json")
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
            failed_lines = run_cli(net, verbs, script=args.script, endpoints=lambda: topology.endpoints(net, model))
            if failed_lines:
                print(f"*** {failed_lines} line(s) of {args.script} failed", flush=True)
        elif sys.stdin.isatty():
            SIGS.interactive(True)
            try:
                run_cli(net, verbs, endpoints=lambda: topology.endpoints(net, model))
            finally:
                SIGS.interactive(False)
        return 0 if ok and not failed_lines else 1
    except Interrupted as exc:
        SIGS.taken()
        print(f"\n*** {exc}: tearing down", file=sys.stderr, flush=True)
        return exc.exit_code
    finally:
        SIGS.teardown()
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


def check_files(args) -> None:
    """--json and --script are checked before anything exists, so a typo costs no lab."""
    from lab.outfile import check_file
    from lab.validate import check_readable_file
    if args.json is not None:
        check_file(args.json, "--json")
    if args.script is not None:
        check_readable_file(args.script, "--script")


def serve_requests(net, topology, model):
    """The lab's control socket (lab.control), so other shells reach what this process holds (`lab oc`)."""
    from lab import control
    try:
        return control.Server(net.name, topology.control_handlers(net, model), topology=topology.name).start()
    except LabError as exc:  # the lab works without it; only other shells' requests are refused
        print(f"*** {exc}: `lab oc` from other shells will not reach this lab", flush=True)
        return None
