"""Before anything is created: root, and the OS tools the lab drives."""

from __future__ import annotations

import os
import shutil
from typing import Dict, Optional

from lab.errors import MissingRequirement

# command -> Debian package that provides it: what every lab needs; topologies add their own
CORE = {
    "mnexec": "mininet", "tcpdump": "tcpdump", "traceroute": "traceroute", "ping": "iputils-ping",
    "iptables-restore": "iptables", "ethtool": "ethtool", "ip": "iproute2", "bridge": "iproute2",
}
PATH_EXTRA = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def require_root() -> None:
    if os.geteuid() != 0:
        raise MissingRequirement("sdnlab builds namespaces, links and switches and must run as root: try `sudo lab ...`")


def missing_packages(extra: Optional[Dict[str, str]] = None) -> list:
    path = os.pathsep.join([os.environ.get("PATH", "")] + list(PATH_EXTRA))
    commands = {**CORE, **(extra or {})}
    return sorted({pkg for cmd, pkg in commands.items() if shutil.which(cmd, path=path) is None})


def require_packages(extra: Optional[Dict[str, str]] = None) -> None:
    """The core's commands and `extra` (a topology's: command -> package) must be installed."""
    missing = missing_packages(extra)
    if missing:
        raise MissingRequirement(
            f"missing OS packages: {', '.join(missing)}; install them with: "
            f"apt-get install -y {' '.join(missing)}  (or run ./sdnlab, which installs everything)")
    for directory in PATH_EXTRA:  # sudo's PATH may lack the sbin directories
        if directory not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = os.environ.get("PATH", "") + os.pathsep + directory
