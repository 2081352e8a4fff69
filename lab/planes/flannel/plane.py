"""The Flannel plane as the registry (lab.planes) sees it."""

from __future__ import annotations

from typing import List

from lab.plane import Address, Plane
from lab.planes.flannel import exercises, faults, pictures


class FlannelPlane(Plane):
    name = "flannel"
    title = "Flannel"
    course = 30
    fault_table = faults.FAULTS
    exercise_list = exercises.EXERCISES
    pictures = pictures
    live_picture = staticmethod(pictures.live_picture)

    def drift(self, lab, hosts=()):
        from lab.planes.flannel.drift import differences
        return differences(lab, hosts)

    def address_book(self, model) -> List[Address]:
        from lab.planes.flannel.realize import ETCD_HOST, EXT_HOST, ROUTER_HOST
        book = [Address(n.name, n.ip, "node", also=(n.gateway,)) for n in model.nodes]
        book += [Address(p.name, p.ip, "pod", node=p.node) for p in model.pods]
        book.append(Address(EXT_HOST, model.external_ip, "external"))
        if model.etcd_ip:
            book.append(Address(ETCD_HOST, model.etcd_ip, "etcd"))
        if model.routed:
            book.append(Address(ROUTER_HOST, model.router_ip(0), "router", also=(model.router_ip(1),)))
        return book


PLANE = FlannelPlane()
