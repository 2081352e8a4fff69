"""Ask a service or a pod from a lab host and say which pod answered (HTTP over TCP, or a UDP datagram).

The lab's pods answer with their name on the first line (lab/planes/openshift/podserver.py). Every request
has a timeout; a refusal (TCP RST or ICMP port unreachable, e.g. kube-proxy's REJECT) is reported as such.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import List, Optional, Tuple

from lab import paths
from lab.errors import BadInput, LabError

# one client process for many requests, each a new connection from a new source port (new conntrack entry)
_CLIENT = r'''
import json, socket, sys
ip, port, proto, count, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
out = []
for _ in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(timeout)
    local = ""
    try:
        if proto == "tcp":
            s.bind(("", 0))  # the source port is known before the connection, answered or not
            local = "%s:%d" % s.getsockname()
            s.connect((ip, port))
            local = "%s:%d" % s.getsockname()
            s.sendall(b"GET / HTTP/1.0\r\nHost: lab\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
        else:
            s.connect((ip, port))
            local = "%s:%d" % s.getsockname()
            s.send(b"who")
            body = s.recv(2048)
        out.append({"answer": body.decode(errors="replace"), "local": local})
    except ConnectionRefusedError:
        out.append({"error": "refused", "local": local})
    except socket.timeout:
        out.append({"error": "timeout", "local": local})
    except OSError as exc:
        out.append({"error": exc.strerror or str(exc), "local": local})
    finally:
        s.close()
print(json.dumps(out))
'''


@dataclass(frozen=True)
class Answer:
    pod: Optional[str]  # the pod that answered (first line of its answer), None if none did
    client: str = ""  # the source address the pod saw, IP:PORT (after any NAT)
    error: str = ""  # "refused", "timeout", or the socket error
    local: str = ""  # the client's own address, IP:PORT (its source port: the connection's conntrack key)

    @property
    def ok(self) -> bool:
        return self.pod is not None


def parse_answer(item: dict) -> Answer:
    if "error" in item:
        return Answer(None, error=item["error"], local=item.get("local", ""))
    lines = item["answer"].splitlines()
    client = next((line.split(" ", 1)[1] for line in lines[1:] if line.startswith("client ")), "")
    return Answer(lines[0] if lines else None, client, "" if lines else "empty answer", item.get("local", ""))


def requests(host, ip: str, port: int, proto: str = "tcp", count: int = 1, timeout: float = 2.0) -> List[Answer]:
    """`count` requests from `host` to ip:port, each on a new connection; one Answer each."""
    if proto not in ("tcp", "udp"):
        raise LabError(f"request: protocol must be tcp or udp, not {proto!r}")
    client = os.path.join(host.dir, "request_client.py")
    if not os.path.exists(client):  # a file: a multi-line program cannot go through the host's shell line
        with paths.open_private(client) as f:
            f.write(_CLIENT)
    out = host.cmd(f"{sys.executable} {client} {ip} {port} {proto} {count} {timeout}")
    try:
        items = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise LabError(f"{host.name}: request to {ip}:{port} failed: {out.strip()}") from None
    return [parse_answer(i) for i in items]


def request(host, ip: str, port: int, proto: str = "tcp", timeout: float = 2.0) -> Answer:
    """One request: which pod answered, or why none did."""
    return requests(host, ip, port, proto, 1, timeout)[0]


REQUEST_USAGE = "usage: request <host> <service[.namespace]|pod|node|IP>:PORT [tcp|udp] [-c COUNT] [-t SECONDS]"


def split_target(target: str) -> Tuple[str, int]:
    """`web:80` -> ("web", 80); the port is checked before anything is sent."""
    host, colon, port = target.rpartition(":")
    if not colon or not host:
        raise BadInput(f"request: {target!r} needs a port, e.g. web:80 ({REQUEST_USAGE})")
    number = int(port) if port.isdigit() else 0
    if not 1 <= number <= 65535:
        raise BadInput(f"request: a port is 1..65535, not {port!r}")
    return host, number
