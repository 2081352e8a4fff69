"""Where the lab keeps its private state: one run directory, and namespace names under /var/run/netns."""

import os

from lab import PREFIX

RUN_DIR = os.environ.get("SDNLAB_RUN_DIR", f"/run/{PREFIX}")
NETNS_DIR = "/var/run/netns"
LOCK_FILE = os.path.join(RUN_DIR, "lab.pid")


def netns_name(host: str) -> str:
    """The name under which `ip netns exec` reaches a lab host."""
    return f"{PREFIX}-{host}"


def host_dir(host: str) -> str:
    return os.path.join(RUN_DIR, host)
