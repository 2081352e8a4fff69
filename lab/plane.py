"""What a data plane offers the core and the front ends: one small interface, asked through the registry
(lab.planes). A plane overrides what it has; what it lacks says so in one line (NotOffered), so no front
end switches on a plane's name or on the shape of a model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from lab.errors import BadInput

if TYPE_CHECKING:  # for the annotations only: these modules use the planes, not the other way round
    from lab.faults import Fault
    from lab.workshop.exercise import Exercise


class NotOffered(BadInput):
    """A plane does not offer what was asked (a trace on a lab without Open vSwitch, say)."""


@dataclass(frozen=True)
class Address:
    """An entry of a lab's address book: a name a person types, the address packets go to, what it is."""

    name: str
    ip: str
    role: str  # node, pod, external, etcd, router, host, container
    node: str = ""  # where a pod runs
    also: Tuple[str, ...] = ()  # more of its addresses (a node's gateway on tun0 or cni0)


class Plane:
    """A data plane: a package under lab/planes whose `plane` module holds PLANE, an instance of a subclass."""

    name = ""
    title = ""  # as a person names it: "OpenShift SDN"
    course = 100  # where the plane's exercises stand in the workshop's course (lower first)
    port_names: Dict[str, str] = {}  # its switch's fixed ports by number, as pictures name them
    fault_table: Dict[str, Fault] = {}  # by fault name
    exercise_list: List[Exercise] = []  # in course order
    pictures = None  # a module with picture(model)

    def _not(self, what: str) -> NotOffered:
        return NotOffered(f"{what} is not offered by {self.name} labs")

    # -- break/fix and teaching

    def faults(self) -> Dict[str, Fault]:
        """Fault name -> lab.faults.Fault."""
        return self.fault_table

    def exercises(self) -> List[Exercise]:
        """lab.workshop.exercise.Exercise objects, in course order."""
        return self.exercise_list

    # -- pictures (lab.picture)

    def picture(self, model):
        """The lab as the model describes it, before anything exists."""
        if self.pictures is None:
            raise self._not("a picture")
        return self.pictures.picture(model)

    def live_picture(self, lab):
        """What a running lab holds (lab.livelab.LiveLab)."""
        raise self._not("a picture of a running lab")

    def path(self, lab, src: str, dst: str):
        """[lab.picture.PathHop]: a packet's way through a running lab's switches, node after node."""
        raise self._not("draw path (a switch trace)")

    def flows(self, model, node: str) -> List[str]:
        """A node's switch flows as the plane renders them (the pipeline picture)."""
        raise self._not("a switch pipeline")

    def live_flows(self, lab, node: str) -> List[str]:
        raise self._not("a switch pipeline")

    def drift(self, lab, hosts: Sequence[str] = ()) -> List[Tuple[str, str, str]]:
        """(host, kind, `+ held, not rendered` | `- rendered, not held`) of a running lab (`lab diff`); lab is a
        lab.livelab.LiveLab that answers ask(verb, line) (the lab's control verbs)."""
        raise self._not("a drift view (lab diff)")

    # -- observing a lab built in this process

    def address_book(self, model) -> List[Address]:
        return []

    def trace(self, net, model, src: str, dst: str, proto: str = "icmp", dst_port: Optional[int] = None):
        """[(node, lab.observe.trace.Trace)]: the switch's trace on every node the packet crosses."""
        raise self._not("a switch trace")

    def request(self, net, model, src: str, target: str, proto: str, count: int, timeout: float) -> list:
        """Requests from src to `target` (HOST:PORT or IP:PORT): [lab.observe.request.Answer]."""
        from lab.observe.request import requests, split_target
        host, port = split_target(target)
        ip = next((a.ip for a in self.address_book(model) if a.name == host), host)
        return requests(net[src], ip, port, proto, count, timeout)

    def oc(self, net, model, line: str):
        """An `oc` line on a lab with an API server: the change it made."""
        raise self._not("oc (an API server)")


def book_ip(book: Sequence[Address], name: str) -> Optional[str]:
    return next((a.ip for a in book if a.name == name), None)


def book_name(book: Sequence[Address], ip: str) -> Optional[str]:
    return next((a.name for a in book if ip == a.ip or ip in a.also), None)
