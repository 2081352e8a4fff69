"""TCP and UDP echo, run inside lab hosts: `python -m lab.observe.probe serve|ask tcp|udp ...`.

A workshop or test proves transport-level reachability (not only ICMP) with it:
    server = host.popen([sys.executable, "-m", "lab.observe.probe", "serve", "tcp", "5000"])
    host.cmd(f"{sys.executable} -m lab.observe.probe ask tcp 10.129.0.2 5000 hello")  # prints "hello"
"""

from __future__ import annotations

import os
import select
import socket
import sys
import time


def serve(proto: str, port: int, count: int = 50) -> None:
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        print("ready", flush=True)
        for _ in range(count):  # bounded: it stops by itself
            if proto == "tcp":
                s.listen(1)
                conn, peer = s.accept()
                with conn:
                    data = conn.recv(4096)
                    conn.sendall(f"{data.decode()} from {peer[0]}".encode())
            else:
                data, peer = s.recvfrom(4096)
                s.sendto(f"{data.decode()} from {peer[0]}".encode(), peer)


def read_line(stream, timeout: float = 5.0) -> bytes:
    """One line from a child's pipe, or TimeoutError at the deadline (a bare readline() can block forever)."""
    deadline = time.monotonic() + timeout
    line = b""
    fd = stream.fileno()
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError(f"no complete line within {timeout}s (got {line!r})")
        chunk = os.read(fd, 1)  # one byte: nothing after the line is taken from the pipe
        if not chunk:
            raise EOFError(f"the pipe closed after {line!r}")
        line += chunk
    return line


def read_until(stream, marker: str, timeout: float = 60.0) -> str:
    """A child's output up to and including the line holding marker, or TimeoutError/EOFError at the
    deadline or the pipe's end (what `for line in proc.stdout` would block on forever)."""
    deadline = time.monotonic() + timeout
    seen = ""
    while True:
        left = deadline - time.monotonic()
        try:
            line = read_line(stream, timeout=max(left, 0.0)).decode(errors="replace")
        except (TimeoutError, EOFError) as e:
            raise type(e)(f"no {marker!r} within {timeout}s: {seen[-2000:]}") from None
        seen += line
        if marker in line:
            return seen


def ask(proto: str, ip: str, port: int, message: str, timeout: float = 3.0) -> str:
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.settimeout(timeout)
        if proto == "tcp":
            s.connect((ip, port))
            s.sendall(message.encode())
        else:
            s.sendto(message.encode(), (ip, port))
        return s.recv(4096).decode()


def main(argv) -> int:
    if len(argv) >= 3 and argv[0] == "serve":
        serve(argv[1], int(argv[2]), int(argv[3]) if len(argv) > 3 else 50)
        return 0
    if len(argv) == 5 and argv[0] == "ask":
        try:
            print(ask(argv[1], argv[2], int(argv[3]), argv[4]))
        except OSError as exc:
            print(f"no answer: {exc}")
            return 1
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
