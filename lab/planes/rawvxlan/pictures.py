"""Pictures of the raw VXLAN labs (lab.picture), from the model."""

from __future__ import annotations

from lab.picture import Box, Picture


def picture(lab) -> Picture:
    """Two hosts and their VXLAN device (vxlan20, or the bridges that vxlan100 joins) with the containers."""
    p2p = lab.kind == "p2p"
    boxes = []
    for i, (name, ip) in enumerate(lab.hosts):
        dev = (("vxlan20", f"vxlan20\\n{lab.p2p_overlay[i]}/24") if p2p
               else ("br0", f"bridge {lab.docker_net}\\nvxlan100"))
        boxes.append(Box(name, "node", ip, devices=[dev]))
    if not p2p:
        boxes += [Box(c, "pod", ip, node=h, devices=[("eth0", "")]) for c, h, ip in lab.containers]
    (a, _), (b, _) = lab.hosts
    vni = lab.p2p_vni if p2p else lab.docker_vni
    return Picture(f"raw VXLAN ({'point to point' if p2p else 'two docker bridges'})", "172.16.1.0/24", boxes,
                   [(a, b, f"VXLAN VNI {vni}, {lab.port}/udp")], bridge="vxlan20" if p2p else "br0",
                   overlay_dev="vxlan20" if p2p else "br0")
