"""Pictures of an OpenShift SDN lab (lab.picture): from the model, from a running lab, and a packet's path
through the running switches (ofproto/trace, node after node over VXLAN)."""

from __future__ import annotations

from typing import List

from lab.picture import Box, PathHop, Picture, full_mesh, live_pods_and_hosts, underlay_of

PORT_NAMES = {"1": "vxlan0", "2": "tun0", "NXM_NX_REG2[]": "pod port (reg2)"}  # br0's fixed ports, for pictures


def picture(cluster) -> Picture:
    """The lab as the model describes it: nodes with br0, tun0 and vxlan0, pods on their ports, tunnels."""
    cn = cluster.network
    boxes = []
    for hs in cluster.hostsubnets:
        boxes.append(Box(hs.name, "node", hs.host_ip, devices=[
            ("br0", "br0\\nvxlan0 = 1, tun0 = 2"), ("tun0", f"tun0\\n{hs.gateway}"),
            ("vxlan0", f"vxlan0\\nVNI from reg0, {cn.vxlan_port}/udp")]))
    boxes += [Box(p.name, "pod", p.ip, node=p.node, devices=[("eth0", f"port {p.ofport}: {p.veth}")])
              for p in cluster.pods]
    if cluster.external:
        boxes.append(Box(cluster.external.name, "external", cluster.external.ip))
    tunnels = full_mesh([hs.name for hs in cluster.hostsubnets], f"VXLAN {cn.vxlan_port}")
    return Picture(f"OpenShift SDN 3.11 ({cn.plugin}), cluster network {cn.cidr}", cluster.underlay, boxes,
                   tunnels, bridge="br0", overlay_dev="vxlan0")


def live_picture(lab) -> Picture:
    """What the running lab holds: its nodes with br0 and tun0, the pods by their gateway, the other hosts."""
    boxes, gateways = [], {}
    for node in lab.nodes:
        addrs = lab.addresses(node)
        devices = [("br0", "br0\\nvxlan0 = 1, tun0 = 2"), ("tun0", f"tun0\\n{addrs['tun0'].ip}"), ("vxlan0", "vxlan0")]
        gateways[str(addrs["tun0"].ip)] = node
        boxes.append(Box(node, "node", lab.underlay_ip(node), devices=devices))
    boxes += live_pods_and_hosts(lab, gateways)
    return Picture(f"lab {lab.name}: OpenShift SDN (running)", underlay_of(boxes), boxes,
                   full_mesh([b.name for b in boxes if b.role == "node"], "VXLAN"), "br0", "vxlan0")


def live_path(lab, src: str, dst: str) -> List[PathHop]:
    """ofproto/trace of an ICMP echo from pod src to dst on the running switches, node after node
    (lab.planes.openshift.observe.follow, on the lab's host handles)."""
    from lab.planes.openshift.observe.follow import follow_vxlan
    from lab.planes.openshift.observe.trace import packet_fields
    lab.need(src, "pod")
    pic = live_picture(lab)
    node = next(b.node for b in pic.boxes if b.name == src)
    src_ip, dst_ip = lab.ip_of(src), lab.ip_of(dst)
    src_mac = lab.sh(src, "cat /sys/class/net/eth0/address").strip()
    dst_is_pod = dst in lab.pods or dst_ip in [b.ip for b in pic.of_role("pod")]
    dst_host = dst if dst in lab.hosts else next((b.name for b in pic.of_role("pod") if b.ip == dst_ip), "")
    dst_mac = lab.sh(dst_host if dst_is_pod else node,
                     f"cat /sys/class/net/{'eth0' if dst_is_pod else 'tun0'}/address").strip()
    ofport = int(lab.sh(node, f"ovs-vsctl --bare --columns=ofport find interface external_ids:sandbox={src}"))
    node_ips = {b.name: b.ip for b in pic.of_role("node")}
    hops = follow_vxlan(lab.host, node_ips, node, packet_fields(src_ip, src_mac, dst_ip, dst_mac), ofport)
    return [PathHop(n, t.tables, f"drop in table {t.tables[-1] if t.tables else 0}" if t.dropped
                    else f"output {PORT_NAMES.get(str(t.output_port), f'port {t.output_port}')}") for n, t in hops]
