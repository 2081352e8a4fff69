"""Criteria and steps the exercises of every plane share: reachability proven at the real peer, a capture in a
lab host around an action, a fault put in place, repaired."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import select
import subprocess
import time
from dataclasses import dataclass
from typing import Callable, List, Optional

from lab import paths
from lab.errors import LabError
from lab.front import faults
from lab.workshop.exercise import Criterion, Outcome, text

LISTEN_TIMEOUT = 5.0  # tcpdump says "listening on" within this, or the capture fails
ARRIVAL_TIMEOUT = 1.5  # after the action: how long a packet still on its way may take to show


@dataclass
class Packet:
    """One packet tcpdump printed: its summary line and its bytes from the IP header on (`-x`)."""

    line: str
    data: bytes

    @property
    def src(self) -> str:
        return str(ipaddress.IPv4Address(self.data[12:16])) if len(self.data) >= 20 else ""

    @property
    def dst(self) -> str:
        return str(ipaddress.IPv4Address(self.data[16:20])) if len(self.data) >= 20 else ""

    @property
    def vni(self) -> Optional[int]:
        """The VNI of a VXLAN packet (UDP whose payload starts with the VXLAN header, I flag set), else None."""
        if len(self.data) < 20 or self.data[9] != 17:
            return None
        vxlan = (self.data[0] & 0x0F) * 4 + 8
        if len(self.data) < vxlan + 8 or not self.data[vxlan] & 0x08:
            return None
        return int.from_bytes(self.data[vxlan + 4:vxlan + 7], "big")


def _packets(out: str) -> List[Packet]:
    """tcpdump -nn -x text: a summary line, then `\\t0x0000:  4500 0054 ...` lines of hex."""
    found: List[Packet] = []
    for line in out.splitlines():
        m = re.match(r"\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4}\s?)+)", line)
        if m and found:
            found[-1].data += bytes.fromhex("".join(m.group(1).split()))
        elif line.strip() and not line[0].isspace():
            found.append(Packet(line.strip(), b""))
    return found


class PeerCapture:
    """tcpdump on every interface of one lab host while the caller acts; `.first(test)` is the first packet
    passing test, waited for up to a deadline:

        with PeerCapture(lab, "pod2", "icmp") as cap:
            lab.sh("pod1", "ping -c1 ...")
            seen = cap.first(lambda p: nonce in p.data)
    """

    def __init__(self, lab, host: str, bpf: str):
        self.lab, self.host, self.bpf = lab, host, bpf
        self.proc: Optional[subprocess.Popen] = None
        self.out = ""

    def __enter__(self) -> "PeerCapture":
        argv = ["ip", "netns", "exec", paths.netns_name(self.host, self.lab.name),
                "tcpdump", "-l", "-nn", "-x", "-s", "2048", "-i", "any", self.bpf]
        self.proc = proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                            stdin=subprocess.DEVNULL)
        assert proc.stdout is not None and proc.stderr is not None
        err, deadline = b"", time.monotonic() + LISTEN_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stderr], [], [], 0.1)[0]:
                err += os.read(proc.stderr.fileno(), 4096)
                if b"listening on" in err:
                    return self
        self._stop()
        raise LabError(f"tcpdump in {self.host} did not start: {err.decode(errors='replace').strip()}")

    def first(self, test: Callable[[Packet], bool], timeout: float = ARRIVAL_TIMEOUT) -> Optional[Packet]:
        """The first packet printed so far, or until the deadline, that passes test (None if none did)."""
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        deadline, open_ = time.monotonic() + timeout, True
        while True:
            while open_ and select.select([proc.stdout], [], [], 0)[0]:  # everything printed by now
                chunk = os.read(proc.stdout.fileno(), 65536)
                open_ = bool(chunk)
                self.out += chunk.decode(errors="replace")
            hit = next((p for p in _packets(self.out) if test(p)), None)
            left = deadline - time.monotonic()
            if hit is not None or left <= 0 or not open_:
                return hit
            select.select([proc.stdout], [], [], min(left, 0.1))

    def _stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(timeout=5)
            for f in (self.proc.stdout, self.proc.stderr):
                if f is not None:
                    f.close()

    def __exit__(self, *exc) -> None:
        self._stop()


def holder(lab, ip: str) -> str:
    """The lab host that has ip as its own address (where its packets must arrive), or ''."""
    for h in lab.hosts:
        try:
            if lab.ip_of(h) == ip:
                return h
        except LabError:
            continue
    return ""


def ping_seen_at(lab, src: str, dst_ip: str, peer: str, size: int = 0, bpf: str = "icmp", tries: int = 3,
                 until_seen: bool = False):
    """src pings dst_ip with a pattern of its own (`ping -p`) while peer captures (bpf): (answered, the first
    packet peer saw carrying the pattern, or None). A local alias answers, but peer never sees the pattern.
    Up to `tries` pings, until one is answered (or, until_seen, until peer has seen one)."""
    nonce = secrets.token_bytes(8)
    extra = f"-s {size} " if size else ""
    answered = False

    def carries(p: Packet) -> bool:
        return nonce in p.data
    with PeerCapture(lab, peer, bpf) as cap:
        for _ in range(tries):
            out = lab.sh(src, f"ping -n -c1 -W1 -p {nonce.hex()} {extra}{dst_ip} 2>&1", check=False)
            if " 0% packet loss" in out:
                answered = True
                break
            if until_seen and cap.first(carries, timeout=0) is not None:
                break
        seen = cap.first(carries)
    return answered, seen


def reaches(src: str, dst: str, size: int = 0, control: bool = False) -> Criterion:
    """src pings dst (a lab host, its address read from the lab) and gets an answer, and a capture in dst
    itself sees src's echo request (its own pattern): the answer came from the real peer, not a local alias."""
    what = f" with {size}-byte payloads" if size else ""

    def observe(lab) -> Outcome:
        ip = lab.ip_of(dst)
        peer = dst if dst in lab.hosts else holder(lab, ip)
        if not peer:
            return Outcome(False, f"no host of the lab holds {ip}: nothing to observe there")
        answered, seen = ping_seen_at(lab, src, ip, peer, size)
        if seen is not None and seen.dst != ip:  # the pattern passed peer on its way elsewhere
            seen = None
        head = f"{src} -> {dst} ({ip}): "
        if answered and seen:
            return Outcome(True, head + f"answered; {peer} saw the request itself ({seen.line})")
        if answered:
            return Outcome(False, head + f"answered, but {peer} never saw the request: the answer came from "
                                         "somewhere else (a local address?)")
        return Outcome(False, head + "no answer" + (f" ({peer} saw the request: the reply is lost)" if seen else ""))
    return Criterion(text(f"{src} reaches {dst} (ping{what}, seen at {dst})",
                          f"{src} 能 ping 通 {dst}（{f'{size} 字节负载，' if size else ''}在 {dst} 上抓包确认）"),
                     observe, control)


def inject(*names_and_args):
    """A setup that puts faults in place (each: fault name, its arguments); again after `reset`."""
    def setup(lab) -> None:
        for name, *args in names_and_args:
            faults.inject(lab.name, name, [str(a) for a in args])
    setup.faults = tuple(names_and_args)  # type: ignore[attr-defined]  # what handouts mark, read without running it
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
