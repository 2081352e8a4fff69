"""Break/fix on a running lab: the lab's plane's faults (lab.faults, through the registry), injected and repaired
from any shell with a record of what to put back; `lab fault list | inject | repair | status` and the CLI verb."""

from __future__ import annotations

import argparse
import json
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from lab import paths, planes
from lab.errors import BadInput
from lab.faults import Fault
from lab.livelab import LiveLab

# --- the records: RUN_DIR/<lab>/faults/<fault>.json, written by inject, read and removed by repair --------

def catalogue(lab: LiveLab) -> Dict[str, Fault]:
    """The faults of the lab's plane (lab.planes)."""
    return planes.get(lab.plane).faults() if lab.plane else {}


def fault_of(lab: LiveLab, name: str) -> Fault:
    faults = catalogue(lab)
    if name not in faults:
        others = [p.name for p in planes.every() if name in p.faults()]
        if others:
            raise BadInput(f"fault {name!r} is for {', '.join(others)} labs; lab {lab.name!r} is {lab.plane}")
        raise BadInput(f"unknown fault {name!r} for lab {lab.name!r} ({lab.topology}; its faults: "
                       f"{', '.join(faults) or 'none'}; see `lab fault list --name {lab.name}`)")
    return faults[name]


def record_dir(lab: str) -> str:
    return os.path.join(paths.run_dir(lab), "faults")


def injected(lab: str) -> List[dict]:
    """The faults in place in lab `lab`, as recorded by inject."""
    d = record_dir(lab)
    found = []
    for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        with open(os.path.join(d, f)) as fh:
            found.append(json.load(fh))
    return found


def _settle(lab: LiveLab, commands) -> None:
    """A switch's flows changed: return when its datapath's cached flows follow them (as an apply does)."""
    for host in sorted({h for h, c in commands if "ovs-ofctl" in c or "ovs-vsctl" in c}):
        lab.sh(host, "ovs-appctl revalidator/wait")


def inject(lab_name: str, name: str, args: Sequence[str] = ()) -> str:
    """Break the running lab; returns what was done and how to undo it."""
    lab = LiveLab(lab_name)
    f = fault_of(lab, name)
    record = os.path.join(record_dir(lab_name), f"{name}.json")
    if os.path.exists(record):
        raise BadInput(f"fault {name!r} is already injected in lab {lab_name!r}; `lab fault repair {name}` first")
    done = f.inject(lab, list(args))
    _settle(lab, done.undo)
    os.makedirs(record_dir(lab_name), mode=0o700, exist_ok=True)
    with paths.open_private(record) as fh:
        json.dump({"fault": name, "args": list(args), "did": done.did, "undo": done.undo, "hint": done.hint}, fh)
    return (f"injected {name}: {done.did}\n"
            + (f"symptom: {done.hint}\n" if done.hint else "")
            + f"undo: lab fault repair --name {lab_name} {name}   ("
            + "; ".join(f"{h}: {c.splitlines()[0]}" for h, c in done.undo) + ")")


def repair(lab_name: str, name: str) -> str:
    """Put back what inject broke (the items as the lab had rendered them)."""
    lab = LiveLab(lab_name)
    fault_of(lab, name)
    record = os.path.join(record_dir(lab_name), f"{name}.json")
    try:
        with open(record) as fh:
            done = json.load(fh)
    except FileNotFoundError:
        raise BadInput(f"fault {name!r} is not injected in lab {lab_name!r}") from None
    for host, cmd in done["undo"]:
        lab.sh(host, cmd)
    _settle(lab, done["undo"])
    os.unlink(record)
    return f"repaired {name}: " + "; ".join(f"{h}: {c.splitlines()[0]}" for h, c in done["undo"])




def every_fault() -> Dict[str, Tuple[Fault, List[str]]]:
    """name -> (the fault, the planes that have it), over every plane."""
    found: Dict[str, Tuple[Fault, List[str]]] = {}
    for plane in planes.every():
        for name, f in plane.faults().items():
            found.setdefault(name, (f, []))[1].append(plane.name)
    return found


def list_text(lab: Optional[LiveLab] = None) -> str:
    every = every_fault()
    rows = [(f, names) for f, names in every.values() if lab is None or lab.plane in names]
    width = max(len(f"{f.name} {f.usage}") for f, _n in every.values())
    return "\n".join(f"{(f.name + ' ' + f.usage):<{width}}  {'/'.join(names):<17} {f.summary}" for f, names in rows)


USAGE = ("lab fault list [--name LAB] | inject [--name LAB] FAULT [ARGS...] | repair [--name LAB] FAULT|--all "
         "| status [--name LAB]")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise BadInput(f"{message} (usage: {USAGE})")


def main(argv: Sequence[str], lab_name: Optional[str] = None) -> int:
    """`lab fault ...` and the CLI verb `fault ...` (lab_name: the CLI's own lab)."""
    p = _Parser(prog="lab fault", add_help=False)
    p.add_argument("verb", choices=["list", "inject", "repair", "status"])
    p.add_argument("--name", default=lab_name or paths.lab_name())
    p.add_argument("--all", action="store_true")
    if lab_name is not None and is_workshop(lab_name):  # a student's CLI: nothing that shows or repairs
        raise BadInput(_refusal(lab_name))
    argv = list(argv)
    if not argv:
        raise BadInput(f"usage: {USAGE}")
    # --name and --all may come anywhere (a fault's own arguments never start with "-")
    head, words = [argv.pop(0)], []
    while argv:
        word = argv.pop(0)
        if word == "--name":
            if not argv:
                raise BadInput(f"--name needs a lab's name (usage: {USAGE})")
            head += [word, argv.pop(0)]
        elif word.startswith("--name=") or word == "--all":
            head.append(word)
        elif word.startswith("-") and word != "-":
            raise BadInput(f"unknown option {word!r} (usage: {USAGE})")
        else:
            words.append(word)
    if sum(w == "--name" or w.startswith("--name=") for w in head) > 1:
        raise BadInput(f"--name given twice (usage: {USAGE})")
    a = p.parse_args(head)
    a.words = words
    if a.verb != "list" and is_workshop(a.name):  # the teacher's command on a workshop lab: in its journal
        from lab.workshop import journal
        journal.note(a.name, f"fault-{a.verb}", fault=" ".join(a.words) or ("--all" if a.all else ""))
    if a.verb == "list":
        if a.words:
            raise BadInput(f"`fault list` takes only --name (usage: {USAGE})")
        lab = None
        if any(w.startswith("--name") for w in head) or lab_name:
            try:
                lab = LiveLab(a.name)
            except BadInput:
                lab = None
        print(list_text(lab))
        return 0
    paths.check_name(a.name)
    if a.verb == "status":
        found = injected(a.name)
        print("\n".join(f"{d['fault']}: {d['did']}" for d in found) or f"no faults injected in lab {a.name!r}")
        return 0
    from lab.requirements import require_root
    require_root()
    if a.verb == "repair" and a.all:
        names = [d["fault"] for d in injected(a.name)]
        for n in names:
            print(repair(a.name, n))
        from lab.front import link  # the links' impairments too (`lab link`): the lab as it was built
        cleared = link.clear_all(a.name, None if lab_name else link.cable_by_request(a.name))
        for said in cleared:
            print(said)
        if not names and not cleared:
            print(f"no faults injected in lab {a.name!r}")
        return 0
    if not a.words:
        raise BadInput(f"`fault {a.verb}` needs a fault's name (usage: {USAGE})")
    if a.verb == "inject":
        print(inject(a.name, a.words[0], a.words[1:]))
    else:
        if len(a.words) != 1:
            raise BadInput(f"`fault repair` takes one fault's name (usage: {USAGE})")
        print(repair(a.name, a.words[0]))
    return 0


def is_workshop(lab_name: str) -> bool:
    """The lab runs a workshop exercise (lab.workshop.live's record)."""
    from lab.workshop.live import record_path
    try:
        return os.path.exists(record_path(paths.check_name(lab_name)))
    except BadInput:
        return False


REFUSAL = {"en": "`fault` is not part of a workshop lab's CLI (the teacher's `lab fault` is recorded in the lab's "
                  "journal): `task`, `hint` and `check` help",
           "zh": "练习实验的命令行不提供 `fault`（教师的 `lab fault` 会记入实验日志）：可用 `task`、`hint` 和 `check`"}


def _refusal(lab_name: str) -> str:
    """In the lab's language (its workshop record's)."""
    from lab.workshop.live import read_record
    return REFUSAL.get((read_record(lab_name) or {}).get("lang", "en"), REFUSAL["en"])


def fault_verb(net) -> Dict[str, Tuple[Callable[[str], None], str]]:
    """The CLI verb `fault`, on the CLI's own lab. A workshop lab's CLI (its student's) has none of it: not
    `status` (what was broken), not `repair`, not even `list` (the catalogue narrows the search)."""
    def do_fault(line: str) -> None:
        main(line.split(), lab_name=net.name)

    if is_workshop(net.name):
        return {"fault": (do_fault, "fault: not in a workshop lab (the teacher's `lab fault` is recorded)")}
    return {"fault": (do_fault, "fault list | inject FAULT [ARGS] | repair FAULT|--all | status: break/fix this lab")}
