"""An `oc` line split as a shell splits it (shlex), its flags parsed once (pure)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from lab.errors import BadInput, Refused

# flags that take no value; every other flag takes one (`--to=p1`, `--to p1`, `-n p1`, `-np1`)
BOOL_FLAGS = {"--overwrite", "--all-namespaces", "-A", "--all"}
SHORT = {"-n": "--namespace", "-o": "--output", "-f": "--filename", "-p": "--patch", "-l": "--selector",
         "-A": "--all-namespaces"}


@dataclass
class OcArgs:
    """A parsed line: positional words and flags (long names; repeated flags keep every value)."""

    words: List[str]
    flags: Dict[str, List[str]] = field(default_factory=dict)

    def flag(self, name: str, default: Optional[str] = None) -> Optional[str]:
        values = self.flags.get(name)
        return values[-1] if values else default

    def has(self, name: str) -> bool:
        return name in self.flags

    def only(self, verb: str, allowed: Sequence[str]) -> None:
        for name in self.flags:
            if name not in allowed:
                raise Refused(f"error: unknown flag: {name} (oc {verb} takes: {', '.join(allowed) or 'no flags'})")

    @property
    def namespace(self) -> str:
        return self.flag("--namespace", "default")


def parse(line: str) -> OcArgs:
    """shlex words; flags out, positional words kept in order."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise BadInput(f"oc: cannot split the line as a shell would: {exc}") from None
    args = OcArgs([])
    i = 0
    while i < len(words):
        w = words[i]
        i += 1
        if w == "--":
            args.words += words[i:]
            break
        if not w.startswith("-") or w == "-":
            args.words.append(w)
            continue
        name, eq, value = w.partition("=")
        if not name.startswith("--") and name[:2] in SHORT and len(name) > 2 and not eq:
            name, value, eq = name[:2], name[2:], "="  # -owide, -nshop
        name = SHORT.get(name, name)
        if name in BOOL_FLAGS:
            if eq and value not in ("true", "false"):
                raise Refused(f"error: invalid argument {value!r} for {name}")
            if value != "false":
                args.flags.setdefault(name, []).append("true")
            continue
        if not eq:
            if i >= len(words):
                raise Refused(f"error: flag needs an argument: {w}")
            value, i = words[i], i + 1
        args.flags.setdefault(name, []).append(value)
    return args
