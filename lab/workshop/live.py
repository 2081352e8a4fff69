"""A running workshop lab as exercises see it: the lab's hosts (lab.livelab.LiveLab), its record
(which exercise, the answers typed, the hints shown, the inventory at start) and observations."""

from __future__ import annotations

import json
import os
import re
import shlex
import time
from typing import Callable, Dict, List, Optional

from lab import paths
from lab.errors import BadInput, LabError
from lab.livelab import LiveLab

RECORD = "workshop.json"
COURSE_DIR = ".course"  # a course's logs and kept grades, under RUN_DIR: not a lab name (a-z0-9), so no lab's directory

# labs run by this process (the workshop CLI, verify): name -> what its control socket would answer
# (Topology.control_handlers: `oc`, `plug`, `unplug`...), asked directly instead of over the socket.
_HELD: Dict[str, Dict[str, Callable[[str], str]]] = {}


def hold(name: str, handlers: Dict[str, Callable[[str], str]]) -> None:
    _HELD[name] = handlers


def release(name: str) -> None:
    _HELD.pop(name, None)


def record_path(name: str) -> str:
    return os.path.join(paths.run_dir(name), RECORD)


def read_record(name: str) -> Optional[dict]:
    try:
        with open(record_path(name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_record(name: str, record: dict) -> None:
    tmp = record_path(name) + ".tmp"
    with paths.open_private(tmp) as f:
        json.dump(record, f, indent=1)
    os.replace(tmp, record_path(name))


class ExerciseLab(LiveLab):
    """LiveLab plus what grading needs; every method observes the lab as it is now."""

    def __init__(self, name: str):
        super().__init__(name)
        self.record = read_record(name)
        if self.record is None:
            raise BadInput(f"lab {name!r} runs no workshop exercise (start one with `lab workshop start EX`)")

    @property
    def exercise_id(self) -> str:
        return self.record["exercise"]

    @property
    def answers(self) -> Dict[str, str]:
        return self.record.get("answers", {})

    @property
    def inventory(self) -> dict:
        return self.record.get("inventory", {})

    def save(self) -> None:
        write_record(self.name, self.record)

    # -- the lab's layout, from the inventory taken at start

    def node_of(self, pod: str) -> str:
        for p in self.inventory.get("pods", []):
            if p["name"] == pod:
                return p["node"]
        raise BadInput(f"no pod {pod!r} in lab {self.name!r}")

    def pods_on(self, node: str) -> List[str]:
        return [p["name"] for p in self.inventory.get("pods", []) if p["node"] == node]

    def pod(self, name: str) -> dict:
        return next(p for p in self.inventory.get("pods", []) if p["name"] == name)

    # -- observations

    def ping(self, src: str, dst_ip: str, size: int = 0, tries: int = 3) -> bool:
        """An ICMP echo answered (a few tries: the first packet of a flow may wait for ARP)."""
        extra = f"-s {size} " if size else ""  # a big ping is fragmented by the sender where its MTU says so
        for _ in range(tries):
            if " 0% packet loss" in self.sh(src, f"ping -n -c1 -W1 {extra}{dst_ip} 2>&1", check=False):
                return True
        return False

    def ofport(self, node: str, pod: str) -> str:
        return self.sh(node, f"ovs-vsctl --bare --columns=ofport find interface external_ids:sandbox={pod}").strip()

    def host_veth(self, pod: str) -> str:
        """The node-side end of the pod's eth0: the node's link whose ifindex is the pod's iflink."""
        from lab.observe import kernel
        eth0 = kernel.read(self.name, pod).link("eth0")
        peer = kernel.read(self.name, self.node_of(pod)).link_at(eth0.peer) if eth0 and eth0.peer else None
        return peer.name if peer else ""

    def flows(self, node: str, table: Optional[int] = None) -> List[str]:
        """The node's switch flows (of one table), as a dump prints them without counters."""
        from lab.observe.flows import dump_lines
        return dump_lines(self.host(node), table)

    def hit_deltas(self, node: str, action) -> Dict[tuple, int]:
        """(table, priority, match) -> packets each of node's flows counted while action ran."""
        from lab.observe.flows import hit_deltas
        return hit_deltas(self.host(node), action)

    def path(self, src: str, dst: str):
        """The packet's way through the running switches, node after node (the plane's `draw path`)."""
        from lab import planes
        return planes.get(self.plane).path(self, src, dst)

    def ask(self, verb: str, line: str) -> str:
        """What the lab's own CLI answers to `verb line` (`oc get pods`, `unplug node2`): in the process that
        runs the lab directly, else over its control socket (lab.control), so `solve` and `reset` work from
        any shell. A refusal raises with the lab's words."""
        handlers = _HELD.get(self.name)
        if handlers is None:
            from lab import control
            return control.request(self.name, verb, line)
        if verb not in handlers:
            raise LabError(f"lab {self.name!r} ({self.topology}) answers no {verb!r}")
        return handlers[verb](line)

    def request(self, src: str, ip: str, port: int, proto: str = "tcp", timeout: float = 2.0):
        """One request from src to ip:port: which pod answered, or why none did (lab.observe.request)."""
        import sys

        from lab.observe.request import _CLIENT, parse_answer
        client = os.path.join(paths.run_dir(self.name), "request_client.py")
        if not os.path.exists(client):
            with paths.open_private(client) as f:
                f.write(_CLIENT)
        out = self.sh(src, f"{sys.executable} {client} {ip} {int(port)} {proto} 1 {timeout}", check=False)
        try:
            return parse_answer(json.loads(out.strip().splitlines()[-1])[0])
        except (ValueError, IndexError):
            raise LabError(f"{src}: request to {ip}:{port} failed: {out.strip()}") from None

    def docker(self, node: str, args: str) -> str:
        from lab.docker import DaemonPaths
        url = DaemonPaths(os.path.join(paths.run_dir(self.name), node, "docker")).url
        return self.sh(node, f"DOCKER_HOST={url} docker {args}")

    def first_packet_source(self, listener: str, dev: str, bpf: str, send_from: str, send: str) -> str:
        """The source address of the first packet matching bpf that listener sees on dev while
        send_from runs send: a real capture (tcpdump), the way the notes look at NAT."""
        m = re.search(r"IP (\d+\.\d+\.\d+\.\d+)", self.first_packet(listener, dev, bpf, send_from, send))
        return m.group(1) if m else ""

    def first_packet(self, listener: str, dev: str, bpf: str, send_from: str, send: str) -> str:
        """tcpdump's line for the first packet matching bpf on listener's dev while send_from runs send."""
        out = f"/tmp/sdnlab-{self.name}-{listener}-{os.getpid()}-{int(time.time() * 1000)}.cap"
        self.sh(listener, f"(timeout 6 tcpdump -l -nni {dev} -c1 {shlex.quote(bpf)} > {out} 2>/dev/null &) ; "
                          "sleep 0.5", check=False)
        try:
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                self.sh(send_from, send, check=False)
                text = open(out).read() if os.path.exists(out) else ""
                if text.strip():
                    return text
            return ""
        finally:
            try:
                os.unlink(out)
            except OSError:
                pass
