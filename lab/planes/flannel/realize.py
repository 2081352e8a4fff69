"""Turn a Flannel cluster model into namespaces, an etcd, per-node agents, cni0 bridges and pods."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import replace
from typing import Callable, Dict, List, Optional, Tuple

from lab import docker, paths, underlay
from lab.apply import converge, state_script
from lab.daemons import cni, etcd
from lab.errors import BadInput, LabError
from lab.net import LabNet
from lab.paths import host_dir
from lab.planes.flannel.model import FlannelCluster, FlannelNode, FlannelPod
from lab.planes.flannel.render import render_node, render_router, render_underlay_host
from lab.shell import run, run_scripts
from lab.state import NodeState
from lab.underlay import UNDERLAY_HOST

ETCD_HOST, ROUTER_HOST, EXT_HOST = "etcd", "router", "ext"
SUBNET_ENV_DIR = "/run/flannel"  # where flanneld writes subnet.env on a real node
ETCD_NAME = "etcd0"


def etcd_dir() -> str:
    return os.path.join(host_dir(ETCD_HOST), "etcd")


def agent_dir(node: str) -> str:
    return os.path.join(host_dir(node), "flannel")


ETCDCTL_WRAPPER = """#!/bin/sh
# the lab's etcdctl: ETCDCTL_ENDPOINTS points at the lab's etcd unless --endpoints is given
# (etcdctl 3.4 refuses to run with both: "conflicting environment variable")
for arg in "$@"; do
  case "$arg" in
    --) break ;;
    --endpoints|--endpoints=*) unset ETCDCTL_ENDPOINTS ;;
  esac
done
exec {etcdctl} "$@"
"""


def etcdctl_wrapper_dir() -> str:
    return os.path.join(host_dir(ETCD_HOST), "client")


def write_etcdctl_wrapper() -> str:
    """An `etcdctl` that the node shells find first on their PATH; returns its directory."""
    d = etcdctl_wrapper_dir()
    real = shutil.which("etcdctl", path=os.environ.get("PATH", os.defpath)) or "/usr/bin/etcdctl"
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "etcdctl")
    with open(path, "w") as f:
        f.write(ETCDCTL_WRAPPER.format(etcdctl=real))
    os.chmod(path, 0o755)
    return d


def node_env(cluster: FlannelCluster) -> Dict[str, str]:
    """The node shell's environment: etcdctl (v3 API) talks to the lab's etcd with or without --endpoints."""
    # an absolute PATH (not "$PATH"): the value must not depend on how the shell quotes it
    path = write_etcdctl_wrapper() + os.pathsep + os.environ.get("PATH", os.defpath)
    return {"ETCDCTL_API": "3", "ETCDCTL_ENDPOINTS": etcd.endpoint(cluster.etcd_ip), "PATH": path}


def node_script(cluster: FlannelCluster, node: FlannelNode) -> str:
    """The node's rendered state (underlay address, cni0, ...), then its private /run/flannel."""
    return state_script(render_node(cluster, node)) + mount_script(node)


def mount_script(node: FlannelNode) -> str:
    # the node sees its own agent's directory as /run/flannel (a mount in the node's namespace only)
    return f"mkdir -p {agent_dir(node.name)}\nmount --bind {agent_dir(node.name)} {SUBNET_ENV_DIR}\n"


RUNTIMES = ("netns", "docker")  # docker: pause + app containers, wired by the real CNI plugins


def build(net: LabNet, cluster: FlannelCluster, progress: Callable[[str], None] = print,
          runtime: str = "netns") -> None:
    cfg = cluster.config
    progress(f"*** Creating namespaces: etcd, {len(cluster.nodes)} nodes, {len(cluster.pods)} pods, external host"
             + (", a router between two segments" if cluster.routed else ""))
    net.add_hosts([{"name": UNDERLAY_HOST, "role": "underlay", "switch": True}, {"name": ETCD_HOST, "role": "etcd"},
                   {"name": EXT_HOST, "role": "external"}]
                  + ([{"name": ROUTER_HOST, "role": "router"}] if cluster.routed else []))
    pods_rt = docker.DockerRuntime([n.name for n in cluster.nodes]) if runtime == "docker" else None
    net.pod_runtime = pods_rt  # join, add_pod and remove_pod at runtime follow the lab's runtime
    net.add_hosts({"name": n.name, "role": "node", "env": {**node_env(cluster), **(pods_rt.env(n.name) if pods_rt else {})}}
                  for n in cluster.nodes)
    net.ensure_mountpoint(SUBNET_ENV_DIR)
    net.ensure_mountpoint(cni.DATA_DIR)
    sandbox = {}  # pod -> pause pid: the pod's host is a shell in the pause container's network namespace
    if pods_rt:
        progress("*** Starting a Docker daemon in every node, then every pod's pause container (no network)")
        pods_rt.start(net.ensure_mountpoint)
        sandbox = pods_rt.start_sandboxes(_pod_specs(cluster))
    net.add_hosts({"name": p.name, "role": "pod", **({"netns": f"/proc/{sandbox[p.name]}/ns/net"}
                                                      if p.name in sandbox else {})} for p in cluster.pods)

    progress("*** Wiring the underlay, starting etcd, configuring nodes (cni0) and pods")
    seg0 = [(net[ETCD_HOST], "eth0"), (net[EXT_HOST], "eth0")] + [(net[n.name], "eth0") for n in cluster.nodes
                                                                  if n.segment == 0]
    script = underlay.segment_script(seg0 + ([(net[ROUTER_HOST], "eth0")] if cluster.routed else []),
                                     cluster.segments[0].bridge)
    if cluster.routed:
        seg1 = [(net[ROUTER_HOST], "eth1")] + [(net[n.name], "eth0") for n in cluster.nodes if n.segment == 1]
        script += underlay.segment_script(seg1, cluster.segments[1].bridge)
    run_scripts([(net[UNDERLAY_HOST], "underlay", script)])

    # pods are wired by the CNI plugins once subnet.env exists; etcd boots meanwhile
    etcd_start = (etcd.start_script(ETCD_NAME, cluster.etcd_ip, etcd_dir())
                  + f"etcdctl --endpoints {etcd.endpoint(cluster.etcd_ip)} put /coreos.com/network/config "
                    f"'{cfg.config_json()}' >/dev/null\n")
    targets = [(net[EXT_HOST], render_underlay_host(cluster, cluster.external_ip))]
    if cluster.routed:
        targets.append((net[ROUTER_HOST], render_router(cluster)))
    converge(net, targets + [(net[ETCD_HOST], render_underlay_host(cluster, cluster.etcd_ip))],
             also=[(net[ETCD_HOST], "start", etcd_start)]
             + [(net[n.name], "mount", mount_script(n) + cni_mount_script(n)) for n in cluster.nodes])
    converge(net, [(net[n.name], node_state(cluster, n, pods_rt is not None)) for n in cluster.nodes])
    for h in net.hosts:
        if h.role in ("node", "pod", "external", "etcd"):
            ip = {"external": cluster.external_ip, "etcd": cluster.etcd_ip}.get(h.role) or (
                cluster.node(h.name).ip if h.role == "node" else cluster.pod(h.name).ip)
            h.add_known_intf("eth0", ip=ip, port=0)

    progress(f"*** Starting the flannel agent on every node ({cfg.backend} backend); waiting for leases to settle")
    for node in cluster.nodes:
        start_agent(net, cluster, node)
    wait_converged(net, cluster)
    progress("*** Wiring pods with the CNI plugins (loopback; bridge + host-local, the flannel plugin's delegate)")
    cni_add_pods(net, cluster)
    if pods_rt:
        progress("*** Starting the app containers in their pods' network and IPC namespaces")
        pods_rt.start_apps(_pod_specs(cluster))


def node_state(cluster: FlannelCluster, node: FlannelNode, docker_pods: bool) -> NodeState:
    """The node as the lab configures it before any pod: the pods' veths are the bridge plugin's to add;
    with Docker pods cni0 too (as on a real node); namespace pods keep a cni0 made up front, so that a node
    without pods (a join) still has its gateway."""
    state = render_node(cluster, node)
    return _without_cni0(state) if docker_pods else _without_pod_veths(state)


def _without_pod_veths(state: NodeState) -> NodeState:
    return NodeState(tuple(i for i in state.items if getattr(i, "master", None) != "cni0"))


def sandbox_of(net: LabNet, pod: str) -> Tuple[str, str]:
    """(CNI container id, network namespace path) of a pod: a Docker pod's pause container and its pid's
    namespace, as dockershim passes them; a namespace pod's id is derived from the lab and pod names."""
    rt: Optional[docker.DockerRuntime] = getattr(net, "pod_runtime", None)
    if rt:
        pause_id, pid = rt.sandboxes[pod]
        return pause_id, f"/proc/{pid}/ns/net"
    return hashlib.sha256(f"{paths.lab_name()}/{pod}".encode()).hexdigest(), f"/proc/{net[pod].pid}/ns/net"


def wired_pod(pod: FlannelPod, result_path: str) -> FlannelPod:
    """The pod as the bridge plugin made it (its result): the host-side veth's name, eth0's MAC, the address."""
    with open(result_path) as f:
        result = json.load(f)
    ifaces = result.get("interfaces") or []
    veth = next(i["name"] for i in ifaces if not i.get("sandbox") and i["name"] != cni.BRIDGE)
    mac = next(i["mac"] for i in ifaces if i.get("sandbox"))
    return replace(pod, ip=result["ips"][0]["address"].split("/")[0], mac=mac, veth=veth)


def _pod_specs(cluster: FlannelCluster) -> List[docker.PodSpec]:
    return [docker.PodSpec(p.name, p.node) for p in cluster.pods]


def cni_dir(node: str) -> str:
    """What the node sees as /var/lib/cni (host-local's leases, the saved delegates)."""
    return os.path.join(host_dir(node), "cni")


def cni_mount_script(node: FlannelNode) -> str:
    return f"mkdir -p {cni_dir(node.name)}\nmount --bind {cni_dir(node.name)} {cni.DATA_DIR}\n"


def _without_cni0(state: NodeState) -> NodeState:
    """The node without cni0 and the pod veths: the bridge plugin makes those when it wires a pod."""
    return NodeState(tuple(i for i in state.items if not (getattr(i, "name", None) == "cni0" or
                                                          getattr(i, "dev", None) == "cni0" or
                                                          getattr(i, "master", None) == "cni0")))


def cni_add_pods(net: LabNet, cluster: FlannelCluster) -> None:
    """Each pod as the kubelet's CNI driver wires it: loopback, then the flannel plugin's delegate (bridge
    with host-local) built from the node's subnet.env, saved under the node's /var/lib/cni/flannel/<id>.
    Pods are added in the model's order, so host-local hands out the model's addresses; the model then takes
    each pod's veth name and MAC from the bridge plugin's result."""
    jobs = []
    for node in cluster.nodes:
        script = ""
        for pod in cluster.pods_on(node.name):
            script += cni_add_script(node.name, pod.name, *sandbox_of(net, pod.name))
            script += (f"grep -q '\"{pod.ip}/' {cni_result(node.name, pod.name)} || {{ echo \"{pod.name}: host-local "
                       f"gave another address than {pod.ip}:\"; cat {cni_result(node.name, pod.name)}; exit 1; }}\n")
        jobs.append((net[node.name], "cni", script))
    run_scripts(jobs)
    cluster.pods[:] = [wired_pod(p, cni_result(p.node, p.name)) for p in cluster.pods]


def cni_result(node: str, pod: str) -> str:
    return os.path.join(host_dir(node), f"cni-{pod}.json")


def cni_add_script(node: str, pod: str, pause_id: str, netns: str) -> str:
    """One pod's CNI ADD, as the kubelet's CNI driver runs it: loopback, then the flannel plugin's delegate
    (bridge + host-local, from the node's subnet.env) saved first as the node's /var/lib/cni/flannel/<id>.
    The bridge plugin's result goes to cni_result()."""
    with open(os.path.join(agent_dir(node), "subnet.env")) as f:
        delegate = cni.conf_text(cni.flannel_delegate(f.read()))
    saved = os.path.join(cni_dir(node), "flannel")
    os.makedirs(saved, exist_ok=True)
    with open(os.path.join(saved, pause_id), "w") as f:
        f.write(delegate)
    loopback = os.path.join(cni_dir(node), "loopback.conf")
    with open(loopback, "w") as f:
        f.write(cni.conf_text(cni.LOOPBACK))
    return (cni.plugin_script("loopback", loopback, "ADD", pause_id, netns, pod) + " >/dev/null\n"
            + cni.plugin_script("bridge", f"{cni.DATA_DIR}/flannel/{pause_id}", "ADD", pause_id, netns, pod)
            + f" > {cni_result(node, pod)}\n")


def cni_del_script(node: str, pod: str, pause_id: str, netns: str) -> str:
    """The pod's CNI DEL (the saved delegate: host-local releases the address, the veth goes), then the
    saved delegate itself, as the flannel plugin removes it."""
    saved = f"{cni.DATA_DIR}/flannel/{pause_id}"
    return (cni.plugin_script("bridge", saved, "DEL", pause_id, netns, pod) + " >/dev/null\n"
            + f"rm -f {saved} {cni_result(node, pod)}\n")


def start_agent(net: LabNet, cluster: FlannelCluster, node: FlannelNode) -> None:
    d = agent_dir(node.name)
    os.makedirs(d, exist_ok=True)
    log = open(os.path.join(d, "flanneld.log"), "w")
    proc = net[node.name].popen([sys.executable, "-m", "lab.planes.flannel.agent", "--etcd", etcd.endpoint(cluster.etcd_ip),
                                 "--public-ip", node.ip, "--subnet", node.subnet, "--dir", d],
                                stdout=log, stderr=log, cwd=os.path.dirname(os.path.dirname(etcd.__file__)))
    with open(os.path.join(d, "flanneld.pid"), "w") as f:  # for teardown and `lab clean`
        f.write(f"{proc.pid}\n")


def agent_status(node: str) -> dict:
    try:
        with open(os.path.join(agent_dir(node), "status.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def wait_converged(net: LabNet, cluster: FlannelCluster, timeout: float = 15.0) -> None:
    """Until every agent has dealt with every other node's lease (applied it, or failed to)."""
    deadline = time.monotonic() + timeout
    while True:
        pending = []
        for node in cluster.nodes:
            st = agent_status(node.name)
            others = {n.subnet for n in cluster.nodes if n is not node}
            handled = set(st.get("applied", {})) | {s for s in others if any(s in e for e in st.get("errors", []))}
            if not st or handled != others:
                pending.append(node.name)
        if not pending:
            return
        if time.monotonic() > deadline:
            logs = {n: open(os.path.join(agent_dir(n), "flanneld.log")).read()[-300:] for n in pending
                    if os.path.exists(os.path.join(agent_dir(n), "flanneld.log"))}
            raise LabError(f"flannel agents did not settle: {', '.join(pending)} {logs}")
        time.sleep(0.05)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise LabError(f"timed out waiting for {what}")
        time.sleep(0.05)


def join(net: LabNet, cluster: FlannelCluster) -> FlannelNode:
    """A node joins at runtime: its namespace, underlay link, cni0 and agent; the others follow via etcd.
    Its name and address are new (never a live or departed node's); its lease is one nobody holds.
    With Docker pods the node also gets its own dockerd, and cni0 is left to the bridge plugin."""
    held = [key.rsplit("/", 1)[-1].replace("-", "/") for key in leases_in_etcd(net, cluster)]
    node = cluster.next_node(held)
    if node.name in net.nameToNode:
        raise LabError(f"join: a host named {node.name} already exists")
    rt: Optional[docker.DockerRuntime] = getattr(net, "pod_runtime", None)
    net.ensure_mountpoint(SUBNET_ENV_DIR)
    host = net.add_hosts([{"name": node.name, "role": "node",
                           "env": {**node_env(cluster), **(rt.env(node.name) if rt else {})}}])[0]
    if rt:
        rt.start_node(node.name, net.ensure_mountpoint)  # boots while the node is wired
    run(net[UNDERLAY_HOST], underlay.attach_command(host, "eth0", cluster.segments[node.segment].bridge))
    converge(net, [(host, node_state(cluster, node, rt is not None))],
             also=[(host, "mount", mount_script(node) + cni_mount_script(node))])
    host.add_known_intf("eth0", ip=node.ip, port=0)
    cluster.nodes.append(node)
    start_agent(net, cluster, node)
    wait_converged(net, cluster)
    if rt:
        rt.prepare_node(node.name)
    return node


def add_pod(net: LabNet, cluster: FlannelCluster, node_name: str, pod_name: Optional[str] = None) -> FlannelPod:
    """A pod starts on a node at runtime, wired like at bring-up: a namespace (Docker: a pause container's),
    CNI ADD with the node's flannel delegate (host-local picks the address, the model takes it and the
    plugin's veth and MAC), then (Docker) its app containers."""
    if node_name not in (n.name for n in cluster.nodes):
        raise BadInput(f"no node named {node_name!r} (nodes: {', '.join(n.name for n in cluster.nodes)})")
    if pod_name is None:
        numbers = [int(p.name[3:]) for p in cluster.pods if p.name.startswith("pod") and p.name[3:].isdigit()]
        pod_name = f"pod{max(numbers, default=0) + 1}"
    if pod_name in net.nameToNode or any(p.name == pod_name for p in cluster.pods):
        raise BadInput(f"a host named {pod_name} exists already")
    rt: Optional[docker.DockerRuntime] = getattr(net, "pod_runtime", None)
    spec = docker.PodSpec(pod_name, node_name)
    try:
        netns = {"netns": f"/proc/{rt.add_sandbox(spec)}/ns/net"} if rt else {}
        host = net.add_hosts([{"name": pod_name, "role": "pod", **netns}])[0]
        run_scripts([(net[node_name], f"cni-add-{pod_name}",
                      cni_add_script(node_name, pod_name, *sandbox_of(net, pod_name)))])
        pod = wired_pod(FlannelPod(pod_name, node_name, "", "", ""), cni_result(node_name, pod_name))
    except Exception:
        if rt:
            rt.remove(spec)
        if pod_name in net.nameToNode:
            net.remove_host(net[pod_name])
        raise
    cluster.pods.append(pod)
    host.add_known_intf("eth0", ip=pod.ip, port=0)
    if rt:
        rt.add_apps(spec)
    return pod


def remove_pod(net: LabNet, cluster: FlannelCluster, pod_name: str) -> None:
    """A pod goes away: CNI DEL (the bridge plugin deletes its veth, host-local frees the address), its
    containers are removed (Docker), then the pod's host goes."""
    pod = next((p for p in cluster.pods if p.name == pod_name), None)
    if pod is None:
        raise BadInput(f"no pod named {pod_name!r}")
    rt: Optional[docker.DockerRuntime] = getattr(net, "pod_runtime", None)
    run_scripts([(net[pod.node], f"cni-del-{pod_name}",
                  cni_del_script(pod.node, pod_name, *sandbox_of(net, pod_name)))])
    cluster.pods.remove(pod)
    if rt:
        rt.remove(docker.PodSpec(pod_name, pod.node))
    net.remove_host(net[pod_name])


def leave(net: LabNet, cluster: FlannelCluster, name: str) -> None:
    """A node leaves: its agent stops and its lease is removed (as when it expires); the others follow."""
    node = next((n for n in cluster.nodes if n.name == name), None)
    if node is None:
        if any(n.name == name for n in cluster.departed):
            raise LabError(f"leave: {name} has already left")
        raise LabError(f"leave: {name!r} is not a node of this lab (nodes: {', '.join(n.name for n in cluster.nodes)})")
    if cluster.pods_on(name):
        raise LabError(f"leave: {name} still has pods ({', '.join(p.name for p in cluster.pods_on(name))}); "
                       "only empty nodes can leave")
    rt: Optional[docker.DockerRuntime] = getattr(net, "pod_runtime", None)
    if rt:  # its daemon stops before the node's namespace goes (its mounts with it)
        rt.remove_node(name)
    net.remove_host(net[name])
    run(net[ETCD_HOST], f"etcdctl --endpoints {etcd.endpoint(cluster.etcd_ip)} del "
                        f"/coreos.com/network/subnets/{node.subnet.replace('/', '-')}")
    cluster.nodes.remove(node)
    cluster.departed.append(node)
    wait_converged(net, cluster)


def restore_etcd(net: LabNet, cluster: FlannelCluster, snapshot: str) -> None:
    """Stop the lab's etcd, restore a snapshot (`etcdctl snapshot save`) into a new data dir, restart."""
    data = os.path.join(etcd_dir(), f"restored-{int(time.time() * 1000)}")
    run(net[ETCD_HOST], etcd.restore_script(ETCD_NAME, cluster.etcd_ip, etcd_dir(), snapshot, data))


def leases_in_etcd(net: LabNet, cluster: FlannelCluster) -> List[str]:
    out = run(net[ETCD_HOST], f"etcdctl --endpoints {etcd.endpoint(cluster.etcd_ip)} get "
                              "/coreos.com/network/subnets/ --prefix --keys-only")
    return sorted(line for line in out.splitlines() if line.strip())
