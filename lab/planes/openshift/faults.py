"""The OpenShift lab's break/fix faults (lab.faults): its switches' flows, tun0's MTU, the userspace
datapath's checksum offload, a pod's VNID; plus the kernel's faults every plane has."""

from __future__ import annotations

import ipaddress
import re
import shlex
from typing import Dict, List

from lab.errors import BadInput, LabError
from lab.faults import ROUTE, STALE_ARP, Fault, Injected, args_or_defaults, masquerade, two_nodes
from lab.livelab import LiveLab
from lab.observe.flows import OFCTL, dump

FAULTS_USAGE = {"flow-90": "[NODE [REMOTE]]", "tun-src": "[NODE [REMOTE]]", "mtu": "[NODE [MTU]]", "tx-checksum": "[POD]",
                "vnid": "[POD [VNID]]"}


def _delete_flow(lab: LiveLab, node: str, table: int, pattern: str, what: str) -> Injected:
    found = [f for f in dump(lab.host(node), table, stats=False) if re.search(pattern, f.match)]
    if not found:
        raise LabError(f"{node}: no table-{table} flow {what} (already removed?)")
    flow = found[0].line  # without stats: add-flow takes it back as it is, cookie included
    strict = f"table={table},priority={found[0].priority}" + (f",{found[0].match}" if found[0].match else "")
    lab.sh(node, f"{OFCTL} --strict del-flows br0 {shlex.quote(strict)}")
    return Injected(f"{node}: deleted the table-{table} flow {what}: {flow}",
                    [(node, f"{OFCTL} add-flow br0 {shlex.quote(flow)}")])


def inject_flow_90(lab: LiveLab, args: List[str]) -> Injected:
    node, remote = two_nodes(lab, args, FAULTS_USAGE["flow-90"])
    subnet = lab.addresses(remote)["tun0"].network
    done = _delete_flow(lab, node, 90, rf"nw_dst={re.escape(str(subnet))}\b", f"for {remote}'s subnet {subnet}")
    done.hint = f"pods on {node} lose pods on {remote}: `trace` ends with drop in table 90"
    return done


def inject_tun_src(lab: LiveLab, args: List[str]) -> Injected:
    node, remote = two_nodes(lab, args, FAULTS_USAGE["tun-src"])
    ip = lab.underlay_ip(remote)
    done = _delete_flow(lab, node, 10, rf"tun_src={re.escape(ip)}\b", f"accepting VXLAN from {remote} ({ip})")
    done.hint = f"{node} drops what {remote} tunnels to it in table 10 (its n_packets moves)"
    return done


def inject_mtu(lab: LiveLab, args: List[str]) -> Injected:
    node, mtu = args_or_defaults(args, (lab.nodes[0] if lab.nodes else "", "1500"), FAULTS_USAGE["mtu"])
    lab.need(node, "node")
    if not mtu.isdigit() or not 576 <= int(mtu) <= 9000:
        raise BadInput(f"MTU {mtu!r}: a number from 576 to 9000")
    dev = "tun0"
    old = lab.sh(node, f"cat /sys/class/net/{dev}/mtu").strip()
    # OVS owns tun0's MTU (it puts back a bare `ip link` change): ask OVS, as a wrong node-config would
    request = lab.sh(node, "ovs-vsctl get interface tun0 mtu_request").strip()
    undo = [(node, "ovs-vsctl " + ("clear interface tun0 mtu_request" if request == "[]"
                                   else f"set interface tun0 mtu_request={request}")),
            (node, f"ip link set {dev} mtu {old}")]
    lab.sh(node, f"ovs-vsctl set interface tun0 mtu_request={mtu}")
    lab.sh(node, f"ip link set {dev} mtu {mtu}")
    return Injected(f"{node}: {dev} MTU {old} -> {mtu} (the overlay's MTU is {old}; VXLAN needs 50 bytes)", undo,
                    f"{node} sends overlay packets bigger than the tunnel can carry: large pings get no answer")


def _datapath(lab: LiveLab, node: str) -> str:
    return lab.sh(node, "ovs-vsctl get bridge br0 datapath_type").strip().strip('"') or "system"


def inject_tx_checksum(lab: LiveLab, args: List[str]) -> Injected:
    (pod,) = args_or_defaults(args, lab.pods[:1], FAULTS_USAGE["tx-checksum"])
    lab.need(pod, "pod")
    if _datapath(lab, lab.nodes[0]) != "netdev":
        raise BadInput("tx-checksum is a fault of the userspace OVS datapath (an OpenShift lab on netdev)")
    lab.sh(pod, "ethtool -K eth0 tx on >/dev/null")
    return Injected(f"{pod}: TX checksum offload on eth0 back on (ethtool -K eth0 tx on)",
                    [(pod, "ethtool -K eth0 tx off >/dev/null")],
                    f"ping from {pod} still works; its UDP and TCP arrive with bad checksums and are dropped")


VNID_LOAD = r"(load:0x[0-9a-f]+->NXM_NX_REG0\[\]|set_field:0x[0-9a-f]+->reg0)"  # as ovs-ofctl prints it


def inject_vnid(lab: LiveLab, args: List[str]) -> Injected:
    """The pod's table-20 flows (ARP and IP from its port) load another VNID into REG0: its packets
    then belong to another project, and table 80 (multitenant) isolates them from their own."""
    pods = lab.pods
    pod, vnid = args_or_defaults(args, (pods[0] if pods else "", "0x999"), FAULTS_USAGE["vnid"])
    lab.need(pod, "pod")
    try:
        wrong = int(vnid, 0)
    except ValueError:
        wrong = -1
    if not 0 <= wrong < 2 ** 24:
        raise BadInput(f"VNID {vnid!r}: a number from 0 to 0xffffff")
    ip = lab.ip_of(pod)
    node = next((n for n in lab.nodes if ipaddress.ip_address(ip) in lab.addresses(n)["tun0"].network), "")
    if not node:
        raise LabError(f"no node holds {pod}'s subnet ({ip})")
    flows = [f.line for f in dump(lab.host(node), 20, stats=False)
             if re.search(rf"(nw_src|arp_spa)={re.escape(ip)}\b", f.match) and re.search(VNID_LOAD, f.actions)]
    if not flows:
        raise LabError(f"{node}: no table-20 flow loads {pod}'s VNID (is this a multitenant or networkpolicy lab?)")
    broken = [re.sub(VNID_LOAD, f"load:{wrong:#x}->NXM_NX_REG0[]", f) for f in flows]
    if broken == flows:
        raise LabError(f"{node}: {pod}'s table-20 flows already load VNID {wrong:#x}")
    # same table, priority and match: add-flow replaces the actions, and the undo puts the old ones back
    lab.sh(node, "\n".join(f"{OFCTL} add-flow br0 {shlex.quote(f)}" for f in broken))
    return Injected(f"{node}: {pod}'s table-20 flows now load VNID {wrong:#x} into REG0 instead of its project's",
                    [(node, f"{OFCTL} add-flow br0 {shlex.quote(f)}") for f in flows],
                    f"{pod}'s packets carry another project's VNID: table 80 drops what it sends to its own project")


FAULTS: Dict[str, Fault] = {f.name: f for f in [
    Fault("flow-90", "[NODE [REMOTE]]", "NODE's table-90 flow for REMOTE's subnet deleted (default node1 node2)",
          inject_flow_90),
    Fault("tun-src", "[NODE [REMOTE]]",
          "NODE's table-10 flow accepting VXLAN from REMOTE's tun_src deleted (default node1 node2)", inject_tun_src),
    Fault("masquerade", "[NODE]", "NODE's MASQUERADE rules removed (OPENSHIFT-MASQUERADE; default node1)",
          masquerade("OPENSHIFT-MASQUERADE")),
    Fault("mtu", "[NODE [MTU]]",
          "NODE's tun0 given MTU 1500, more than VXLAN leaves of the underlay's 1500 (default node1 1500)", inject_mtu),
    Fault("tx-checksum", "[POD]",
          "userspace datapath: TX checksum offload back on for POD's eth0 (default the first pod)", inject_tx_checksum),
    STALE_ARP,
    ROUTE,
    Fault("vnid", "[POD [VNID]]", "multitenant: POD's table-20 flows load a wrong VNID (default the first pod, 0x999)",
          inject_vnid),
]}
