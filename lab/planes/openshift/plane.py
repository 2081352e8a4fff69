"""The OpenShift SDN 3.11 plane as the registry (lab.planes) sees it."""

from __future__ import annotations

from typing import List, Optional

from lab.errors import BadInput
from lab.plane import Address, Plane
from lab.planes.openshift import exercises, faults, pictures


class OpenShiftPlane(Plane):
    name = "openshift"
    title = "OpenShift SDN"
    course = 10
    fault_table = faults.FAULTS
    exercise_list = exercises.EXERCISES
    pictures = pictures
    live_picture = staticmethod(pictures.live_picture)
    port_names = pictures.PORT_NAMES

    def path(self, lab, src: str, dst: str):
        return pictures.live_path(lab, src, dst)

    def flows(self, model, node: str) -> List[str]:
        from lab.planes.openshift.node.flows import render_node_flows
        if node not in [h.name for h in model.hostsubnets]:
            raise BadInput(f"no node {node!r} (nodes: {', '.join(h.name for h in model.hostsubnets)})")
        return render_node_flows(model, node)

    def live_flows(self, lab, node: str) -> List[str]:
        from lab.observe.flows import dump
        return [f.line for f in dump(lab.host(lab.need(node, "node")))]

    def drift(self, lab, hosts=()):
        from lab.workshop import drift
        return drift.found(lab, list(hosts) or None, drift.DIFF_KINDS)

    def address_book(self, model) -> List[Address]:
        book = [Address(hs.name, hs.host_ip, "node", also=(hs.gateway,)) for hs in model.hostsubnets]
        book += [Address(p.host, p.ip, "pod", node=p.node) for p in model.pods]
        if model.external:
            book.append(Address(model.external.name, model.external.ip, "external"))
        return book

    def trace(self, net, model, src: str, dst: str, proto: str = "icmp", dst_port: Optional[int] = None):
        from lab.planes.openshift.observe.trace import trace_pod
        return trace_pod(net, model, src, dst, proto, dst_port)

    def request(self, net, model, src: str, target: str, proto: str, count: int, timeout: float) -> list:
        from lab.planes.openshift.observe.request import request_many
        return request_many(net, model, src, target, proto, count, timeout)

    def oc(self, net, model, line: str):
        from lab.planes.openshift.topology import oc_session
        return oc_session(net, model).run(line)


PLANE = OpenShiftPlane()
