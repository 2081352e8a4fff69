"""The Flannel topology: leases in a real etcd, vxlan (flannel.1, cni0) or host-gw backend; topologies/flannel.py
lists it for `lab run`."""

from __future__ import annotations

import argparse
from typing import Dict, List

from lab import docker
from lab.daemons import cni, etcd
from lab.errors import LabError
from lab.planes.flannel import realize
from lab.planes.flannel.model import FlannelConfig, build_flannel_cluster
from lab.table import format_table
from lab.topology import CheckResult, Topology, reachability_checks


class FlannelTopology(Topology):
    name = "flannel"
    description = ("Flannel: network config and leases in a real etcd, a flanneld agent per node, "
                   "vxlan (flannel.1 + cni0) or host-gw; --routed puts a router between two segments")
    plane = "flannel"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--backend", choices=["vxlan", "host-gw"], default="vxlan", help="(default vxlan)")
        parser.add_argument("--network", default="10.244.0.0/16",
                            help="flannel Network, apart from the underlay 172.16.1.0/24 "
                                 "(and 172.16.2.0/24 with --routed) (default 10.244.0.0/16)")
        parser.add_argument("--routed", action="store_true",
                            help="nodes alternate over two L2 segments joined by a router (host-gw cannot work there)")
        parser.add_argument("--runtime", choices=realize.RUNTIMES, default="netns",
                            help="pods as plain namespaces (default, faster) or Docker containers wired by the real "
                                 "CNI plugins (bridge, host-local, loopback)")

    def model(self, args: argparse.Namespace):
        cluster = build_flannel_cluster(args.nodes, args.pods_per_node,
                                        FlannelConfig(network=args.network, backend=args.backend), routed=args.routed)
        cluster.runtime = args.runtime
        return cluster

    def packages(self, model) -> Dict[str, str]:
        # Docker pods are wired by the real CNI plugins
        return {**etcd.PACKAGES, **docker.PACKAGES, **cni.PACKAGES} if model.runtime == "docker" else dict(etcd.PACKAGES)

    def build(self, net, model, progress) -> None:
        realize.build(net, model, progress, runtime=model.runtime)

    def inventory(self, net, model) -> Dict:
        return {
            "topology": self.name,
            "network": {"Network": model.config.network, "Backend": model.config.backend, "mtu": model.config.mtu},
            "etcd": {"name": realize.ETCD_HOST, "endpoint": etcd.endpoint(model.etcd_ip)},
            "nodes": [{"name": n.name, "underlay_ip": n.ip, "subnet": n.subnet, "gateway": n.gateway,
                       "vtep_mac": realize.agent_status(n.name).get("vtep_mac"), "backend": model.config.backend}
                      for n in model.nodes],
            "pods": [{"name": p.name, "node": p.node, "ip": p.ip, "mac": p.mac, "veth": p.veth} for p in model.pods],
            "external": {"name": realize.EXT_HOST, "ip": model.external_ip},
        }

    def inventory_text(self, net, model) -> str:
        nodes = format_table(["NODE", "PUBLIC IP", "LEASE", "CNI0", "VTEP MAC"],
                             [[n.name, n.ip, n.subnet, n.gateway, realize.agent_status(n.name).get("vtep_mac") or "-"]
                              for n in model.nodes])
        pods = format_table(["POD", "NODE", "IP", "MAC"], [[p.name, p.node, p.ip, p.mac] for p in model.pods])
        return "\n".join([
            f"*** Flannel, backend {model.config.backend}, network {model.config.network}, MTU {model.config.mtu}",
            f"etcd: {etcd.endpoint(model.etcd_ip)} (from any node: etcdctl get /coreos.com/network --prefix)",
            "", nodes, "", pods, "",
            f"external host: ext {model.external_ip}"
            + (f"; router between {model.segments[0].cidr} and {model.segments[1].cidr}" if model.routed else ""),
        ])

    def checks(self, net, model) -> List[CheckResult]:
        groups = {
            "pod -> pod": [(net[a.name], b.name, b.ip) for a in model.pods for b in model.pods if a is not b],
            "pod -> external (NAT)": [(net[p.name], "ext", model.external_ip) for p in model.pods],
        }
        checks = reachability_checks(groups)
        errors = {n.name: realize.agent_status(n.name).get("errors") for n in model.nodes}
        errors = {k: v for k, v in errors.items() if v}
        checks.append(CheckResult("agents", not errors, "; ".join(f"{k}: {v[0]}" for k, v in errors.items())
                                  or "every lease applied on every node"))
        return checks

    def endpoints(self, net, model):
        return [net[p.name] for p in model.pods]

    def cli_verbs(self, net, model):
        def do_join(line: str) -> None:
            if line.strip():
                raise LabError("usage: join (no arguments: the node takes the next name and a free lease)")
            node = realize.join(net, model)
            print(f"{node.name} joined with lease {node.subnet}; every agent has followed")

        def do_leave(line: str) -> None:
            words = line.split()
            if len(words) != 1:
                raise LabError("usage: leave <node>")
            realize.leave(net, model, words[0])
            print(f"{words[0]} left; every agent has followed")

        return {"join": (do_join, "join: a new node joins at runtime (takes the next lease)"),
                "leave": (do_leave, "leave <node>: an empty node leaves; its lease is removed")}

