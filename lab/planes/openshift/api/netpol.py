"""A NetworkPolicy's spec as the API server (1.11) decodes and validates it, pure: ValidateNetworkPolicySpec's
selectors, peers, ports and policyTypes, each field's type and range. The renderer
(lab.planes.openshift.node.policy) then only ever reads a spec the API server would have stored."""

from __future__ import annotations

import ipaddress
from typing import Callable

from lab.errors import BadInput
from lab.planes.openshift.api import fields

SPEC = {"podSelector", "ingress", "egress", "policyTypes"}
PEER = {"podSelector", "namespaceSelector", "ipBlock"}
PORT = {"port", "protocol"}
POLICY_TYPES = ("Ingress", "Egress")


def check_spec(spec: object, at: str, check_selector: Callable[[object, str], dict]) -> dict:
    """The spec, unchanged, once every field is valid; else one BadInput naming the field."""
    checked = fields.obj(spec, SPEC, f"{at}: spec")
    if "podSelector" not in checked:
        raise BadInput(f"{at}: spec.podSelector is required (an empty one, {{}}, selects every pod)")
    check_selector(checked["podSelector"], f"{at}: spec.podSelector")
    for direction, peers_field in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(fields.array(checked.get(direction), f"{at}: spec.{direction}")):
            where = f"{at}: spec.{direction}[{i}]"
            rule = fields.obj(rule, {peers_field, "ports"}, where)
            for j, port in enumerate(fields.array(rule.get("ports"), f"{where}.ports")):
                _port(port, f"{where}.ports[{j}]")
            for j, peer in enumerate(fields.array(rule.get(peers_field), f"{where}.{peers_field}")):
                _peer(peer, f"{where}.{peers_field}[{j}]", check_selector)
    types = fields.array(checked.get("policyTypes"), f"{at}: spec.policyTypes")
    for i, kind in enumerate(types):
        fields.choice(kind, f"{at}: spec.policyTypes[{i}]", POLICY_TYPES, "")
    if len(types) > 2 or len(set(types)) != len(types):
        raise BadInput(f"{at}: spec.policyTypes may not specify more than two policyTypes, nor one twice")
    return checked


def _port(port: object, where: str) -> None:
    checked = fields.obj(port, PORT, where)
    fields.choice(checked.get("protocol"), f"{where}.protocol", ("TCP", "UDP"), "TCP")
    if checked.get("port") is not None:  # no port: every port of the protocol
        fields.port_or_name(checked["port"], f"{where}.port")


def _peer(peer: object, where: str, check_selector: Callable[[object, str], dict]) -> None:
    checked = fields.obj(peer, PEER, where)
    given = [k for k in PEER if checked.get(k) is not None]
    if not given:
        raise BadInput(f"{where}: must specify a peer (podSelector, namespaceSelector or ipBlock)")
    if "ipBlock" in given and len(given) > 1:
        raise BadInput(f"{where}: may not specify more than 1 peer: ipBlock stands alone")
    for sel in ("podSelector", "namespaceSelector"):
        if sel in given:
            check_selector(checked[sel], f"{where}.{sel}")
    if "ipBlock" in given:
        block = fields.obj(checked["ipBlock"], {"cidr", "except"}, f"{where}.ipBlock")
        cidr = _cidr(block.get("cidr"), f"{where}.ipBlock.cidr")
        for k, text in enumerate(fields.array(block.get("except"), f"{where}.ipBlock.except")):
            inner = _cidr(text, f"{where}.ipBlock.except[{k}]")
            if not inner.subnet_of(cidr) or inner == cidr:
                raise BadInput(f"{where}.ipBlock.except[{k}] {inner} must be strictly within cidr {cidr}")


def _cidr(value: object, where: str) -> ipaddress.IPv4Network:
    text = fields.string(value, where)
    try:
        if "/" not in text:
            raise ValueError(text)
        return ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise BadInput(f"{where} {fields.shown(value)} is not a valid CIDR") from None
