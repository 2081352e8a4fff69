"""UDP multicast, run inside lab hosts: `python -m lab.observe.mcast listen GROUP PORT SECONDS` joins the
group (through the route to it: a pod's `224.0.0.0/4 dev eth0`), prints `ready`, then one line per datagram
(`<text> from <source IP>`) until SECONDS pass; `send GROUP PORT TEXT [COUNT]` sends with TTL 1."""

from __future__ import annotations

import socket
import struct
import sys
import time


def listen(group: str, port: int, seconds: float) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((group, port))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton(group),
                                                                               socket.inet_aton("0.0.0.0")))
        print("ready", flush=True)
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            s.settimeout(left)
            try:
                data, peer = s.recvfrom(2048)
            except socket.timeout:
                break
            print(f"{data.decode(errors='replace')} from {peer[0]}", flush=True)


def send(group: str, port: int, text: str, count: int = 1) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        for _ in range(count):
            s.sendto(text.encode(), (group, port))
            time.sleep(0.05)


def main(argv) -> int:
    if len(argv) == 4 and argv[0] == "listen":
        listen(argv[1], int(argv[2]), float(argv[3]))
        return 0
    if len(argv) in (4, 5) and argv[0] == "send":
        send(argv[1], int(argv[2]), argv[3], int(argv[4]) if len(argv) == 5 else 1)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
