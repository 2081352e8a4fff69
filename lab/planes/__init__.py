"""The registry of data planes. Every package here registers itself: its module `plane` holds PLANE (a
lab.plane.Plane). The core and the front ends ask this registry for anything a plane does; none of them
imports a plane, and no list here names one: a new plane is one more package."""

from __future__ import annotations

import importlib
import pkgutil
from typing import List

from lab.errors import BadInput
from lab.plane import Plane


def names() -> List[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)


def get(name: str) -> Plane:
    if name not in names():
        raise BadInput(f"unknown data plane {name!r} (known: {', '.join(names())})")
    return importlib.import_module(f"{__name__}.{name}.plane").PLANE


def every() -> List[Plane]:
    """All planes, in the order of the workshop's course."""
    return sorted((get(n) for n in names()), key=lambda p: (p.course, p.name))


def offering(method: str) -> List[Plane]:
    """The planes that offer one of the interface's capabilities (their class overrides it)."""
    return [p for p in every() if getattr(type(p), method) is not getattr(Plane, method)]


def not_offered(exc: Exception, method: str) -> BadInput:
    """A NotOffered refusal, with the planes that do offer the capability."""
    titles = [p.title for p in offering(method)]
    return BadInput(f"{exc}" + (f"; {', '.join(titles)} labs offer it" if titles else ""))
