"""How `lab workshop` verbs read their arguments: the usage line, and a parser whose errors are one line
and exit 2 (BadInput)."""

from __future__ import annotations

import argparse

from lab import paths
from lab.errors import BadInput
from lab.workshop.exercise import LANGS

USAGE = ("lab workshop list [--lang en|zh] | start EX [--name LAB] [--lang en|zh] [--script FILE] "
         "| check [--name LAB | --all] [--json FILE] [--junit FILE] | answer [--name LAB] Q VALUE "
         "| solve EX [--name LAB] | reset [--name LAB] [--stage N] | stage [--name LAB] [next] "
         "| verify [EX...] [--name LAB] | handout [EX...] [--lang en|zh] -o DIR "
         "| report [--all | --name LAB...] [--csv FILE] [--html FILE] | course FILE [--exercise EX] [--stop] "
         "| serve EX --name LAB (detached, until `lab clean LAB`) | task [--name LAB] | hint [--name LAB]")


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise BadInput(f"{message} (usage: {USAGE})")


def parser(verb: str) -> Parser:
    p = Parser(prog=f"lab workshop {verb}", add_help=False)
    p.add_argument("--lang", choices=LANGS, default=None)
    if verb != "list":
        p.add_argument("--name", default=paths.lab_name())
    return p
