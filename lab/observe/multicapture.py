"""Several interfaces of a lab captured at once: one tcpdump per interface inside its host's network
namespace (`ip netns exec NS tcpdump -w -`), their pcap streams read by a thread each, the frames handed on
interleaved by time. A frame is held HOLD_S before it is handed on, so a frame of a slower stream that is
older still comes first; at the end every frame still held is handed on in order."""

from __future__ import annotations

import heapq
import os
import queue
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

from lab.errors import BadInput, LabError
from lab.observe import pcapstream

START_S = 5.0  # tcpdump says "listening on" and writes its file header within this
STOP_S = 3.0  # after SIGINT, tcpdump writes what it holds and exits within this
HOLD_S = 0.25  # a frame waits this long for older frames of other interfaces
BUFFER_KIB = 16384  # tcpdump -B: the kernel ring per interface (a burst waits there while we write)


@dataclass(frozen=True)
class Point:
    """One interface of one host: `node1:eth0` (label), in namespace `netns`."""

    host: str
    intf: str
    netns: str

    @property
    def label(self) -> str:
        return f"{self.host}:{self.intf}"


class Source:
    """One tcpdump on one interface, writing pcap to its stdout; started and checked by start()."""

    def __init__(self, point: Point, bpf: str = ""):
        self.point, self.bpf = point, bpf
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.header: Optional[pcapstream.Header] = None
        self.error = ""
        self.dropped = 0  # packets the kernel dropped (tcpdump's last words: its ring was full)

    def command(self) -> List[str]:
        cmd = ["ip", "netns", "exec", self.point.netns, "tcpdump", "--immediate-mode", "-U", "-n", "-Z", "root",
               "--time-stamp-precision=nano", "-B", str(BUFFER_KIB), "-i", self.point.intf, "-w", "-"]
        return cmd + ([self.bpf] if self.bpf else [])

    def spawn(self) -> None:
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, bufsize=0, start_new_session=False)

    def wait_ready(self, deadline: float) -> None:
        """Until tcpdump listens and its file header is read; a refusal raises with tcpdump's own words."""
        proc = self.proc
        assert proc is not None and proc.stdout is not None and proc.stderr is not None
        err = b""
        while b"listening on" not in err:
            left = deadline - time.monotonic()
            if left <= 0 or proc.poll() is not None:
                ready, _, _ = select.select([proc.stderr], [], [], 0.2)  # tcpdump's last words
                err += os.read(proc.stderr.fileno(), 4096) if ready else b""
                self._refused(err.decode(errors="replace"), timed_out=left <= 0)
            ready, _, _ = select.select([proc.stderr], [], [], min(left, 0.1))
            if ready:
                chunk = os.read(proc.stderr.fileno(), 4096)
                err += chunk
                if not chunk:
                    proc.wait(timeout=STOP_S)
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            self._refused("no pcap header from tcpdump", timed_out=True)
        self.header = pcapstream.read_header(proc.stdout)  # type: ignore[arg-type]

    def _refused(self, text: str, timed_out: bool) -> None:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and "listening on" not in ln]
        why = lines[-1] if lines else ("did not start in time" if timed_out else "exited")
        why = why.removeprefix("tcpdump: ")
        if self.bpf and ("filter" in why or "syntax" in why):
            raise BadInput(f"--filter {self.bpf!r}: {why}")
        raise LabError(f"tcpdump on {self.point.label}: {why}")

    def interrupt(self) -> None:
        """tcpdump writes what it holds and exits (as at Ctrl-C)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self.interrupt()
        try:
            proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_S)
        if proc.stderr is not None and self.header is not None:
            self.dropped = dropped(_rest(proc.stderr))
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def _rest(pipe) -> str:
    """What an exited process left in its pipe (it is closed at the other end: no wait)."""
    data = b""
    while select.select([pipe], [], [], 0)[0]:
        chunk = os.read(pipe.fileno(), 65536)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def dropped(stderr: str) -> int:
    """From tcpdump's summary at exit: `N packets dropped by kernel`."""
    for line in stderr.splitlines():
        words = line.split()
        if line.endswith("packets dropped by kernel") and words[0].isdigit():
            return int(words[0])
    return 0


Emit = Callable[[int, pcapstream.Frame], None]  # (interface index, frame)


class MultiCapture:
    """`with MultiCapture(points, bpf) as cap: cap.run(emit, stop, seconds=, count=)`."""

    def __init__(self, points: List[Point], bpf: str = ""):
        self.sources = [Source(p, bpf) for p in points]
        self._queue: "queue.Queue[Tuple[int, Optional[pcapstream.Frame]]]" = queue.Queue()
        self._threads: List[threading.Thread] = []
        self.sent = 0  # frames handed on so far (also when emit raised: a reader of a pipe went away)

    def __enter__(self) -> "MultiCapture":
        try:
            for s in self.sources:
                s.spawn()
            deadline = time.monotonic() + START_S
            for s in self.sources:
                s.wait_ready(deadline)
        except BaseException:
            self.close()
            raise
        for ifid, s in enumerate(self.sources):
            t = threading.Thread(target=self._read, args=(ifid, s), daemon=True, name=f"capture-{s.point.label}")
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for s in self.sources:
            s.interrupt()
        for s in self.sources:
            s.close()
        for t in self._threads:
            t.join(timeout=STOP_S)

    @property
    def linktypes(self) -> List[int]:
        return [s.header.linktype if s.header else 1 for s in self.sources]

    def _read(self, ifid: int, source: Source) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))
        assert source.proc is not None and source.proc.stdout is not None and source.header is not None
        try:
            for frame in pcapstream.frames(source.proc.stdout, source.header):  # type: ignore[arg-type]
                self._queue.put((ifid, frame))
        except (OSError, ValueError) as exc:  # a stream cut short (tcpdump killed): what came is kept
            source.error = str(exc)
        finally:
            self._queue.put((ifid, None))

    def _take(self, timeout: float) -> List[Tuple[int, Optional[pcapstream.Frame]]]:
        """What the readers have queued: waits up to `timeout` for the first item, not for more."""
        items = []
        try:
            items.append(self._queue.get(timeout=timeout))
            while True:
                items.append(self._queue.get_nowait())
        except queue.Empty:
            return items

    def run(self, emit: Emit, stop: threading.Event, seconds: Optional[float] = None,
            count: Optional[int] = None, hold_s: float = HOLD_S) -> int:
        """Hands frames to emit(ifid, frame) in time order until `stop` is set, `seconds` have passed,
        `count` frames went out or every tcpdump has ended; returns how many went out."""
        heap: List[Tuple[int, int, int, pcapstream.Frame]] = []
        alive, seq = len(self.sources), 0
        end = time.monotonic() + seconds if seconds is not None else None
        drain_until: Optional[float] = None
        while True:
            for ifid, frame in self._take(0.05):
                if frame is None:
                    alive -= 1
                else:
                    heapq.heappush(heap, (frame.timestamp_ns, ifid, seq, frame))
                    seq += 1
            now = time.monotonic()
            if drain_until is None and (stop.is_set() or (end is not None and now >= end) or alive == 0):
                drain_until = now + STOP_S  # what tcpdump still holds comes out as it exits
                for s in self.sources:
                    s.interrupt()
            finished = drain_until is not None and (alive == 0 or now >= drain_until)
            cutoff = None if finished else time.time_ns() - int(hold_s * 1e9)
            while heap and (cutoff is None or heap[0][0] <= cutoff):
                _ts, ifid, _seq, frame = heapq.heappop(heap)
                emit(ifid, frame)
                self.sent += 1
                if count is not None and self.sent >= count:
                    return self.sent
            if finished:
                return self.sent
