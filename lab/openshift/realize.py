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
from lab.shell import run_scripts

UNDERLAY_HOST = "underlay"


def build(net: LabNet, cluster: Cluster, progress: Callable[[str], None] = print) -> None:
    dp = net.datapath
    cn = cluster.network
    under_len = ipaddress.ip_network(cluster.underlay).prefixlen
    progress(f"*** Creating namespaces: {len(cluster.hostsubnets)} nodes, {len(cluster.pods)} pods, "
             f"external host {cluster.external.name}")
    net.add_hosts([{"name": UNDERLAY_HOST, "role": "underlay"}])
    nodes = net.add_hosts({"name": hs.name, "role": "node", "env": ovs.ovs_env(host_dir(hs.name))}
                          for hs in cluster.hostsubnets)
    pods = net.add_hosts({"name": p.name, "role": "pod"} for p in cluster.pods)
    ext = net.add_hosts([{"name": cluster.external.name, "role": "external"}])[0]
    by_name = {h.name: h for h in net.hosts}

    progress(f"*** Starting Open vSwitch in every node ({dp} datapath), wiring the underlay and pod veths")
    jobs = [(by_name[UNDERLAY_HOST], "underlay", underlay.segment_script(nodes + [ext]))]
    for node in nodes:
        script = ovs.start_script(node.dir)
        for pod in cluster.pods_on(node.name):
            script += (f"ip link add {pod.veth} mtu {cn.mtu} type veth peer name eth0 address {pod.mac} "
                       f"mtu {cn.mtu} netns {by_name[pod.name].pid}\nip link set {pod.veth} up\n")
        script += "ip link set lo up\nsysctl -qw net.ipv4.ip_forward=1\n"
        jobs.append((node, "start", script))
    run_scripts(jobs)

    progress("*** Configuring br0, installing the openshift-sdn 3.11 flows, tun0, routes and iptables")
    jobs = []
    for node in nodes:
        hs = cluster.hostsubnet(node.name)
        flows_path = os.path.join(node.dir, "flows.txt")
        with open(flows_path, "w") as f:
            f.write(flows_file_text(render_node_flows(cluster, node.name)))
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
        for pod in cluster.pods_on(node.name):
            ports += [f"add-port br0 {pod.veth}",
                      f'set interface {pod.veth} ofport_request={pod.ofport} external-ids:ip="{pod.ip}" '
                      f'external-ids:sandbox="{pod.name}"']
        prefix = ipaddress.ip_network(hs.subnet).prefixlen
        script = ovs.underlay_script(dp, "eth0", f"{hs.host_ip}/{under_len}", ovs.underlay_mac(hs.host_ip))
        script += ovs.vsctl(*ports) + "\n"
        script += ovs.tunnel_neighbours_script(
            dp, [(r.host_ip, ovs.underlay_mac(r.host_ip)) for r in cluster.remote_hostsubnets(node.name)])
        script += "ovs-ofctl -O OpenFlow13 set-frags br0 nx-match\n"
        script += f"ovs-ofctl -O OpenFlow13 --bundle replace-flows br0 {flows_path}\n"
        # noprefixroute: openshift-sdn deletes the local-subnet route tun0's address would add
        script += f"ip addr add {hs.gateway}/{prefix} dev tun0 noprefixroute\nip link set tun0 mtu {cn.mtu} up\n"
        script += f"ip route add {cn.cidr} dev tun0 scope link\nip route add {cn.service_network} dev tun0\n"
        script += f"iptables-restore {os.path.join(node.dir, 'iptables.rules')}\n"
        if dp == "netdev":
            script += ovs.offload_off(["tun0", "eth0", ovs.UNDERLAY_BRIDGE] + [p.veth for p in cluster.pods_on(node.name)])
        jobs.append((node, "configure", script))
        node.add_known_intf(ovs.underlay_device(dp, "eth0"), ip=hs.host_ip, prefix=under_len, port=0)
        node.add_known_intf("tun0", ip=hs.gateway, prefix=prefix, port=2)
    for pod in cluster.pods:
        host = by_name[pod.name]
        gw = cluster.hostsubnet(pod.node).gateway
        prefix = ipaddress.ip_network(cluster.hostsubnet(pod.node).subnet).prefixlen
        script = (f"ip link set lo up\nip addr add {pod.ip}/{prefix} dev eth0\nip link set eth0 up\n"
                  f"ip route add default via {gw}\nip route add {cn.cidr} dev eth0\n"
                  f"ip route add 224.0.0.0/4 dev eth0\n")
        if dp == "netdev":
            script += ovs.offload_off(["eth0"])
        jobs.append((host, "configure", script))
        host.add_known_intf("eth0", ip=pod.ip, prefix=prefix, mac=pod.mac, port=0)
    script = f"ip link set lo up\nip addr add {cluster.external.ip}/{under_len} dev eth0\nip link set eth0 up\n"
    if dp == "netdev":
        script += ovs.offload_off(["eth0"])
    jobs.append((ext, "configure", script))
    ext.add_known_intf("eth0", ip=cluster.external.ip, prefix=under_len, port=0)
    run_scripts(jobs)

    progress("*** Verifying: every br0 holds exactly its rendered flows; underlay neighbours resolved")
    jobs = []
    ips = [hs.host_ip for hs in cluster.hostsubnets]
    for node in nodes:
        hs = cluster.hostsubnet(node.name)
        flows_path = os.path.join(node.dir, "flows.expected")
        with open(flows_path, "w") as f:
            f.write(flows_file_text(as_stored(render_node_flows(cluster, node.name))))
        others = [ip for ip in ips if ip != hs.host_ip]
        # a ping per peer teaches the kernel and (userspace datapath) OVS's tunnel neighbour cache
        warm = "".join(f"ping -c1 -W2 -q {ip} >/dev/null &\n" for ip in others)
        script = (f"ovs-ofctl -O OpenFlow13 diff-flows br0 {flows_path} > {node.dir}/flows.diff || true\n"
                  f'[ ! -s {node.dir}/flows.diff ] || {{ echo "br0 differs from its rendered flows:"; '
                  f"cat {node.dir}/flows.diff; exit 1; }}\n{warm}wait\n")
        jobs.append((node, "verify", script))
    run_scripts(jobs)

