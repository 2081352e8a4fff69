"""A lab host: a Mininet host (a shell in its own network namespace) with a private directory."""

from __future__ import annotations

import os
from typing import Dict, Optional

from mininet.link import Intf
from mininet.node import Host

from lab.paths import host_dir


def _stay(intf, node):  # our links are created inside the namespaces already
    return None


class LabHost(Host):
    """`net['pod1'].cmd(...)` works as on any Mininet host; `role` says what it stands for."""

    def __init__(self, name: str, role: str = "host", env: Optional[Dict[str, str]] = None, **params):
        self.role = role
        self.dir = host_dir(name)
        os.makedirs(self.dir, exist_ok=True)
        super().__init__(name, inNamespace=True, **params)
        exports = {"SDNLAB_HOST": name}
        exports.update(env or {})
        self.cmd("; ".join(f"export {k}={v}" for k, v in exports.items()))

    def addIntf(self, intf, port=None, moveIntfFn=_stay):  # noqa: N802 (Mininet's name)
        return super().addIntf(intf, port=port, moveIntfFn=_stay)

    def add_known_intf(self, name: str, ip: Optional[str] = None, prefix: Optional[int] = None,
                       mac: Optional[str] = None, port: Optional[int] = None) -> Intf:
        """Tell Mininet about an interface the lab created (no commands are run)."""
        intf = Intf(name, node=self, port=port, moveIntfFn=_stay, up=None)
        intf.ip, intf.prefixLen, intf.mac = ip, prefix, mac
        return intf

    def config(self, **_params):
        """Configuration is applied by the lab's own batched scripts, not per call."""
        return {}
