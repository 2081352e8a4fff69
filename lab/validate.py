"""Checks on a lab's input before anything exists: each raises BadInput with one line naming what the user typed.

Pure: no I/O except the two path checks, which only look (stat/access) and never create.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from itertools import combinations
from typing import Dict, Tuple, Union

from lab.addressing import parse_network
from lab.errors import BadInput

Network = Union[str, ipaddress.IPv4Network]

# Ranges no lab network may touch: the kernel or every IP stack gives them a special meaning.
RESERVED: Tuple[Tuple[str, ipaddress.IPv4Network], ...] = tuple(
    (what, ipaddress.IPv4Network(cidr)) for what, cidr in (
        ('"this network" range', "0.0.0.0/8"),
        ("loopback range", "127.0.0.0/8"),
        ("link-local range", "169.254.0.0/16"),
        ("multicast range", "224.0.0.0/4"),
        ("limited broadcast address", "255.255.255.255/32"),
        ("reserved range", "240.0.0.0/4"),
    ))

# 576: the datagram size every IPv4 host must accept (RFC 791); below it TCP's default MSS of 536 no
# longer fits and ordinary tools break, while 68 is only the floor a link must carry.
MIN_MTU = 576
MAX_PORT = 65535
MAX_VNI = (1 << 24) - 1  # VXLAN's network identifier is 24 bits (RFC 7348)


def _network(value: Network, what: str) -> ipaddress.IPv4Network:
    if isinstance(value, ipaddress.IPv4Network):
        return value
    if isinstance(value, str):
        return parse_network(value, what)
    raise BadInput(f"invalid {what} {value!r}: not an IPv4 network")


def check_reserved(net: ipaddress.IPv4Network, what: str) -> None:
    """Refuse a network inside or overlapping a reserved range; "lies in" is preferred when both hold."""
    for name, reserved in RESERVED:
        if net.subnet_of(reserved):
            raise BadInput(f"{what} {net} lies in the {name} {reserved}")
    for name, reserved in RESERVED:
        if net.overlaps(reserved):
            raise BadInput(f"{what} {net} overlaps the {name} {reserved}")


def check_networks(named: Dict[str, Network]) -> None:
    """Every network outside the reserved ranges, and no two of them overlapping.

    `named` maps what the user reads ("service network (--service-network)") to a CIDR or network.
    """
    nets = {what: _network(value, what) for what, value in named.items()}
    for what, net in nets.items():
        check_reserved(net, what)
    for (what_a, a), (what_b, b) in combinations(nets.items(), 2):
        if a.overlaps(b):
            raise BadInput(f"{what_a} {a} overlaps {what_b} {b}")


def _integer(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):  # bool is an int to Python, not to a user
        raise BadInput(f"{what} {value!r} is not an integer")
    return value


def check_counts(nodes: int, pods_per_node: int) -> None:
    """--nodes and --pods-per-node as numbers a lab can be built from."""
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
        raise BadInput(f"--nodes must be at least 1, not {nodes!r}")
    if isinstance(pods_per_node, bool) or not isinstance(pods_per_node, int) or pods_per_node < 0:
        raise BadInput(f"--pods-per-node must be 0 or more, not {pods_per_node!r}")


def check_mtu(mtu: int, underlay_mtu: int, overhead: int, what: str) -> None:
    """An overlay MTU must fit the underlay's MTU together with the overlay's own header."""
    mtu = _integer(mtu, what)
    largest = _integer(underlay_mtu, "underlay MTU") - overhead
    if largest < MIN_MTU:
        raise BadInput(f"{what}: a {underlay_mtu}-byte underlay leaves {largest} bytes after the {overhead}-byte "
                       f"overlay header, below the IPv4 minimum of {MIN_MTU}")
    if mtu < MIN_MTU:
        raise BadInput(f"{what} {mtu} is below the IPv4 minimum of {MIN_MTU} (range {MIN_MTU}-{largest})")
    if mtu > largest:
        header = f"the {overhead}-byte overlay header" if overhead else "no overlay header"
        raise BadInput(f"{what} {mtu} does not fit the {underlay_mtu}-byte underlay with {header}: "
                       f"at most {largest}")


def check_port(port: int, what: str) -> None:
    port = _integer(port, what)
    if not 1 <= port <= MAX_PORT:
        raise BadInput(f"{what} {port} is out of range 1-{MAX_PORT}")


def check_vni(vni: int, what: str) -> None:
    vni = _integer(vni, what)
    if not 0 <= vni <= MAX_VNI:
        raise BadInput(f"{what} {vni} is out of range 0-{MAX_VNI}")


def check_writable_file(path: str, what: str) -> None:
    """`path` can be opened for writing as a regular file: an existing writable file, or a new one
    in an existing writable directory (an existing file needs no write access to its directory)."""
    if not path:
        raise BadInput(f"{what}: the file name is empty")
    if path.endswith(os.sep) or os.path.isdir(path):
        raise BadInput(f"{what} {path} is a directory, not a file")
    if os.path.lexists(path) and not os.path.exists(path):
        raise BadInput(f"{what} {path} is a dangling symbolic link")
    if os.path.exists(path):
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise BadInput(f"{what} {path} is not a regular file")
        if not os.access(path, os.W_OK):
            raise BadInput(f"{what} {path} is not writable")
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(parent):
        raise BadInput(f"{what} {path}: directory {parent} does not exist")
    if not os.path.isdir(parent):
        raise BadInput(f"{what} {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInput(f"{what} {path}: directory {parent} is not writable")


def check_readable_file(path: str, what: str) -> None:
    """`path` is an existing regular file this process may read."""
    if not path:
        raise BadInput(f"{what}: the file name is empty")
    if not os.path.exists(path):
        raise BadInput(f"{what} {path}: no such file")
    if os.path.isdir(path):
        raise BadInput(f"{what} {path} is a directory, not a file")
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise BadInput(f"{what} {path} is not a regular file")
    if not os.access(path, os.R_OK):
        raise BadInput(f"{what} {path} is not readable")
