"""vxlan-p2p: two hosts joined by a point-to-point kernel VXLAN (vxlan20, 10.0.136.0/24)."""

from __future__ import annotations

import ipaddress

from lab.planes.rawvxlan import realize as rawvxlan
from lab.observe.ping import ping_matrix
from lab.topology import CheckResult, Topology
from lab.validate import check_networks, check_port, check_vni


class VxlanP2P(Topology):
    name = "vxlan-p2p"
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


TOPOLOGY = VxlanP2P()
