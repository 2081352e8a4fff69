"""Where a lab keeps its private state, by lab name.

Every lab has a name (`lab run --name NAME`; default `sdnlab`, or $SDNLAB_NAME). Its namespaces are
bound as /var/run/netns/<name>-<host>, its private files live in RUN_DIR/<name>/, and its lock is
RUN_DIR/<name>.lock, so two labs never share a kernel object or a file.
"""

import os
import re

from lab import PREFIX
from lab.errors import BadInput

RUN_DIR = os.environ.get("SDNLAB_RUN_DIR", f"/run/{PREFIX}")
NETNS_DIR = "/var/run/netns"
DEFAULT_NAME = PREFIX
NAME_RE = re.compile(r"[a-z][a-z0-9]{0,11}")  # short: it prefixes namespace and veth-free names; fullmatch only

_current = {"name": os.environ.get("SDNLAB_NAME") or DEFAULT_NAME}


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):  # match with $ lets "x\n" through
        raise BadInput(f"invalid lab name {name!r}: 1 to 12 characters, a-z then a-z or 0-9")
    return name


def lab_name() -> str:
    """The lab this process works on."""
    return _current["name"]


def set_lab_name(name: str) -> None:
    _current["name"] = check_name(name)


def run_dir(name: str = "") -> str:
    return os.path.join(RUN_DIR, name or lab_name())


def lock_file(name: str = "") -> str:
    return os.path.join(RUN_DIR, f"{name or lab_name()}.lock")


def netns_name(host: str, name: str = "") -> str:
    """The name under which `ip netns exec` reaches a lab host."""
    return f"{name or lab_name()}-{host}"


def netns_path(host: str, name: str = "") -> str:
    return os.path.join(NETNS_DIR, netns_name(host, name))


def host_dir(host: str) -> str:
    return os.path.join(run_dir(), host)


def open_private(path: str, mode: str = "w"):
    """A lab record opened for writing, born 0600 (records hold the lab's state: for root only)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)  # a record made earlier with another mode
    return open(fd, mode)
