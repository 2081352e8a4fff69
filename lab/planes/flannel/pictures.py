"""Pictures of a Flannel lab (lab.picture): from the model and from a running lab."""

from __future__ import annotations

from lab.picture import Box, Picture, full_mesh, live_pods_and_hosts, underlay_of


def picture(cluster) -> Picture:
    """The lab as the model describes it: nodes with cni0 and flannel.1 (or host-gw routes), pods, etcd, ext."""
    cfg = cluster.config
    vxlan = cfg.backend == "vxlan"
    boxes = []
    for n in cluster.nodes:
        devices = [("cni0", f"cni0\\n{n.gateway}")]
        devices.append(("flannel.1", f"flannel.1\\n{n.vtep_ip}/32") if vxlan else ("eth0", f"eth0 (host-gw)\\n{n.ip}"))
        boxes.append(Box(n.name, "node", n.ip, devices=devices))
    boxes += [Box(p.name, "pod", p.ip, node=p.node, devices=[("eth0", p.veth)]) for p in cluster.pods]
    boxes.append(Box("ext", "external", cluster.external_ip))
    if cluster.etcd_ip:
        boxes.append(Box("etcd", "service", cluster.etcd_ip))
    if cluster.routed:
        boxes.append(Box("router", "service", f"{cluster.router_ip(0)}, {cluster.router_ip(1)}"))
    tunnels = full_mesh([n.name for n in cluster.nodes], f"VXLAN VNI {cfg.vni}" if vxlan else "host-gw route")
    underlay = " + ".join(s.cidr for s in cluster.segments)
    return Picture(f"Flannel {cfg.backend}, network {cfg.network}", underlay, boxes, tunnels,
                   bridge="cni0", overlay_dev="flannel.1" if vxlan else "eth0")


def live_picture(lab) -> Picture:
    """What the running lab holds: its nodes with cni0 (and flannel.1), the pods by their gateway, etcd, ext."""
    boxes, gateways = [], {}
    for node in lab.nodes:
        addrs = lab.addresses(node)
        devices = [("cni0", f"cni0\\n{addrs['cni0'].ip}" if "cni0" in addrs else "cni0")]
        if "flannel.1" in addrs:
            devices.append(("flannel.1", f"flannel.1\\n{addrs['flannel.1']}"))
        if "cni0" in addrs:
            gateways[str(addrs["cni0"].ip)] = node
        boxes.append(Box(node, "node", lab.underlay_ip(node), devices=devices))
    boxes += live_pods_and_hosts(lab, gateways)
    vxlan = any(d == "flannel.1" for b in boxes for d, _l in b.devices)
    return Picture(f"lab {lab.name}: Flannel (running)", underlay_of(boxes), boxes,
                   full_mesh([b.name for b in boxes if b.role == "node"], "VXLAN" if vxlan else "host-gw route"),
                   "cni0", "flannel.1" if vxlan else "eth0")
