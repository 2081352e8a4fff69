"""The raw kernel VXLAN plane (vxlan-p2p, docker-vxlan) as the registry (lab.planes) sees it."""

from __future__ import annotations

from typing import List

from lab.plane import Address, Plane
from lab.planes.rawvxlan import exercises, pictures


class RawVxlanPlane(Plane):
    name = "rawvxlan"
    title = "raw VXLAN"
    course = 20
    exercise_list = exercises.EXERCISES
    pictures = pictures

    def drift(self, lab, hosts=()):
        from lab.planes.rawvxlan.drift import differences
        return differences(lab, hosts)

    def address_book(self, model) -> List[Address]:
        book = [Address(h, ip, "host", also=((model.p2p_overlay[i],) if model.kind == "p2p" else ()))
                for i, (h, ip) in enumerate(model.hosts)]
        if model.kind == "docker":
            book += [Address(c, ip, "container", node=h) for c, h, ip in model.containers]
        return book


PLANE = RawVxlanPlane()
