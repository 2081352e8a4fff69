"""A private Open vSwitch (ovsdb-server + ovs-vswitchd) inside one lab host's namespace.

OVS_RUNDIR/OVS_DBDIR/OVS_LOGDIR point every OVS tool at the private directory, so that
`ovs-vsctl show`, `ovs-ofctl -O OpenFlow13 dump-flows br0` and `ovs-appctl ofproto/trace`
typed in the host's shell reach this instance, as on a real node.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from functools import lru_cache
from typing import Dict, List

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


def underlay_bridge(datapath: str, nic: str, mac: str) -> List[str]:
    """ovs-vsctl commands for the userspace datapath's underlay bridge (none for the kernel datapath).

    Userspace tunnelling needs the node's address on an OVS bridge: the NIC joins a netdev bridge
    and the address goes on the bridge's internal port, so OVS finds route and neighbour itself.
    """
    if datapath == "system":
        return []
    return [f"add-br {UNDERLAY_BRIDGE}",
            f"set bridge {UNDERLAY_BRIDGE} datapath_type=netdev other_config:hwaddr={mac}",
            f"add-port {UNDERLAY_BRIDGE} {nic}"]


def underlay_address(datapath: str, nic: str, cidr: str, mac: str) -> str:
    """Shell commands that give the node its underlay address (and a stable MAC)."""
    if datapath == "system":
        return f"ip link set {nic} address {mac} up\nip addr add {cidr} dev {nic}\n"
    return f"ip addr add {cidr} dev {UNDERLAY_BRIDGE}\nip link set {UNDERLAY_BRIDGE} up\n"


def tunnel_neighbours_script(datapath: str, peers) -> str:
    """Userspace datapath: seed OVS's tunnel neighbour cache, else a tunnel's first packet is lost to ARP."""
    if datapath == "system":
        return ""
    return "".join(f"ovs-appctl tnl/neigh/set {UNDERLAY_BRIDGE} {ip} {mac} >/dev/null\n" for ip, mac in peers)


def underlay_mac(ip: str) -> str:
    """A stable, locally administered MAC for a node's underlay address: 02:00 + the IP's bytes."""
    return "02:00:" + ":".join(f"{int(b):02x}" for b in ip.split("."))


def underlay_device(datapath: str, nic: str) -> str:
    """The device that holds the node's underlay address."""
    return nic if datapath == "system" else UNDERLAY_BRIDGE


def offload_off(devices) -> str:
    """TX checksum offload breaks TCP/UDP through the userspace datapath (ICMP hides it): the kernel
    hands OVS packets whose checksum it meant to finish later. Needed where a kernel stack transmits
    into OVS: tap ports (tun0, br-phy) and the far ends of veths OVS reads (pod eth0, ext eth0)."""
    return "".join(f"ethtool -K {shlex.quote(d)} tx off >/dev/null\n" for d in devices)
