"""The OpenShift SDN 3.11 topology: its options, its model, its CLI verbs and control handlers (per-node OVS,
VXLAN, tun0 + NAT); topologies/openshift.py lists it for `lab run`."""

from __future__ import annotations

import argparse
import json
from typing import Dict, List

from lab import docker
from lab.addressing import UNDERLAY_MTU, VXLAN_OVERHEAD
from lab.daemons import ovs
from lab.errors import LabError
from lab.observe.flows import flows_command
from lab.paths import host_dir, netns_name
from lab.planes.openshift import live, realize, rendered
from lab.planes.openshift.api import apistate, builder, egress, manifests
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.master.vnid import GLOBAL_VNID, allocate_netids
from lab.planes.openshift.model import ClusterNetwork, plugin_name
from lab.planes.openshift.node.flows import PLUGINS
from lab.planes.openshift.observe.request import REQUEST_USAGE, request_command
from lab.planes.openshift.observe.trace_command import TRACE_USAGE, trace_command
from lab.planes.openshift.oc import command as occmd
from lab.planes.openshift.oc import printers as oc
from lab.topology import CheckResult, Topology, reachability_checks
from lab.underlay import UNDERLAY_HOST
from lab.validate import MIN_MTU


class OpenShiftTopology(Topology):
    name = "openshift"
    description = "OpenShift SDN 3.11 ovs-subnet: nodes with their own OVS br0, VXLAN, tun0 gateway and NAT, pods, an external host"
    plane = "openshift"

    def __init__(self, custom=None, custom_path: str = ""):
        self.custom_module = custom  # a user's cluster module (`lab run ./my_cluster.py`): its build(c) adds the objects
        self.custom_path = custom_path

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        d = ClusterNetwork()
        parser.add_argument("--cluster-cidr", default=d.cidr, help=f"cluster network (default {d.cidr})")
        parser.add_argument("--host-subnet-length", type=int, default=d.host_subnet_length,
                            help=f"host bits of each node's subnet (default {d.host_subnet_length})")
        parser.add_argument("--service-network", default=d.service_network, help=f"(default {d.service_network})")
        parser.add_argument("--vxlan-port", type=int, default=d.vxlan_port, help=f"1-65535 (default {d.vxlan_port})")
        parser.add_argument("--mtu", type=int, default=d.mtu,
                            help=f"pod and tun0 MTU, {MIN_MTU} to the underlay's {UNDERLAY_MTU} minus VXLAN's "
                                 f"{VXLAN_OVERHEAD} (default {d.mtu})")
        parser.add_argument("--underlay", default="172.16.1.0/24", help="the nodes' L2 segment (default 172.16.1.0/24)")
        parser.add_argument("--plugin", choices=PLUGINS, default="subnet",
                            help="openshift-sdn plugin (default subnet); with multitenant or networkpolicy the "
                                 "pods alternate between projects p1 and p2 (pod1 p1, pod2 p2, ...)")
        parser.add_argument("--runtime", choices=realize.RUNTIMES, default="netns",
                            help="pods as plain namespaces (default, faster) or Docker containers: a daemon per "
                                 "node, a pause container per pod plus its app containers (a manifest pod: one "
                                 "per container)")
        parser.add_argument("-f", "--filename", action="append", default=[], metavar="FILE_OR_DIR",
                            help="Kubernetes/OpenShift YAML manifests (namespaces, pods, deployments, services, "
                                 "network policies); repeatable")
        ovs.add_datapath_argument(parser)

    def model(self, args: argparse.Namespace):
        network = ClusterNetwork(cidr=args.cluster_cidr, host_subnet_length=args.host_subnet_length,
                                 service_network=args.service_network, vxlan_port=args.vxlan_port, mtu=args.mtu,
                                 plugin=plugin_name(getattr(args, "plugin", "subnet")))
        custom = builder.run_module(self.custom_module, self.custom_path) if self.custom_module else None
        nodes = custom.node_count if custom and custom.node_count is not None else args.nodes
        cluster = build_cluster(nodes, args.pods_per_node, network, underlay=args.underlay)
        cluster.runtime = args.runtime
        docs = manifests.load_paths(args.filename) if args.filename else []
        if custom:
            docs = custom.documents + docs
        if docs:
            manifests.apply_documents(cluster, docs)
        if cluster.netids:  # the VNID plugins: every namespace a manifest made gets its NetNamespace
            cluster.set_netids(allocate_netids([n.name for n in cluster.namespaces], existing=cluster.netids))
        if docs:  # HostSubnet/NetNamespace fields and EgressNetworkPolicies, now that the NetNamespaces exist
            egress.apply_documents(cluster, docs)
        return cluster

    def packages(self, model) -> Dict[str, str]:
        return {**ovs.PACKAGES, **docker.PACKAGES} if model.runtime == "docker" else dict(ovs.PACKAGES)

    def net_options(self, args) -> Dict[str, object]:
        return {"datapath": ovs.choose_datapath(args.datapath)}

    def custom(self, path: str) -> "OpenShiftTopology":
        return OpenShiftTopology(builder.load_module(path), path)

    def build(self, net, model, progress) -> None:
        realize.build(net, model, progress, runtime=model.runtime)
        apistate.write(net.name, model)  # what `oc get` shows, for other shells (live changes rewrite it)

    def inventory(self, net, model) -> Dict:
        cn = model.network
        return {
            "topology": self.name,
            "clusternetwork": {"cidr": cn.cidr, "hostSubnetLength": cn.host_subnet_length,
                               "serviceNetwork": cn.service_network, "vxlanPort": cn.vxlan_port,
                               "mtu": cn.mtu, "plugin": cn.plugin},
            "nodes": [{"name": hs.name, "underlay_ip": hs.host_ip, "subnet": hs.subnet,
                       "gateway": hs.gateway, "datapath": net.datapath} for hs in model.hostsubnets],
            "pods": [{"name": p.host, "node": p.node, "ip": p.ip, "mac": p.mac, "veth": p.veth,
                      "ofport": p.ofport, "namespace": p.namespace, "vnid": p.vnid} for p in model.pods],
            "netnamespaces": dict(model.netids),
            "external": {"name": model.external.name, "ip": model.external.ip},
            "runtime": model.runtime,
            "namespaces": [n.name for n in model.namespaces],
            "pods_by_namespace": {p.host: p.key for p in model.pods},
            "services": [{"name": s.name, "namespace": s.namespace, "type": s.type, "clusterIP": s.cluster_ip,
                          "ports": [{"name": sp.name, "port": sp.port, "protocol": sp.protocol,
                                     "nodePort": sp.node_port} for sp in s.ports],
                          "endpoints": sorted({a.pod for addrs in model.endpoints(s).values() for a in addrs})}
                         for s in model.services],
        }

    def inventory_text(self, net, model) -> str:
        dp = {"system": "kernel datapath (system)", "netdev": "userspace datapath (netdev)"}[net.datapath]
        several = len({p.namespace for p in model.pods}) > 1 or any(p.namespace != "default" for p in model.pods)
        pods_lines = (["$ oc get pods -o wide --all-namespaces", oc.get_pods(model, namespace=None), ""] if several
                      else ["$ oc get pods -o wide", oc.get_pods(model), ""])
        if model.services:
            pods_lines += ["$ oc get svc --all-namespaces", oc.get_services(model, namespace=None), ""]
        return "\n".join([
            f"*** OpenShift SDN 3.11 ({model.network.plugin}), Open vSwitch {dp}",
            "$ oc get clusternetwork", oc.get_clusternetwork(model), "",
            "$ oc get hostsubnets", oc.get_hostsubnets(model), "",
            *pods_lines,
            *(["$ oc get netnamespaces", oc.get_netnamespaces(model), ""]
              if model.netids else []),
            f"external host: {model.external.name} {model.external.ip} on the underlay {model.underlay}",
            f"from another shell: OVS_RUNDIR={ovs.ovs_dir(host_dir('node1'))} "
            f"ip netns exec {netns_name('node1')} ovs-ofctl -O OpenFlow13 dump-flows br0",
        ] + ([f"pods are Docker containers (pause + {_app_count(model)} apps), a dockerd per node: "
              f"DOCKER_HOST={docker.daemon_paths('node1').url} docker ps"] if model.runtime == "docker" else []))

    def checks(self, net, model) -> List[CheckResult]:
        groups = {
            # multitenant: only pods of one VNID, or of the global VNID 0, reach each other
            "pod -> pod": [(net[a.host], b.host, b.ip) for a in model.pods for b in model.pods if a is not b
                           and (model.network.plugin != plugin_name("multitenant")
                                or GLOBAL_VNID in (a.vnid, b.vnid) or a.vnid == b.vnid)],
            "pod -> external (NAT)": [(net[p.host], model.external.name, model.external.ip) for p in model.pods],
            "node -> pod (tun0)": [(net[hs.name], p.host, p.ip) for hs in model.hostsubnets for p in model.pods],
        }
        return reachability_checks(groups)

    def endpoints(self, net, model):
        return [net[p.host] for p in model.pods]

    def cli_verbs(self, net, model):
        def do_trace(line: str) -> None:
            print(trace_command(net, model, line))

        def do_request(line: str) -> None:
            print(request_command(net, model, line))

        session = oc_session(net, model)

        def do_oc(line: str) -> None:
            output = session.run(line).output
            if output:
                print(output)

        def do_changes(line: str) -> None:
            if line.strip():
                raise LabError("usage: changes (no arguments)")
            print(session.last.describe())

        def cable_verb(up: bool):  # (Mininet's CLI cannot name a verb `link-down`: it would run `link`)
            def do_cable(line: str) -> None:
                print(self.cable(net, model, line, up))
            return do_cable

        def do_flows(line: str) -> None:
            print(flows_command(net, line))

        return {
            "flows": (do_flows, "flows <node> [table]: br0 flows per table, without cookies, durations and counters"),
            "unplug": (cable_verb(False), "unplug <node>: pull the node's underlay cable (its port on the underlay "
                                          "bridge goes down; the node keeps its addresses and flows)"),
            "plug": (cable_verb(True), "plug <node>: plug it back in"),
            "trace": (do_trace, TRACE_USAGE[len("usage: "):]
                      + ": ofproto/trace on the pod's node, then on the remote node (udp default port 33434, tcp 80); "
                      "to a service's IP:PORT also kube-proxy's DNAT and every endpoint's path"),
            "request": (do_request, REQUEST_USAGE[len("usage: "):]
                        + ": which pod answers (HTTP on tcp, a datagram on udp), or refused/timeout; -c: a tally"),
            "oc": (do_oc, occmd.usage() + ": answered from the model; a change is applied to every node as its "
                          "difference"),
            "changes": (do_changes, "changes: per node, the ports, flows and iptables rules the last `oc` change "
                                    "added (+) and removed (-)"),
        }

    def control_handlers(self, net, model):
        session = oc_session(net, model)
        return {"oc": lambda line: session.run(line).output,  # what the CLI's `oc` prints
                "api": lambda _line: json.dumps(apistate.snapshot(session.model)),  # what `oc get` reads
                "rendered": lambda _line: rendered.rendered(net, session.model),  # what drift compares with
                "unplug": lambda line: self.cable(net, model, line, False),
                "plug": lambda line: self.cable(net, model, line, True)}

    @staticmethod
    def cable(net, model, line: str, up: bool) -> str:
        """`unplug NODE` / `plug NODE`: the node's underlay cable (lab.planes.openshift.live.unplug_node)."""
        words = line.split()
        if len(words) != 1:
            raise LabError(f"usage: {'plug' if up else 'unplug'} <node|{model.external.name}>")
        if words[0] not in net.nameToNode or words[0] == UNDERLAY_HOST:
            raise LabError(f"unknown host {words[0]!r}: give a node or {model.external.name}")
        live.unplug_node(net, model, words[0], plugged=up)
        return f"{words[0]}: underlay cable {'plugged in' if up else 'pulled'}"



class OcSession:
    """`oc` lines on one running lab, wherever they come from; the last change made, for `changes`."""

    def __init__(self, net, model):
        self.net, self.model = net, model
        self.last = live.Change("")

    def run(self, line: str) -> live.Change:
        change = live.apply(self.net, self.model, line, runtime=self.model.runtime)
        if change.mutated:
            self.last = change
        return change


def oc_session(net, model) -> OcSession:
    """One per lab: the CLI's `oc` and other shells' (`lab oc`) change one model, `changes` shows the last."""
    if getattr(net, "oc_session", None) is None:
        net.oc_session = OcSession(net, model)
    return net.oc_session


def _app_count(model) -> str:
    """How many app containers the pods have: one number, or the range."""
    counts = sorted({len(realize.pod_spec(p).containers) for p in model.pods}) or [len(docker.DEFAULT_CONTAINERS)]
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
