"""The raw kernel VXLAN topologies: vxlan-p2p (two hosts joined by a point-to-point vxlan20) and docker-vxlan
(two bridges with a container each, joined by VXLAN 100 on `connect`); topologies/ lists them for `lab run`."""

from __future__ import annotations

import ipaddress

from lab import docker
from lab.errors import LabError
from lab.observe.ping import ping_matrix
from lab.planes.rawvxlan import realize as rawvxlan
from lab.topology import CheckResult, Topology
from lab.validate import check_networks, check_port, check_vni


class VxlanP2P(Topology):
    name = "vxlan-p2p"
    plane = "rawvxlan"
    description = "two hosts, vxlan20 (id 20, remote the other host, dstport 4789) with 10.0.136.11/24 and .12/24"

    def add_arguments(self, parser) -> None:
        pass

    def model(self, args):
        lab = rawvxlan.RawVxlan("p2p")
        # fixed today, checked like any option so that making one configurable stays safe
        overlay = ipaddress.ip_interface(f"{lab.p2p_overlay[0]}/24").network
        check_networks({"underlay": rawvxlan.UNDERLAY, "vxlan20 overlay": overlay})
        check_vni(lab.p2p_vni, "vxlan20 VNI")
        check_port(lab.port, "vxlan20 port")
        return lab

    def build(self, net, model, progress) -> None:
        rawvxlan.build(net, model, progress)

    def inventory(self, net, model):
        return {"topology": self.name,
                "hosts": [{"name": h, "underlay_ip": ip, "vxlan20": model.p2p_overlay[i]}
                          for i, (h, ip) in enumerate(model.hosts)]}

    def inventory_text(self, net, model) -> str:
        return "\n".join(f"{h}: eth0 {ip}, vxlan20 {model.p2p_overlay[i]}/24 (vni {model.p2p_vni}, remote "
                         f"{model.peer_of(h)})" for i, (h, ip) in enumerate(model.hosts))

    def checks(self, net, model):
        (a, _), (b, _) = model.hosts
        r = {x.src: x.ok for x in ping_matrix([(net[a], b, model.p2p_overlay[1]), (net[b], a, model.p2p_overlay[0])])}
        return [CheckResult("host1 <-> host2 over vxlan20", all(r.values()), f"{sum(r.values())}/2 directions")]


class DockerVxlan(Topology):
    name = "docker-vxlan"
    plane = "rawvxlan"
    description = ("two hosts, each a bridge for 172.20.0.0/16 with a container (172.20.0.2, 172.20.0.3); "
                   "isolated until `connect` adds a VXLAN port (id 100) to each bridge")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--connected", action="store_true", help="add the VXLAN ports at once")
        parser.add_argument("--runtime", choices=["netns", "docker"], default="netns",
                            help="containers as plain namespaces (default) or Docker containers: a dockerd per "
                                 "host, `docker network create` and `docker run --net --ip`")

    def model(self, args):
        runtime = getattr(args, "runtime", "netns")  # a library caller may build args without it
        lab = rawvxlan.RawVxlan("docker", runtime=runtime, connected=args.connected)
        # fixed today, checked like any option so that making one configurable stays safe
        check_networks({"underlay": rawvxlan.UNDERLAY, "docker bridge network": lab.docker_net})
        check_vni(lab.docker_vni, "vxlan100 VNI")
        check_port(lab.port, "vxlan100 port")
        return lab

    def packages(self, model):
        return dict(docker.PACKAGES) if model.runtime == "docker" else {}

    def build(self, net, model, progress) -> None:
        rawvxlan.build(net, model, progress)
        if model.connected:
            rawvxlan.connect(net, model)

    def inventory(self, net, model):
        return {"topology": self.name, "hosts": [{"name": h, "underlay_ip": ip} for h, ip in model.hosts],
                "containers": [{"name": c, "host": h, "ip": ip} for c, h, ip in model.containers]}

    def inventory_text(self, net, model) -> str:
        bridge = "bridge br0" if model.runtime != "docker" else f"its own dockerd, network {model.network_name}"
        return "\n".join([f"{h}: eth0 {ip}, {bridge} ({model.docker_net})" for h, ip in model.hosts]
                         + [f"{c} on {h}: {ip}/16" for c, h, ip in model.containers]
                         + ["type `connect` to add the VXLAN port (id 100) to both bridges"])

    def checks(self, net, model):
        (c1, _, ip1), (c2, _, ip2) = model.containers
        ok = {r.src: r.ok for r in ping_matrix([(net[c1], c2, ip2), (net[c2], c1, ip1)], timeout=1)}
        connected = _connected(net)
        if connected:
            return [CheckResult("c1 <-> c2 over vxlan100", all(ok.values()), f"{sum(ok.values())}/2 directions")]
        return [CheckResult("c1 and c2 isolated before VXLAN", not any(ok.values()),
                            "no answer either way (as expected)" if not any(ok.values()) else "they can talk!")]

    def endpoints(self, net, model):
        return [net[c] for c, _h, _ip in model.containers]

    def cli_verbs(self, net, model):
        def do_connect(line: str) -> None:
            if line.strip():
                raise LabError("usage: connect (no arguments)")
            if _connected(net):
                raise LabError("connect: already connected (vxlan100 is on both bridges)")
            rawvxlan.connect(net, model)
            print(f"vxlan100 added to {rawvxlan.bridge_of(model, 'host1')} on host1 and "
                  f"{rawvxlan.bridge_of(model, 'host2')} on host2")
        return {"connect": (do_connect, "connect: add a VXLAN port (id 100) to each host's bridge")}


def _connected(net) -> bool:
    """vxlan100 is on host1 (the kernel's links, over netlink)."""
    from lab.observe import kernel
    return kernel.read(net.name, "host1").link("vxlan100") is not None
