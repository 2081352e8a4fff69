"""`lab capture [--name LAB] HOST:IF [HOST:IF ...] [-w FILE.pcapng] [--filter BPF] [--decode-vxlan]
[--for SECONDS|--count N]` and the CLI verb `capture`: packets of several lab interfaces at once, in one
pcapng file (an interface block named `host:if` for each, packets interleaved by time), streamed to stdout
with `-w -` (`lab capture ... -w - | wireshark -k -i -`), or one line per packet without -w.

tcpdump runs in each host's namespace (lab.observe.multicapture); the file is our own writer's
(lab.observe.pcapng). A file is written beside its target and renamed over it when the capture ends,
so a failed capture leaves no file. Ctrl-C (SIGINT, SIGTERM, SIGHUP) ends the capture with the file whole.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import Any, BinaryIO, Callable, Dict, Iterator, List, Optional, Sequence, TextIO, Tuple

from lab import outfile, paths
from lab.errors import BadInput, LabError
from lab.livelab import LiveLab
from lab.observe import pcapng
from lab.observe.multicapture import MultiCapture, Point
from lab.observe.pcapstream import Frame

USAGE = ("lab capture [--name LAB] HOST:IF [HOST:IF ...] [-w FILE.pcapng|-] [--filter BPF] [--decode-vxlan] "
         "[--for SECONDS|--count N]")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise BadInput(f"{message} (usage: {USAGE})")


def parser(in_cli: bool = False) -> argparse.ArgumentParser:
    """The options of `lab capture` (in_cli: the CLI verb `capture`, whose lab is its own: no --name)."""
    p = _Parser(prog="capture" if in_cli else "lab capture", add_help=not in_cli,
                description="Capture packets on several interfaces of a running lab at once, into one pcapng "
                            "file with an interface block named HOST:IF for each (Wireshark, tshark and scapy "
                            "read it), or one line per packet.")
    if not in_cli:
        p.add_argument("--name", default=None, metavar="LAB",
                       help="the running lab (default: $SDNLAB_NAME or sdnlab; `lab ps` lists them)")
    p.add_argument("points", nargs="+", metavar="HOST:IF",
                   help="an interface of a lab host, e.g. node1:eth0 pod1:eth0 node2:tun0; several are captured together")
    p.add_argument("-w", "--write", metavar="FILE.pcapng", default=None,
                   help="write pcapng to FILE (whole when the capture ends), or `-` to stream it to stdout, "
                        "each packet flushed as it comes (`| wireshark -k -i -`, `| tshark -r -`); "
                        "without -w: one line per packet")
    p.add_argument("--filter", metavar="BPF", default="",
                   help="a tcpdump/BPF filter applied on every interface, e.g. 'udp port 4789' or 'icmp'")
    p.add_argument("--decode-vxlan", action="store_true",
                   help="the lab's VXLAN UDP ports (read from its hosts) are decoded as VXLAN in the lines; "
                        "the file names them in a comment and the tshark option (-d udp.port==PORT,vxlan) "
                        "is printed on stderr")
    end = p.add_mutually_exclusive_group()
    end.add_argument("--for", dest="seconds", type=float, metavar="SECONDS",
                     help="stop after SECONDS (default: at Ctrl-C)")
    end.add_argument("--count", type=int, metavar="N", help="stop after N packets, over all interfaces together")
    return p


def points_of(lab: LiveLab, words: Sequence[str]) -> List[Point]:
    """HOST:IF words -> the interfaces, each checked against the host's namespace."""
    points, interfaces = [], {}  # type: Tuple[List[Point], Dict[str, List[str]]]
    for word in words:
        host, sep, intf = word.partition(":")
        if not sep or not host or not intf:
            raise BadInput(f"{word!r}: give HOST:IF, e.g. node1:eth0 (usage: {USAGE})")
        lab.need(host)
        if host not in interfaces:
            interfaces[host] = sorted(lab.sh(host, "ls /sys/class/net").split())
        if intf not in interfaces[host]:
            raise BadInput(f"{host} has no interface {intf!r} (its interfaces: {', '.join(interfaces[host])})")
        point = Point(host, intf, paths.netns_name(host, lab.name))
        if point in points:
            raise BadInput(f"{word} is given twice")
        points.append(point)
    return points


@contextmanager
def stop_on(signals: Sequence[signal.Signals], stop: threading.Event) -> Iterator[None]:
    """While the capture runs these signals end it (the file stays whole), whoever else handled them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, lambda _n, _f: stop.set()) for s in signals}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def summary_printer(labels: List[str], linktypes: List[int], vxlan_ports: Sequence[int],
                    out: TextIO) -> Callable[[int, Frame], None]:
    """One line per packet: time, HOST:IF, scapy's summary (VXLAN and its inner packet on the given ports)."""
    import scapy.layers.inet  # noqa: F401 (Ethernet, IP, ICMP, UDP, TCP registered with scapy)
    import scapy.layers.inet6  # noqa: F401
    from scapy.config import conf
    from scapy.packet import Raw
    if vxlan_ports:
        from scapy.layers.inet import UDP
        from scapy.layers.vxlan import VXLAN
        from scapy.packet import bind_layers
        for port in vxlan_ports:
            bind_layers(UDP, VXLAN, dport=port)
    width = max(len(label) for label in labels)

    def emit(ifid: int, frame: Frame) -> None:
        cls: Any = conf.l2types.get(linktypes[ifid], Raw)
        try:
            text = cls(frame.data).summary()
        except Exception:  # noqa: BLE001 (a frame scapy cannot decode is still a line)
            text = f"{len(frame.data)} bytes"
        sec, ns = divmod(frame.timestamp_ns, 1_000_000_000)
        stamp = time.strftime("%H:%M:%S", time.localtime(sec)) + f".{ns // 1000:06d}"
        out.write(f"{stamp} {labels[ifid]:<{width}} {text}\n")
        out.flush()
    return emit


def vxlan_note(ports: Sequence[int]) -> str:
    return (f"UDP port{'s' if len(ports) > 1 else ''} {', '.join(map(str, ports))} "
            f"carr{'y' if len(ports) > 1 else 'ies'} VXLAN in this lab: "
            f"tshark {' '.join(f'-d udp.port=={p},vxlan' for p in ports)}")


class _Output:
    """The pcapng's destination: stdout (-w -) or a temporary file renamed over FILE at the end."""

    def __init__(self, target: str, stdout: Optional[BinaryIO]):
        self.target, self.tmp = target, ""
        if target == "-":
            self.stream: BinaryIO = stdout if stdout is not None else sys.stdout.buffer
            return
        directory = os.path.dirname(os.path.abspath(target))
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", dir=directory)
        except OSError as exc:
            raise BadInput(f"-w {target}: {exc.strerror or exc}") from None
        self.stream = os.fdopen(fd, "wb")

    def finish(self, ok: bool) -> None:
        if not self.tmp:
            return
        try:
            self.stream.close()
        except OSError:
            ok = False
        if ok:
            os.chmod(self.tmp, 0o644)
            os.replace(self.tmp, self.target)
        else:
            os.unlink(self.tmp)


def main(argv: Sequence[str], lab_name: Optional[str] = None, stdout: Optional[BinaryIO] = None,
         text_out: Optional[TextIO] = None) -> int:
    """`lab capture ...`, and the CLI verb (lab_name: the CLI's own lab; only SIGINT ends its capture there,
    SIGTERM stays the lab's own)."""
    a = parser(in_cli=lab_name is not None).parse_args(list(argv))
    name = paths.check_name(lab_name or a.name or paths.lab_name())
    if a.seconds is not None and not a.seconds > 0:
        raise BadInput(f"--for {a.seconds:g}: give a number of seconds above 0")
    if a.count is not None and a.count < 1:
        raise BadInput(f"--count {a.count}: give 1 or more packets")
    if a.write == "-" and lab_name is not None:
        raise BadInput("-w - streams pcapng to the `lab capture` command's stdout; in the CLI give a file")
    if a.write not in (None, "-"):
        outfile.check_file(a.write, "-w")
    from lab.requirements import require_root
    require_root()
    lab = LiveLab(name)
    points = points_of(lab, a.points)
    ports: List[int] = []
    if a.decode_vxlan:
        from lab.observe.vxlan_ports import lab_ports
        ports = lab_ports(lab, lab.nodes or sorted({p.host for p in points}))
    err = sys.stderr
    stop = threading.Event()
    signals = (signal.SIGINT,) if lab_name else (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    with stop_on(signals, stop), MultiCapture(points, a.filter) as cap:  # a signal from here on: a clean end
        labels = [p.label for p in points]
        out = None
        if a.write is None:
            emit = summary_printer(labels, cap.linktypes, ports, text_out or sys.stdout)
        else:
            out = _Output(a.write, stdout)
            comments = [f"lab {name}: {', '.join(labels)}" + (f", filter {a.filter!r}" if a.filter else "")]
            comments += [vxlan_note(ports)] if ports else []
            interfaces = [pcapng.Interface(label, linktype=lt, bpf=a.filter, description=f"lab {name}")
                          for label, lt in zip(labels, cap.linktypes, strict=True)]
            ok = False
            try:
                writer = pcapng.Writer(out.stream, interfaces, comments=comments, os_name=platform.platform())
                ok = True
            finally:
                if not ok:
                    out.finish(False)
            emit = lambda ifid, frame: writer.packet(ifid, frame.timestamp_ns, frame.data, frame.orig_len)  # noqa: E731
        if ports and a.write is not None:
            print(f"lab capture: {vxlan_note(ports)}", file=err, flush=True)
        ends = (f"for {a.seconds:g} s" if a.seconds else f"{a.count} packets" if a.count else "until Ctrl-C")
        print(f"lab capture: listening on {', '.join(labels)} ({ends})", file=err, flush=True)
        ok = False
        try:
            cap.run(emit, stop, seconds=a.seconds, count=a.count)
            ok = True
        except BrokenPipeError:  # the reader of -w - went away: the capture ends
            ok = True
            try:
                sys.stdout = open(os.devnull, "w")  # no second error when Python flushes stdout at exit
            except OSError:
                pass
        except OSError as exc:  # the disk filled up: no half file either
            raise LabError(f"-w {a.write}: {exc.strerror or exc}") from None
        finally:
            if out is not None:
                out.finish(ok)
    sent = cap.sent
    for source in cap.sources:
        if source.dropped:
            print(f"lab capture: {source.point.label}: the kernel dropped {source.dropped} packets "
                  "(more than tcpdump could take; a --filter helps)", file=err, flush=True)
    where = "" if a.write in (None, "-") else f" -> {a.write}"
    print(f"lab capture: {sent} packet{'s' if sent != 1 else ''} on {', '.join(labels)}{where}", file=err, flush=True)
    return 0


def capture_verb(net) -> Dict[str, Tuple[Callable[[str], None], str]]:
    """The CLI verb `capture`, on the CLI's own lab."""
    import shlex

    def do_capture(line: str) -> None:
        try:
            main(shlex.split(line), lab_name=net.name)
        except SystemExit:  # argparse's own exits (none: the CLI parser has no -h) never end the lab
            pass

    return {"capture": (do_capture, "capture HOST:IF [HOST:IF ...] [-w FILE.pcapng] [--filter BPF] [--decode-vxlan] "
                                    "[--for SECONDS|--count N]: packets of several interfaces, one pcapng")}
