"""Turn an OpenShift cluster model into hosts, links, per-node OVS, flows, routes and iptables."""

from __future__ import annotations

import ipaddress
import os
from typing import Callable

from lab import ovs, underlay
from lab.net import LabNet
from lab.observe.flows import as_stored
from lab.openshift.flows import flows_file_text, render_node_flows
from lab.openshift.iptables import render_node_iptables
from lab.openshift.model import Cluster
from lab.paths import host_dir
from lab.shell import run_scripts, start_scripts, wait_scripts

UNDERLAY_HOST = "underlay"


def build(net: LabNet, cluster: Cluster, progress: Callable[[str], None] = print) -> None:
    dp = net.datapath
    cn = cluster.network
    under_len = ipaddress.ip_network(cluster.underlay).prefixlen
    progress(f"*** Creating namespaces: {len(cluster.hostsubnets)} nodes, {len(cluster.pods)} pods, "
             f"external host {cluster.external.name}")
    # nodes first, so their Open vSwitch daemons boot while the pod namespaces are being made
    net.add_hosts([{"name": UNDERLAY_HOST, "role": "underlay", "switch": True}])
    nodes = net.add_hosts({"name": hs.name, "role": "node", "env": ovs.ovs_env(ovs.ovs_dir(host_dir(hs.name)))}
                          for hs in cluster.hostsubnets)
    ext = net.add_hosts([{"name": cluster.external.name, "role": "external"}])[0]
    progress(f"*** Starting Open vSwitch in every node ({dp} datapath), wiring the underlay")
    booting = start_scripts(
        [(net[UNDERLAY_HOST], "underlay", underlay.segment_script([(h, "eth0") for h in nodes + [ext]]))]
        + [(node, "start", ovs.start_script(ovs.ovs_dir(node.dir)) + "ip link set lo up\n"
            "sysctl -qw net.ipv4.ip_forward=1\n") for node in nodes])
    net.add_hosts({"name": p.name, "role": "pod"} for p in cluster.pods)

    progress("*** Wiring pods: veth pairs into their nodes, addresses and routes")
    jobs = []
    for pod in cluster.pods:
        hs = cluster.hostsubnet(pod.node)
        prefix = ipaddress.ip_network(hs.subnet).prefixlen
        script = (f"ip link add eth0 address {pod.mac} mtu {cn.mtu} type veth peer name {pod.veth} mtu {cn.mtu} "
                  f"netns {net[pod.node].pid}\n"
                  f"ip link set lo up\nip addr add {pod.ip}/{prefix} dev eth0\nip link set eth0 up\n"
                  f"ip route add default via {hs.gateway}\nip route add {cn.cidr} dev eth0\n"
                  f"ip route add 224.0.0.0/4 dev eth0\n")
        if dp == "netdev":
            script += ovs.offload_off(["eth0"])
        jobs.append((net[pod.name], "configure", script))
        net[pod.name].add_known_intf("eth0", ip=pod.ip, prefix=prefix, mac=pod.mac, port=0)
    run_scripts(jobs)
    wait_scripts(booting)

    progress("*** Configuring br0, installing the openshift-sdn 3.11 flows, tun0, routes and iptables")
    jobs = []
    for node in nodes:
        hs = cluster.hostsubnet(node.name)
        flows = render_node_flows(cluster, node.name)
        flows_path = os.path.join(node.dir, "flows.txt")
        with open(flows_path, "w") as f:
            f.write(flows_file_text(flows))
        with open(os.path.join(node.dir, "flows.expected"), "w") as f:  # as the switch will show them
            f.write(flows_file_text(as_stored(flows)))
        with open(os.path.join(node.dir, "iptables.rules"), "w") as f:
            f.write(render_node_iptables(cn))
        ports = [
            "add-br br0",
            f"set bridge br0 datapath_type={dp} fail_mode=secure protocols=OpenFlow13",
            "add-port br0 vxlan0",
            f"set interface vxlan0 type=vxlan options:remote_ip=flow options:key=flow "
            f"options:dst_port={cn.vxlan_port} ofport_request=1",
            "add-port br0 tun0",
            f"set interface tun0 type=internal ofport_request=2 mtu_request={cn.mtu}",
        ]
        script = "ip link set eth0 up\n"
        for pod in cluster.pods_on(node.name):
            script += f"ip link set {pod.veth} up\n"
            ports += [f"add-port br0 {pod.veth}",
                      f'set interface {pod.veth} ofport_request={pod.ofport} external-ids:ip="{pod.ip}" '
                      f'external-ids:sandbox="{pod.name}"']
        prefix = ipaddress.ip_network(hs.subnet).prefixlen
        mac = ovs.underlay_mac(hs.host_ip)
        script += ovs.vsctl(*(ovs.underlay_bridge(dp, "eth0", mac) + ports)) + "\n"
        script += ovs.underlay_address(dp, "eth0", f"{hs.host_ip}/{under_len}", mac)
        script += ovs.tunnel_neighbours_script(
            dp, [(r.host_ip, ovs.underlay_mac(r.host_ip)) for r in cluster.remote_hostsubnets(node.name)])
        script += "ovs-ofctl -O OpenFlow13 set-frags br0 nx-match\n"
        script += f"ovs-ofctl -O OpenFlow13 --bundle replace-flows br0 {flows_path}\n"
        # noprefixroute: openshift-sdn deletes the local-subnet route tun0's address would add
        script += f"ip addr add {hs.gateway}/{prefix} dev tun0 noprefixroute\nip link set tun0 mtu {cn.mtu} up\n"
        script += f"ip route add {cn.cidr} dev tun0 scope link\nip route add {cn.service_network} dev tun0\n"
        script += f"iptables-restore {os.path.join(node.dir, 'iptables.rules')}\n"
        if dp == "netdev":
            script += ovs.offload_off(["tun0", ovs.UNDERLAY_BRIDGE])
        jobs.append((node, "configure", script))
        node.add_known_intf(ovs.underlay_device(dp, "eth0"), ip=hs.host_ip, prefix=under_len, port=0)
        node.add_known_intf("tun0", ip=hs.gateway, prefix=prefix, port=2)
    script = underlay.address_script(f"{cluster.external.ip}/{under_len}")
    if dp == "netdev":
        script += ovs.offload_off(["eth0"])
    jobs.append((ext, "configure", script))
    ext.add_known_intf("eth0", ip=cluster.external.ip, prefix=under_len, port=0)
    run_scripts(jobs)

    progress("*** Verifying: every br0 holds exactly its rendered flows; the underlay answers")
    jobs = []
    for node in nodes:
        hs = cluster.hostsubnet(node.name)
        expected = os.path.join(node.dir, "flows.expected")
        script = (f"ovs-ofctl -O OpenFlow13 diff-flows br0 {expected} > {node.dir}/flows.diff || true\n"
                  f'[ ! -s {node.dir}/flows.diff ] || {{ echo "br0 differs from its rendered flows:"; '
                  f"cat {node.dir}/flows.diff; exit 1; }}\n")
        peers = " ".join(r.host_ip for r in cluster.remote_hostsubnets(node.name))
        script += (f"pids=; for ip in {peers}; do ping -c1 -W2 -q $ip >/dev/null & pids=\"$pids $!:$ip\"; done\n"
                   'for p in $pids; do wait ${p%%:*} || { echo "underlay: no answer from ${p#*:}"; exit 1; }; done\n')
        jobs.append((node, "verify", script))
    run_scripts(jobs)
