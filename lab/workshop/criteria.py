"""Criteria and steps the exercises of every plane share: reachability, a fault put in place, repaired."""

from __future__ import annotations

import re

from lab.front import faults
from lab.workshop.exercise import Criterion, Outcome, text


def reaches(src: str, dst: str, size: int = 0) -> Criterion:
    """src pings dst (a lab host, its address read from the lab) and gets an answer."""
    what = f" with {size}-byte payloads" if size else ""

    def observe(lab) -> Outcome:
        ip = lab.ip_of(dst)
        ok = lab.ping(src, ip, size=size)
        return Outcome(ok, f"{src} -> {dst} ({ip}): " + ("answered" if ok else "no answer"))
    return Criterion(text(f"{src} reaches {dst} (ping{what})", f"{src} 能 ping 通 {dst}{f'（{size} 字节负载）' if size else ''}"),
                     observe)


def inject(*names_and_args):
    """A setup that puts faults in place (each: fault name, its arguments); again after `reset`."""
    def setup(lab) -> None:
        for name, *args in names_and_args:
            faults.inject(lab.name, name, [str(a) for a in args])
    return setup


def repair(*names):
    """The reference solution of a break/fix exercise: what the lab rendered, put back."""
    def solve(lab) -> None:
        injected = {d["fault"] for d in faults.injected(lab.name)}
        for name in names:
            if name in injected:
                faults.repair(lab.name, name)
    return solve


def numbers(value: str) -> str:
    """`0 > 20 > 21`, `0,20,21`, `0 20 21` -> `0,20,21`."""
    return ",".join(re.findall(r"\d+", value))


def digits(value: str) -> str:
    """`net:[4026532261]` or `4026532261` -> `4026532261`."""
    found = re.findall(r"\d+", value)
    return found[-1] if found else value.strip()
