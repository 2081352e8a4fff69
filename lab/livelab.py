"""A running lab reached by its name alone, from any shell: its hosts with their roles (recorded by the
lab when it made them), a shell command in any of them, and host handles that answer `.cmd()` as a
Mininet host does, so the observe helpers (lab.observe) work on it as they do inside the lab's process."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
from typing import Dict, List, Optional

from lab import paths
from lab.errors import BadInput, LabError

COMMAND_TIMEOUT = 20.0
HOSTS_RECORD = "hosts.json"  # name -> {"role", "env", "ip"}: written by lab.net.LabNet as it makes hosts


def natural(name: str) -> tuple:
    """pod2 before pod10."""
    return tuple(int(w) if w.isdigit() else w for w in re.split(r"(\d+)", name))


def read_hosts(name: str) -> Dict[str, dict]:
    try:
        with open(os.path.join(paths.run_dir(name), HOSTS_RECORD)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def write_hosts(name: str, hosts: Dict[str, dict]) -> None:
    path = os.path.join(paths.run_dir(name), HOSTS_RECORD)
    tmp = path + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(hosts, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


class LiveHost:
    """One host of a running lab, as a Mininet host looks to the observe helpers: name, dir, cmd()."""

    def __init__(self, lab: "LiveLab", name: str):
        self.lab, self.name = lab, name
        self.dir = os.path.join(paths.run_dir(lab.name), name)

    def cmd(self, command: str) -> str:
        """The command's output, stdout and stderr together (as Mininet's cmd)."""
        r = self.lab.run(self.name, command)
        return r.stdout + r.stderr

    def __repr__(self) -> str:
        return f"<LiveHost {self.lab.name}/{self.name}>"


class LiveLab:
    """A running lab reached by its name alone: its hosts, a shell command in any of them."""

    def __init__(self, name: str):
        self.name = paths.check_name(name)
        try:
            with open(os.path.join(paths.run_dir(name), "info.json")) as f:
                info = json.load(f)
        except (OSError, ValueError):
            raise BadInput(f"no lab named {name!r} runs here (see `lab ps`)") from None
        self.topology = info.get("topology", "?")
        self.plane = info.get("plane", "")
        prefix = paths.netns_name("", name)
        self.records = read_hosts(name)
        bound = [h for h in self.records if os.path.exists(paths.netns_path(h, name))]
        if not bound:  # a lab of a release that did not record its hosts: its binds
            from lab import cleanup
            bound = [os.path.basename(p)[len(prefix):] for p in cleanup.recorded_binds(name) if os.path.exists(p)]
        self.hosts = sorted(bound, key=natural)
        if not self.hosts:
            raise BadInput(f"lab {name!r} has no namespaces (stale? see `lab ps`)")

    def role(self, host: str) -> str:
        return self.records.get(host, {}).get("role", "host")

    def of_role(self, role: str) -> List[str]:
        return [h for h in self.hosts if self.role(h) == role]

    @property
    def nodes(self) -> List[str]:
        return self.of_role("node")

    @property
    def pods(self) -> List[str]:
        return self.of_role("pod")

    def need(self, host: str, kind: str = "host") -> str:
        if host not in self.hosts or (kind != "host" and self.role(host) != kind):
            known = self.hosts if kind == "host" else self.of_role(kind)
            raise BadInput(f"lab {self.name!r} has no {kind} {host!r} ({kind}s: {', '.join(known) or 'none'})")
        return host

    def host(self, name: str) -> LiveHost:
        return LiveHost(self, self.need(name))

    def run(self, host: str, script: str) -> subprocess.CompletedProcess:
        """A shell script in the host's namespace, with the environment the lab gave the host's own shell."""
        env = dict(os.environ, **self.records.get(host, {}).get("env", {}), SDNLAB_HOST=host)
        return subprocess.run(["ip", "netns", "exec", paths.netns_name(host, self.name), "sh", "-c", script],
                              env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)

    def sh(self, host: str, script: str, check: bool = True) -> str:
        """A shell script in the host's namespace; its output (a failure raises with the host's own words)."""
        r = self.run(host, script)
        if check and r.returncode != 0:
            raise LabError(f"{host}: `{script}` failed: {(r.stderr or r.stdout).strip()}")
        return r.stdout

    def addresses(self, host: str) -> Dict[str, ipaddress.IPv4Interface]:
        """dev -> its first IPv4 address with prefix."""
        from lab.observe import kernel
        found: Dict[str, ipaddress.IPv4Interface] = {}
        for a in kernel.read(self.name, self.need(host)).addresses:
            if a.family == 4:
                found.setdefault(a.dev, ipaddress.IPv4Interface(a.cidr))
        return found

    def recorded_ip(self, host: str) -> Optional[str]:
        return self.records.get(host, {}).get("ip") or None

    def underlay_ip(self, node: str) -> str:
        """The node's address on the underlay, as the lab's address book has it."""
        ip = self.recorded_ip(node)
        if ip:
            return ip
        addrs = self.addresses(node)
        if "eth0" in addrs:
            return str(addrs["eth0"].ip)
        raise LabError(f"{node} has no underlay address")

    def ip_of(self, target: str) -> str:
        """A host of the lab (a node's underlay address, another host's own) or an IPv4 address."""
        if target in self.hosts:
            if self.role(target) == "node":
                return self.underlay_ip(target)
            addrs = self.addresses(target)
            if "eth0" in addrs:
                return str(addrs["eth0"].ip)
            ip = self.recorded_ip(target)
            if ip:
                return ip
            raise LabError(f"{target} has no address")
        try:
            return str(ipaddress.ip_address(target))
        except ValueError:
            raise BadInput(f"{target!r} is neither a host of lab {self.name!r} nor an IPv4 address") from None
