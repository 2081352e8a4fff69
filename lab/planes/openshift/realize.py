"""Turn an OpenShift cluster model into hosts and links (structure), then apply each host's rendered state;
add or remove a pod at runtime by applying only the difference it makes to its node."""

from __future__ import annotations

import ipaddress
from dataclasses import fields, replace
import os
import sys
from typing import Callable, Dict, Optional

from lab import docker, underlay
from lab.daemons import ovs
from lab.apply import converge
from lab.errors import BadInput
from lab.net import LabNet
from lab.observe.flows import as_stored
from lab.planes.openshift.master import egress
from lab.planes.openshift.node.flows import flows_file_text
from lab.planes.openshift.master.pods import new_pod
from lab.planes.openshift.model import Cluster, Pod
from lab.planes.openshift.node.render import BRIDGE, render_external, render_node, render_pod
from lab.paths import host_dir
from lab.shell import run_scripts, start_scripts, wait_scripts
from lab.state import Address, Iptables, NodeState, StateDiff

UNDERLAY_HOST = "underlay"


RUNTIMES = ("netns", "docker")  # a pod is a plain namespace, or a pause container plus app containers


def build(net: LabNet, cluster: Cluster, progress: Callable[[str], None] = print, runtime: str = "netns") -> None:
    if net.datapath is None:  # the library's default: what the kernel offers
        net.datapath = ovs.detect_datapath()
    ovs.prepare_datapath(net.datapath)
    dp = net.datapath
    under_len = ipaddress.ip_network(cluster.underlay).prefixlen
    progress(f"*** Creating namespaces: {len(cluster.hostsubnets)} nodes, {len(cluster.pods)} pods, "
             f"external host {cluster.external.name}")
    # nodes first, so their Open vSwitch daemons boot while the pod namespaces are being made
    net.add_hosts([{"name": UNDERLAY_HOST, "role": "underlay", "switch": True}])
    pods_rt = docker.DockerRuntime([hs.name for hs in cluster.hostsubnets]) if runtime == "docker" else None
    net.pod_runtime = pods_rt  # add_pod/remove_pod at runtime follow the lab's runtime
    nodes = net.add_hosts({"name": hs.name, "role": "node", "env": {**ovs.ovs_env(ovs.ovs_dir(host_dir(hs.name))),
                                                                    **(pods_rt.env(hs.name) if pods_rt else {})}}
                          for hs in cluster.hostsubnets)
    if pods_rt:
        progress("*** Starting a Docker daemon in every node")
        pods_rt.start(net.ensure_mountpoint)
    ext = net.add_hosts([{"name": cluster.external.name, "role": "external"}])[0]
    progress(f"*** Starting Open vSwitch in every node ({dp} datapath), wiring the underlay")
    booting = start_scripts(
        [(net[UNDERLAY_HOST], "underlay", underlay.segment_script([(h, "eth0") for h in nodes + [ext]]))]
        + [(node, "start", ovs.start_script(ovs.ovs_dir(node.dir))) for node in nodes])
    sandbox = {}  # pod host -> the pause container's pid: the pod's host is a shell in its network namespace
    if pods_rt:
        progress("*** Loading images, starting every pod's pause container (no network: the plugin wires it)")
        sandbox = pods_rt.start_sandboxes(_pod_specs(cluster))
    net.add_hosts({"name": p.host, "role": "pod", **({"netns": f"/proc/{sandbox[p.host]}/ns/net"}
                                                      if p.host in sandbox else {})} for p in cluster.pods)
    for p in cluster.pods:  # the CLI also knows every pod as `namespace/name`
        net.nameToNode.setdefault(p.key, net[p.host])

    states = render_all(cluster, dp)
    progress("*** Wiring pods: veth pairs into their nodes, addresses and routes")
    converge(net, [(net[p.host], states[p.host]) for p in cluster.pods])  # before the nodes add their veths
    for pod in cluster.pods:
        _know_pod(net, cluster, pod)
    wait_scripts(booting)

    progress("*** Configuring br0, installing the openshift-sdn 3.11 flows, tun0, routes and iptables")
    for node in nodes:
        _write_expected(node, states[node.name])
        hs = cluster.hostsubnet(node.name)
        node.add_known_intf(ovs.underlay_device(dp, "eth0"), ip=hs.host_ip, prefix=under_len, port=0)
        node.add_known_intf("tun0", ip=hs.gateway, prefix=ipaddress.ip_network(hs.subnet).prefixlen, port=2)
    # the switches first, then (a diff) the iptables: each nft commit waits for RCU grace periods, which on
    # a slow (emulated) kernel stalls the vswitchd next door while it probes its datapath
    converge(net, [(node, without_iptables(states[node.name])) for node in nodes] + [(ext, states[ext.name])],
             also=[(net[p.host], "serve", serve_script(net[p.host].dir, _served_ports(p, runtime)))
                   for p in cluster.pods if _served_ports(p, runtime).ports])
    converge(net, [(node, states[node.name]) for node in nodes])
    ext.add_known_intf("eth0", ip=cluster.external.ip, prefix=under_len, port=0)

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
    if pods_rt:
        progress("*** Starting the app containers in their pods' network and IPC namespaces")
        pods_rt.start_apps(_pod_specs(cluster))


def _pod_specs(cluster: Cluster):
    return [pod_spec(p) for p in cluster.pods]


def pod_spec(pod: Pod) -> docker.PodSpec:
    """A Docker pod: one app container per manifest container (its name, image, command + args, TCP ports);
    a pod with no declared containers gets the notes' classic pair (tomcat on 8080, nginx on 80)."""
    if pod.containers:
        apps = tuple(docker.AppContainer(c.name, c.image or docker.APP_IMAGE,
                                         tuple(cp.port for cp in c.ports if cp.protocol.upper() == "TCP"),
                                         c.command + c.args)
                     for c in pod.containers)
    elif any(cp.protocol.upper() == "TCP" for cp in pod.ports):  # a pod made in code with ports only
        apps = (docker.AppContainer("app", pod.image or docker.APP_IMAGE,
                                    tuple(cp.port for cp in pod.ports if cp.protocol.upper() == "TCP")),)
    else:
        apps = docker.DEFAULT_CONTAINERS
    return docker.PodSpec(pod.name, pod.node, pod.namespace, apps, host=pod.host)


def _served_ports(pod: Pod, runtime: str) -> Pod:
    """With Docker pods the app containers answer on the TCP ports; the lab's server keeps the UDP ones."""
    if runtime != "docker":
        return pod
    return replace(pod, ports=tuple(cp for cp in pod.ports if cp.protocol.upper() != "TCP"))


def without_iptables(state: NodeState) -> NodeState:
    return NodeState(tuple(i for i in state.items if not isinstance(i, Iptables)))


PODSERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "podserver.py")
SERVE_DEADLINE_S = 10


def serve_script(host_dir: str, pod: Pod) -> str:
    """Start the pod's server on its containerPorts and wait (with a deadline) until it listens; its pidfile
    under the lab's run directory gets it recorded for cleanup (LabNet.record_daemons)."""
    pidfile = os.path.join(host_dir, "podserver.pid")
    ports = " ".join(f"{p.protocol.lower()}:{p.port}" for p in pod.ports)
    return (f"rm -f {pidfile}\n"
            f"{sys.executable} {PODSERVER} {pod.name} {pidfile} {ports} > {host_dir}/podserver.log 2>&1 < /dev/null &\n"
            f"for i in $(seq {SERVE_DEADLINE_S * 20}); do [ -s {pidfile} ] && exit 0; sleep 0.05; done\n"
            f'echo "{pod.name}: its server did not start: $(tail -3 {host_dir}/podserver.log)"; exit 1\n')


def render_all(cluster: Cluster, datapath: str) -> Dict[str, NodeState]:
    """The desired state of every host of the lab that has one, by host name."""
    states = {hs.name: render_node(cluster, hs.name, datapath) for hs in cluster.hostsubnets}
    states.update((p.host, render_pod(cluster, p.host, datapath)) for p in cluster.pods)
    states[cluster.external.name] = render_external(cluster, datapath)
    return states


def _know_pod(net: LabNet, cluster: Cluster, pod: Pod) -> None:
    prefix = ipaddress.ip_network(cluster.hostsubnet(pod.node).subnet).prefixlen
    net[pod.host].add_known_intf("eth0", ip=pod.ip, prefix=prefix, mac=pod.mac, port=0)


def _write_expected(node, state) -> None:
    """br0's rendered flows as the switch will show them, for diff-flows (the build's check, tests)."""
    with open(os.path.join(node.dir, "flows.expected"), "w") as f:
        f.write(flows_file_text(as_stored(state.flows(BRIDGE))))


def add_pod(net: LabNet, cluster: Cluster, node_name: str, pod_name: Optional[str] = None) -> StateDiff:
    """A pod starts on a node at runtime: its namespace and veth, then the node is re-rendered and only
    the difference is applied (the port and the pod's flows in tables 20, 40 and 70). Returns that change.
    With Docker pods (the lab's runtime) the namespace is a new pause container's, and the app containers
    start once the pod is wired, as at bring-up."""
    pod = new_pod(cluster, node_name, pod_name)
    if pod.name in net:  # the underlay, or any host the lab has beyond the model
        raise BadInput(f"a host named {pod.name} exists already")
    rt: Optional[docker.DockerRuntime] = getattr(net, "pod_runtime", None)
    cluster.pods.append(pod)
    try:
        spec = {"netns": f"/proc/{rt.add_sandbox(pod_spec(pod))}/ns/net"} if rt else {}
        net.add_hosts([{"name": pod.name, "role": "pod", **spec}])
        converge(net, [(net[pod.name], render_pod(cluster, pod.name, net.datapath))])
    except Exception:
        cluster.pods.remove(pod)
        if rt:
            rt.remove(pod_spec(pod))
        if pod.name in net:
            net.remove_host(net[pod.name])
        raise
    _know_pod(net, cluster, pod)
    change = _resync_node(net, cluster, node_name)
    if rt:
        rt.add_apps(pod_spec(pod))
    return change


def remove_pod(net: LabNet, cluster: Cluster, pod_name: str) -> StateDiff:
    """A pod goes away: the node drops its port and flows (only those), then its namespace is deleted
    (with Docker pods, its containers are removed first)."""
    try:
        pod = cluster.pod(pod_name)
    except KeyError:
        raise BadInput(f"no pod named {pod_name!r}") from None
    cluster.pods.remove(pod)
    change = _resync_node(net, cluster, pod.node)
    _stop_server(net[pod.host])
    rt: Optional[docker.DockerRuntime] = getattr(net, "pod_runtime", None)
    if rt:  # kubelet's teardown: the app containers, then the sandbox; the namespace's bind holds it until below
        rt.remove(pod_spec(pod))
    if net.nameToNode.get(pod.key) is net[pod.host]:
        del net.nameToNode[pod.key]
    net.remove_host(net[pod.host])  # the veth pair ends with the pod's namespace
    return change


def _placement(pod: Pod) -> tuple:
    return (pod.node, pod.ip, pod.mac, pod.veth, pod.ofport)


def apply_cluster(net: LabNet, cluster: Cluster, new: Cluster, runtime: str = "netns") -> Dict[str, StateDiff]:
    """The cluster changed (lab.planes.openshift.live): new pods get their namespace and veth, the model takes the
    new objects in place, every node is re-rendered and brought to it by its difference only, pods that went
    away lose their port and flows, then their namespace. Returns each node's difference."""
    before = {p.host: p for p in cluster.pods}
    after = {p.host: p for p in new.pods}
    moved = [h for h in after if h in before and _placement(before[h]) != _placement(after[h])]
    if moved:
        raise BadInput(f"pod {moved[0]} cannot move to another node or address while it runs")
    added = [p for h, p in after.items() if h not in before]
    gone = [p for h, p in before.items() if h not in after]
    taken = next((p.host for p in added if p.host in net), None)
    if taken:
        raise BadInput(f"a host named {taken} exists already")
    rt: Optional[docker.DockerRuntime] = getattr(net, "pod_runtime", None)  # Docker pods: pause + apps
    if added:
        sandboxes = []
        try:
            specs = []
            for p in added:
                spec = {"name": p.host, "role": "pod"}
                if rt:
                    spec["netns"] = f"/proc/{rt.add_sandbox(pod_spec(p))}/ns/net"
                    sandboxes.append(p)
                specs.append(spec)
            net.add_hosts(specs)
            converge(net, [(net[p.host], render_pod(new, p.host, net.datapath)) for p in added])
        except Exception:
            for p in sandboxes:
                rt.remove(pod_spec(p))
            for p in added:
                if p.host in net:
                    net.remove_host(net[p.host])
            raise
    for f in fields(Cluster):  # in place: the CLI, the tests and the tracer hold this object
        setattr(cluster, f.name, getattr(new, f.name))
    for p in added:
        _know_pod(net, cluster, p)
        net.nameToNode.setdefault(p.key, net[p.host])
    changes = apply_change(net, cluster)
    for p in gone:
        _stop_server(net[p.host])
        if rt:  # kubelet's teardown: the app containers, then the sandbox
            rt.remove(pod_spec(p))
        if net.nameToNode.get(p.key) is net[p.host]:
            del net.nameToNode[p.key]
        net.remove_host(net[p.host])
    if rt:
        for p in added:
            rt.add_apps(pod_spec(p))
        return changes
    serving = [(net[p.host], "serve", serve_script(net[p.host].dir, p)) for p in added if p.ports]
    if serving:
        run_scripts(serving)
        net.record_daemons()
    return changes


def _resync_node(net: LabNet, cluster: Cluster, node_name: str) -> StateDiff:
    """Re-render every node (a pod can be a service's endpoint anywhere: kube-proxy's rules are on all
    nodes) and apply the differences; returns the pod's own node's change."""
    return apply_change(net, cluster)[node_name]


def apply_change(net: LabNet, cluster: Cluster) -> Dict[str, StateDiff]:
    """A cluster object changed (a pod, a HostSubnet's or NetNamespace's egress IPs, an annotation, a policy):
    re-render every node and apply only the differences, as the node agents would; returns them by node."""
    states = {hs.name: render_node(cluster, hs.name, net.datapath) for hs in cluster.hostsubnets}
    for name, state in states.items():
        _write_expected(net[name], state)
    changes = converge(net, [(net[name], state) for name, state in states.items()])
    _announce_egress_ips(net, cluster, changes)
    return changes


def _announce_egress_ips(net: LabNet, cluster: Cluster, changes: Dict[str, StateDiff]) -> None:
    """assignEgressIP() ends with `arping -A` (and `-U` 2 s later): neighbours that cached the IP on its
    previous node learn the new one. Once here, as a reply: the lab's underlay loses no frames."""
    for name, change in changes.items():
        claimed = {ip for ip in cluster.hostsubnet(name).egress_ips}
        for item in change.of(Address).added:
            ip = item.cidr.split("/")[0]
            if ip in claimed:
                net[name].cmd(f"{sys.executable} -m lab.daemons.garp {item.dev} {ip} reply")


def unplug_node(net: LabNet, cluster: Cluster, node_name: str, plugged: bool = False) -> Dict[str, StateDiff]:
    """Pull a node's underlay cable (plugged=True: plug it back), then apply what 3.11's egress VXLAN monitor
    concludes after a few seconds: the node offline (online again). Only a namespace with several egress IPs
    moves to its next one; with one egress IP nothing changes and its traffic is black-holed. Returns the
    nodes' changes."""
    underlay.set_link(net, node_name, plugged)
    if node_name not in (hs.name for hs in cluster.hostsubnets):
        return {}
    egress.set_node_offline(cluster, node_name, not plugged)
    return apply_change(net, cluster)


def _stop_server(host) -> None:
    """The pod's server (started by serve_script) ends with its pod; its pidfile names it."""
    pidfile = os.path.join(host.dir, "podserver.pid")
    try:
        with open(pidfile) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return
    host.cmd(f"kill {pid} 2>/dev/null; rm -f {pidfile}")  # from the pod's own shell: only its namespace's pid
