"""Link impairments as data: what one interface should suffer (loss, rate, delay, jitter, duplicate,
corrupt), parsed from `lab link` words, rendered to the tc and iptables commands that give it with what
the kernel has, and the kernel's features, probed once. Pure except `probe_kernel` (a scratch namespace).

What gives each setting (all act on the frames the interface SENDS, as netem does):
- rate: tc's token bucket (`tbf`) as the interface's root qdisc; the netem qdisc (if any) is its child.
- loss: netem's `loss random` where the kernel has netem; else iptables' `statistic` match (random mode)
  in the host's namespace, in a chain of ours (LNK-<if>) jumped to from OUTPUT and FORWARD for `-o <if>`.
  iptables sees only the IP packets the host's own stack sends or routes: frames a switch sends out of a
  port (Open vSwitch, a Linux bridge) never pass it, so loss there needs netem (the caller refuses).
- delay, jitter, duplicate, corrupt: netem only (sch_netem); without it the change is refused, whole.
"""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
from dataclasses import asdict, dataclass, fields, replace
from typing import Dict, List, Optional, Sequence

from lab.errors import BadInput

SETTINGS = ("loss", "rate", "delay", "jitter", "duplicate", "corrupt")
NETEM_ONLY = ("delay", "jitter", "duplicate", "corrupt")
CHAIN_PREFIX = "LNK-"  # our iptables chain per interface: LNK-eth0
RATE_UNITS = {"bit": 1, "kbit": 10 ** 3, "mbit": 10 ** 6, "gbit": 10 ** 9,
              "bps": 8, "kbps": 8 * 10 ** 3, "mbps": 8 * 10 ** 6, "gbps": 8 * 10 ** 9}
TBF_LATENCY_MS = 50  # how long a packet may wait in the bucket before tbf drops it
MIN_BURST_BYTES = 3200  # two full frames: less and tbf cannot send a 1500-byte packet at all
IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


@dataclass(frozen=True)
class Impairment:
    """What one interface suffers; 0 is "not set" for every field."""

    loss: float = 0.0  # percent of frames dropped, at random
    rate: float = 0  # bits per second
    delay: float = 0.0  # milliseconds
    jitter: float = 0.0  # milliseconds (needs delay)
    duplicate: float = 0.0  # percent
    corrupt: float = 0.0  # percent

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))

    @property
    def needs_netem(self) -> List[str]:
        return [s for s in NETEM_ONLY if getattr(self, s)]

    def to_dict(self) -> Dict[str, float]:
        return {k: v for k, v in asdict(self).items() if v}

    @classmethod
    def from_dict(cls, d: Dict[str, float]) -> "Impairment":
        return cls(**{k: v for k, v in d.items() if k in SETTINGS})

    def describe(self) -> str:
        parts = []
        if self.loss:
            parts.append(f"loss {_num(self.loss)}%")
        if self.rate:
            parts.append(f"rate {rate_text(self.rate)}")
        if self.delay:
            parts.append(f"delay {_num(self.delay)}ms" + (f" jitter {_num(self.jitter)}ms" if self.jitter else ""))
        if self.duplicate:
            parts.append(f"duplicate {_num(self.duplicate)}%")
        if self.corrupt:
            parts.append(f"corrupt {_num(self.corrupt)}%")
        return " ".join(parts) or "none"


def _num(x: float) -> str:
    return f"{x:g}"


def rate_text(rate: float) -> str:
    bps = int(rate)
    for unit, scale in (("gbit", 10 ** 9), ("mbit", 10 ** 6), ("kbit", 10 ** 3)):
        if bps >= scale and bps % scale == 0:
            return f"{bps // scale}{unit}"
    return f"{bps}bit"


# --- parsing: `loss 50 rate 10mbit delay 20 jitter 5` on top of what the interface has -----------------

def _percent(name: str, word: str) -> float:
    try:
        value = float(word.rstrip("%"))
    except ValueError:
        raise BadInput(f"{name} takes a percentage from 0 to 100 (got {word!r})") from None
    if not 0 <= value <= 100:
        raise BadInput(f"{name} takes a percentage from 0 to 100 (got {word!r})")
    return value


def _ms(name: str, word: str) -> float:
    try:
        value = float(word[:-2] if word.endswith("ms") else word)
    except ValueError:
        raise BadInput(f"{name} takes milliseconds, 0 or more (got {word!r})") from None
    if not 0 <= value <= 60000:
        raise BadInput(f"{name} takes milliseconds from 0 to 60000 (got {word!r})")
    return value


def parse_rate(word: str) -> int:
    """`10mbit`, `512kbit`, `1gbit`, `100kbps` (bytes) -> bits per second (tc's units; a unit is required)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([a-z]+)", word.lower())
    if not m or m.group(2) not in RATE_UNITS:
        raise BadInput(f"rate takes a number with a unit, e.g. 10mbit, 512kbit, 1gbit, 100kbps (got {word!r}; "
                       f"units: {', '.join(RATE_UNITS)}); 0 removes it")
    bps = int(float(m.group(1)) * RATE_UNITS[m.group(2)])
    if bps and bps < 8000:
        raise BadInput(f"rate {word!r} is below 8kbit: a full frame would wait longer than tbf lets it")
    return bps


def parse(words: Sequence[str], current: Impairment = Impairment()) -> Impairment:
    """Setting-value pairs applied on top of `current` (a value of 0 removes that setting)."""
    words = list(words)
    if not words:
        raise BadInput(f"give settings: {' '.join(f'[{s} X]' for s in SETTINGS)}, or down, up, clear")
    if len(words) % 2:
        raise BadInput(f"{words[-1]!r} needs a value (settings come in pairs: loss 10 rate 1mbit ...)")
    new: Dict[str, float] = {}
    for name, word in zip(words[::2], words[1::2], strict=True):
        if name not in SETTINGS:
            raise BadInput(f"unknown setting {name!r} (settings: {', '.join(SETTINGS)}; or down, up, clear)")
        if name in new:
            raise BadInput(f"{name} given twice")
        if name in ("loss", "duplicate", "corrupt"):
            new[name] = _percent(name, word)
        elif name == "rate":
            new[name] = parse_rate(word)
        else:
            new[name] = _ms(name, word)
    result = replace(current, **new)
    if result.jitter and not result.delay:
        raise BadInput("jitter needs a delay (jitter varies the delay: delay 20 jitter 5)")
    if result.jitter > result.delay:
        raise BadInput(f"jitter ({_num(result.jitter)}ms) is larger than the delay ({_num(result.delay)}ms)")
    return result


# --- the kernel's features, probed once in a scratch namespace ----------------------------------------

@dataclass(frozen=True)
class Kernel:
    netem: bool  # sch_netem: delay, jitter, duplicate, corrupt, loss on any interface
    tbf: bool  # sch_tbf: rate


def _tries(script: str) -> bool:
    """The script succeeds in a new, empty network namespace (its loopback only), gone when it exits."""
    try:
        r = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


@functools.lru_cache(maxsize=1)
def probe_kernel() -> Kernel:
    """What this kernel's traffic control offers: each qdisc tried once on a scratch namespace's loopback
    (loading its module if the kernel can), so a missing module and a missing option look the same: no."""
    return Kernel(netem=_tries("tc qdisc add dev lo root netem delay 1ms"),
                  tbf=_tries(f"tc qdisc add dev lo root tbf rate 1mbit burst {MIN_BURST_BYTES} latency 50ms"))


def refusal(imp: Impairment, kernel: Kernel, netfilter_sees: bool, target: str, other_end: str = "") -> Optional[str]:
    """One line naming the kernel feature a setting needs and this kernel lacks (None: it can be given)."""
    if kernel.netem:
        return None
    missing = imp.needs_netem
    if missing:
        return (f"{' and '.join(missing)} need{'s' if len(missing) == 1 else ''} the kernel's netem qdisc (sch_netem), which this kernel does not "
                f"have (here: loss and rate)")
    if imp.loss and not netfilter_sees:
        return (f"loss on {target} needs the kernel's netem qdisc (sch_netem), which this kernel does not have: "
                f"iptables never sees the frames a switch sends out of {target.split(':', 1)[1]}; "
                f"impair the other end of the link{' (' + other_end + ')' if other_end else ''}")
    if imp.rate and not kernel.tbf:
        return "rate needs the kernel's token bucket qdisc (sch_tbf), which this kernel does not have"
    return None


# --- render: the commands that give an interface exactly this impairment (from any previous one) ------

def chain(dev: str) -> str:
    return CHAIN_PREFIX + dev


def clear_commands(dev: str) -> List[str]:
    """Undo whatever we put on dev (each step may find nothing to undo)."""
    d, c = shlex.quote(dev), shlex.quote(chain(dev))
    return [f"tc qdisc del dev {d} root 2>/dev/null || true",
            f"iptables -w -D OUTPUT -o {d} -j {c} 2>/dev/null || true",
            f"iptables -w -D FORWARD -o {d} -j {c} 2>/dev/null || true",
            f"iptables -w -F {c} 2>/dev/null || true",
            f"iptables -w -X {c} 2>/dev/null || true"]


def burst_bytes(bps: float) -> int:
    """A bucket that holds 10 ms at the rate (a timer tick's worth on any HZ), and at least two frames."""
    return max(MIN_BURST_BYTES, int(bps) // 8 // 100)


def render(dev: str, imp: Impairment, kernel: Kernel) -> List[str]:
    """The commands, in order, that take dev from any impairment of ours to exactly `imp`."""
    d = shlex.quote(dev)
    cmds = clear_commands(dev)
    netem: List[str] = []
    if kernel.netem:
        if imp.delay:
            netem.append(f"delay {_num(imp.delay)}ms" + (f" {_num(imp.jitter)}ms" if imp.jitter else ""))
        if imp.loss:
            netem.append(f"loss random {_num(imp.loss)}%")
        if imp.duplicate:
            netem.append(f"duplicate {_num(imp.duplicate)}%")
        if imp.corrupt:
            netem.append(f"corrupt {_num(imp.corrupt)}%")
    if imp.rate:
        cmds.append(f"tc qdisc add dev {d} root handle 1: tbf rate {int(imp.rate)}bit burst {burst_bytes(imp.rate)} "
                    f"latency {TBF_LATENCY_MS}ms")
    if netem:
        where = "parent 1:1 handle 10:" if imp.rate else "root handle 10:"
        cmds.append(f"tc qdisc add dev {d} {where} netem {' '.join(netem)}")
    if imp.loss and not kernel.netem:
        c = shlex.quote(chain(dev))
        cmds += [f"iptables -w -N {c}",
                 f"iptables -w -A {c} -m statistic --mode random --probability {imp.loss / 100:.6f} -j DROP",
                 f"iptables -w -I OUTPUT 1 -o {d} -j {c}",
                 f"iptables -w -I FORWARD 1 -o {d} -j {c}"]
    return cmds


def held_by(imp: Impairment, kernel: Kernel, qdiscs: str, rules: str) -> bool:
    """The interface's `tc qdisc show` and `iptables -S <our chain>` still hold what render() put there."""
    if imp.rate and " tbf " not in f" {qdiscs} ":
        return False
    if (imp.needs_netem or (imp.loss and kernel.netem)) and " netem " not in f" {qdiscs} ":
        return False
    return not (imp.loss and not kernel.netem and "-m statistic" not in rules)


def script(commands: Sequence[str]) -> str:
    """One shell script that stops at the first failing command."""
    return "set -e\n" + "\n".join(commands)


def check_ifname(dev: str) -> str:
    if not IFNAME.match(dev):
        raise BadInput(f"{dev!r} is not an interface name")
    return dev
