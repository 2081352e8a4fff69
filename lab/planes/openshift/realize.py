"""Turn an OpenShift cluster model into hosts and links (structure), then apply each host's rendered state;
bring a running lab from one model to another by applying only the difference (lab.planes.openshift.live
decides the models and commits them: this layer reads them and never writes one)."""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import replace
from typing import Callable, Dict, List, Optional, Tuple

from lab import docker, paths, underlay
from lab.apply import applied, converge, restore
from lab.daemons import ovs
from lab.errors import BadInput, LabError
from lab.net import LabNet
from lab.observe.flows import as_stored
from lab.paths import host_dir
from lab.planes.openshift.model import Cluster, Pod
from lab.planes.openshift.node.flows import flows_file_text
from lab.planes.openshift.node.render import BRIDGE, render_external, render_node, render_pod
from lab.shell import run_scripts, start_scripts, wait_scripts
from lab.state import Address, Iptables, NodeState, StateDiff, diff
from lab.underlay import UNDERLAY_HOST

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
    with paths.open_private(os.path.join(node.dir, "flows.expected")) as f:
        f.write(flows_file_text(as_stored(state.flows(BRIDGE))))


def _placement(pod: Pod) -> tuple:
    return (pod.node, pod.ip, pod.mac, pod.veth, pod.ofport)


def pods_changed(net: LabNet, old: Cluster, new: Cluster) -> Tuple[List[Pod], List[Pod]]:
    """(pods to start, pods to stop) between two models; a pod may not move, nor take a name the lab uses."""
    before = {p.host: p for p in old.pods}
    after = {p.host: p for p in new.pods}
    moved = [h for h in after if h in before and _placement(before[h]) != _placement(after[h])]
    if moved:
        raise BadInput(f"pod {moved[0]} cannot move to another node or address while it runs")
    added = [p for h, p in after.items() if h not in before]
    taken = next((p.host for p in added if p.host in net), None)
    if taken:
        raise BadInput(f"a host named {taken} exists already")
    return added, [p for h, p in before.items() if h not in after]


def apply_model(net: LabNet, old: Cluster, new: Cluster) -> Dict[str, StateDiff]:
    """Bring the running lab from old's render to new's, as the node agents would: new pods get their namespace
    and veth, every node is re-rendered and brought to it by its difference only, new pods' servers start.
    Reads both models, writes neither. If a step fails part-way, the nodes converge back to old's render and
    the new pods' hosts go, then the error is raised. Pods that went away keep their namespace until
    retire_pods. Returns each node's difference."""
    added, _gone = pods_changed(net, old, new)
    rt: Optional[docker.DockerRuntime] = getattr(net, "pod_runtime", None)  # Docker pods: pause + apps
    started: List[Pod] = []
    try:
        specs = []
        for p in added:
            spec = {"name": p.host, "role": "pod"}
            started.append(p)  # from here on it is the lab's to undo
            if rt:
                spec["netns"] = f"/proc/{rt.add_sandbox(pod_spec(p))}/ns/net"
            specs.append(spec)
        net.add_hosts(specs)
        if added:  # the pod's side first: its veth's peer goes into the node
            converge(net, [(net[p.host], render_pod(new, p.host, net.datapath)) for p in added])
        for p in added:
            _know_pod(net, new, p)
            net.nameToNode.setdefault(p.key, net[p.host])
        changes = apply_change(net, new)
        _serve(net, added, rt)
    except BaseException as error:
        _roll_back(net, old, new, started, rt, error)
        raise
    return changes


def _serve(net: LabNet, pods: List[Pod], rt: Optional[docker.DockerRuntime]) -> None:
    """New pods' apps: their containers (Docker pods), else the lab's server on their containerPorts."""
    if rt:
        for p in pods:
            rt.add_apps(pod_spec(p))
        return
    serving = [(net[p.host], "serve", serve_script(net[p.host].dir, p)) for p in pods if p.ports]
    if serving:
        run_scripts(serving)
        net.record_daemons()


def _roll_back(net: LabNet, old: Cluster, new: Cluster, started: List[Pod], rt: Optional[docker.DockerRuntime],
               error: BaseException) -> None:
    """Undo a change that failed part-way: every node back to old's render (from wherever it stopped), then
    the pods it started are stopped and their hosts removed."""
    try:
        targets = []
        for hs in old.hostsubnets:
            state, attempted = render_node(old, hs.name, net.datapath), render_node(new, hs.name, net.datapath)
            _write_expected(net[hs.name], state)
            if diff(state, attempted) or applied(net[hs.name]) != state:
                targets.append((net[hs.name], state, attempted))
        restore(net, targets)
    except Exception as undo:
        raise LabError(f"{error} (and undoing the change failed: {undo})") from error
    finally:
        retire_pods(net, started, rt)


def retire_pods(net: LabNet, pods: List[Pod], rt: Optional[docker.DockerRuntime] = None) -> None:
    """Pods that went away (their ports and flows are gone from the nodes): their server, their containers
    (kubelet's teardown: the app containers, then the sandbox), then their namespace, with the veth pair."""
    rt = rt or getattr(net, "pod_runtime", None)
    for p in pods:
        if p.host in net:
            _stop_server(net[p.host])
        if rt:
            rt.remove(pod_spec(p))
        if p.host in net:
            if net.nameToNode.get(p.key) is net[p.host]:
                del net.nameToNode[p.key]
            net.remove_host(net[p.host])


def apply_change(net: LabNet, cluster: Cluster) -> Dict[str, StateDiff]:
    """A cluster object changed (a pod, a HostSubnet's or NetNamespace's egress IPs, an annotation, a policy):
    re-render every node (a pod can be a service's endpoint anywhere: kube-proxy's rules are on all nodes) and
    apply only the differences, as the node agents would; returns them by node."""
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


def _stop_server(host) -> None:
    """The pod's server (started by serve_script) ends with its pod; its pidfile names it."""
    pidfile = os.path.join(host.dir, "podserver.pid")
    try:
        with open(pidfile) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return
    host.cmd(f"kill {pid} 2>/dev/null; rm -f {pidfile}")  # from the pod's own shell: only its namespace's pid
