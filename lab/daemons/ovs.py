"""A private Open vSwitch (ovsdb-server + ovs-vswitchd) inside one lab host's namespace.

OVS_RUNDIR/OVS_DBDIR/OVS_LOGDIR point every OVS tool at the private directory, so that
`ovs-vsctl show`, `ovs-ofctl -O OpenFlow13 dump-flows br0` and `ovs-appctl ofproto/trace`
typed in the host's shell reach this instance, as on a real node.
"""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from typing import Dict

from lab.errors import BadInput, LabError

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
UNDERLAY_BRIDGE = "br-phy"  # userspace tunnelling needs the node IP on an OVS bridge
PACKAGES = {cmd: "openvswitch-switch" for cmd in
            ("ovs-vsctl", "ovs-vswitchd", "ovsdb-server", "ovsdb-tool", "ovs-ofctl", "ovs-appctl")}
PACKAGES["genl"] = "iproute2"


@lru_cache(maxsize=1)
def detect_datapath() -> str:
    """`system` where the kernel knows the ovs_datapath Generic Netlink family, else `netdev`."""
    subprocess.run(["modprobe", "-q", "openvswitch"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    probe = subprocess.run(["genl", "ctrl", "get", "name", "ovs_datapath"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return "system" if probe.returncode == 0 else "netdev"


def choose_datapath(requested: str) -> str:
    """`auto` follows the kernel; asking for a datapath the kernel lacks is bad input (nothing made)."""
    found = detect_datapath()
    if requested == "auto":
        return found
    if requested == "system" and found != "system":
        raise BadInput("--datapath system needs the openvswitch kernel module, which this kernel does not have; "
                       "use --datapath netdev or auto")
    return requested


def add_datapath_argument(parser) -> None:
    """`--datapath`, for the topologies of planes built on Open vSwitch."""
    parser.add_argument("--datapath", choices=["auto", "system", "netdev"], default="auto",
                        help="Open vSwitch datapath: kernel (system), userspace (netdev) or auto (default)")


def prepare_datapath(datapath: str) -> None:
    """The userspace datapath's internal ports (br0, tun0, br-phy) are TAP devices: make sure the
    kernel's TUN driver is there (a module on stock kernels, loaded on demand only with udev)."""
    if datapath != "netdev":
        return
    subprocess.run(["modprobe", "-q", "tun"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    if not os.path.exists("/dev/net/tun"):
        os.makedirs("/dev/net", exist_ok=True)
        subprocess.run(["mknod", "/dev/net/tun", "c", "10", "200"], stderr=subprocess.DEVNULL)
    if not os.path.exists("/dev/net/tun"):
        raise LabError("the userspace datapath needs TUN/TAP (/dev/net/tun), which this kernel lacks")


def ovs_dir(host_dir: str) -> str:
    return os.path.join(host_dir, "ovs")


def ovs_env(d: str) -> Dict[str, str]:
    """Environment that points every OVS tool at the private instance in directory d."""
    return {"OVS_RUNDIR": d, "OVS_DBDIR": d, "OVS_LOGDIR": d}


def start_script(d: str) -> str:
    """Create the database in d and start both daemons, detached, with their pidfiles there."""
    env = " ".join(f"{k}={v}" for k, v in ovs_env(d).items())
    return f"""mkdir -p {d}
export {env}
ovsdb-tool create {d}/conf.db {SCHEMA}
ovsdb-server {d}/conf.db --remote=punix:{d}/db.sock --pidfile={d}/ovsdb-server.pid \\
  --log-file={d}/ovsdb-server.log --detach --no-chdir
ovs-vsctl --no-wait init
ovs-vswitchd unix:{d}/db.sock --pidfile={d}/ovs-vswitchd.pid --log-file={d}/ovs-vswitchd.log \\
  --detach --no-chdir
"""


def vsctl(*transactions: str) -> str:
    """One atomic ovs-vsctl call out of several `--`-joined commands."""
    return "ovs-vsctl " + " -- ".join(transactions)


def underlay_mac(ip: str) -> str:
    """A stable, locally administered MAC for a node's underlay address: 02:00 + the IP's bytes."""
    return "02:00:" + ":".join(f"{int(b):02x}" for b in ip.split("."))


def underlay_device(datapath: str, nic: str) -> str:
    """The device that holds the node's underlay address."""
    return nic if datapath == "system" else UNDERLAY_BRIDGE
