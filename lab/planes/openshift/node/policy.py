"""NetworkPolicy -> table-80 flows, as openshift-sdn 3.11's networkPolicyPlugin writes them (pure).

Mirrors pkg/network/node/networkpolicy.go: parseNetworkPolicy() turns a policy into match strings
(dest + peer + port, sorted) and the pod IPs it selects; syncNamespace() turns a namespace's parsed
policies into its `table=80, reg1=<vnid>` flows. Inputs are plain frozen dataclasses holding the parts of
the Kubernetes objects the plugin reads, so any object store can feed them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from lab.errors import BadInput


@dataclass(frozen=True)
class NamespaceInput:
    """A Namespace: metadata.name and metadata.labels (what namespaceSelector matches)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class PodInput:
    """A Pod: metadata.namespace, metadata.name, metadata.labels and status.podIP."""

    namespace: str
    name: str
    ip: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class PolicyInput:
    """A networking.k8s.io/v1 NetworkPolicy: metadata.namespace/name and spec, with the spec's fields
    as the API has them: pod_selector = spec.podSelector (a LabelSelector dict: matchLabels,
    matchExpressions), ingress = spec.ingress (a list of {"from": [peer...], "ports": [{"protocol",
    "port"}...]}), policy_types = spec.policyTypes (defaulted to ["Ingress"] as the API server does)."""

    namespace: str
    name: str
    pod_selector: Mapping[str, Any] = field(default_factory=dict, hash=False)
    ingress: Sequence[Mapping[str, Any]] = field(default_factory=tuple, hash=False)
    policy_types: Tuple[str, ...] = ("Ingress",)


@dataclass(frozen=True)
class ParsedPolicy:
    """npPolicy: the policy's match strings and the pod IPs it selects (None: every pod of the namespace)."""

    flows: Tuple[str, ...]
    selected_ips: Optional[Tuple[str, ...]]


def selector_is_empty(selector: Optional[Mapping[str, Any]]) -> bool:
    return not (selector or {}).get("matchLabels") and not (selector or {}).get("matchExpressions")


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelectorAsSelector(sel).Matches(labels): matchLabels and matchExpressions ANDed."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), list(expr.get("values") or [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise BadInput(f"label selector operator {op!r} is not valid (In, NotIn, Exists, DoesNotExist)")
    return True


class Unsupported(Exception):
    """A policy the 3.11 plugin cannot express; it treats the policy as deny-all."""


def _port_flows(rule: Mapping[str, Any]) -> List[str]:
    ports = rule.get("ports") or []
    if not ports:
        return [""]
    flows = []
    for port in ports:
        protocol = port.get("protocol") or "TCP"
        if protocol not in ("TCP", "UDP"):
            raise Unsupported(f"policy specifies unrecognized protocol {protocol!r}")
        number = port.get("port")
        if number is None:
            raise Unsupported("port fields with no port value are not implemented")
        if isinstance(number, str) or isinstance(number, bool):
            raise Unsupported(f"named port values ({number!r}) are not implemented")
        if number < 0 or number > 0xFFFF:
            raise Unsupported(f"port value out of bounds {number!r}")
        flows.append(f"{protocol.lower()}, tp_dst={number}, ")
    return flows


def parse_policy(policy: PolicyInput, vnid: int, pods: Sequence[PodInput], namespaces: Sequence[NamespaceInput],
                 netids: Mapping[str, int]) -> ParsedPolicy:
    """parseNetworkPolicy(), with updateNetworkPolicy()'s fallback: an unsupported policy denies all."""
    try:
        return _parse(policy, vnid, pods, namespaces, netids)
    except Unsupported:
        return ParsedPolicy(flows=(), selected_ips=None)


def _select_pods(namespace: str, selector: Mapping[str, Any], pods: Sequence[PodInput]) -> List[str]:
    return [p.ip for p in pods if p.namespace == namespace and selector_matches(selector, p.labels)]


def _selected_namespaces(selector: Mapping[str, Any], namespaces: Sequence[NamespaceInput],
                         netids: Mapping[str, int]) -> Dict[str, int]:
    # the plugin walks its namespaces by VNID, and only those with a NetNamespace count
    return {ns.name: netids[ns.name] for ns in namespaces
            if ns.name in netids and selector_matches(selector, ns.labels)}


def _parse(policy: PolicyInput, vnid: int, pods: Sequence[PodInput], namespaces: Sequence[NamespaceInput],
           netids: Mapping[str, int]) -> ParsedPolicy:
    if "Ingress" not in policy.policy_types:
        # an egress-only policy is, to this plugin, one that selects no pod
        return ParsedPolicy(flows=(), selected_ips=("",))
    if selector_is_empty(policy.pod_selector):
        selected: Optional[List[str]] = None
        dest_flows = [""]
    else:
        selected = _select_pods(policy.namespace, policy.pod_selector, pods)
        dest_flows = [f"ip, nw_dst={ip}, " for ip in selected]
    flows: List[str] = []
    for rule in policy.ingress:
        port_flows = _port_flows(rule)
        peers = rule.get("from") or []
        peer_flows = [] if peers else [""]
        for peer in peers:
            pod_sel, ns_sel = peer.get("podSelector"), peer.get("namespaceSelector")
            if pod_sel is not None and ns_sel is None:
                if selector_is_empty(pod_sel):  # every pod of the policy's namespace
                    peer_flows.append(f"reg0={vnid}, ")
                else:
                    peer_flows += [f"reg0={vnid}, ip, nw_src={ip}, "
                                   for ip in _select_pods(policy.namespace, pod_sel, pods)]
            elif ns_sel is not None and pod_sel is None:
                if selector_is_empty(ns_sel):  # every namespace
                    peer_flows.append("")
                else:
                    peer_flows += [f"reg0={v}, " for v in _selected_namespaces(ns_sel, namespaces, netids).values()]
            elif pod_sel is not None and ns_sel is not None:
                chosen = _selected_namespaces(ns_sel, namespaces, netids)
                peer_flows += [f"reg0={chosen[p.namespace]}, ip, nw_src={p.ip}, " for p in pods
                               if p.namespace in chosen and selector_matches(pod_sel, p.labels)]
            # neither (an ipBlock peer): 3.11 reads nil selectors, which match nothing
        flows += [d + p + o for d in dest_flows for p in peer_flows for o in port_flows]
    return ParsedPolicy(flows=tuple(sorted(flows)), selected_ips=None if selected is None else tuple(selected))


def namespace_flows(vnid: int, parsed: Sequence[ParsedPolicy]) -> List[str]:
    """syncNamespace() of a namespace in use on the node: allows, then drops for selected pods, then the
    default allow when no policy selects every pod (so a namespace without policies allows all)."""
    flows = []
    all_selected = False
    for npp in parsed:
        flows += [f"table=80, priority=150, reg1={vnid}, {f} actions=output:NXM_NX_REG2[]" for f in npp.flows]
        if npp.selected_ips is None:
            all_selected = True
    if not all_selected:
        seen: List[str] = []
        for npp in parsed:
            for ip in npp.selected_ips or ():
                # "": an egress-only policy; 3.11 would write `nw_dst=,` here, which ovs-ofctl refuses,
                # failing the whole sync: the lab leaves it out
                if ip and ip not in seen:
                    seen.append(ip)
                    flows.append(f"table=80, priority=100, reg1={vnid}, ip, nw_dst={ip}, actions=drop")
        flows.append(f"table=80, priority=50, reg1={vnid}, actions=output:NXM_NX_REG2[]")
    return flows
