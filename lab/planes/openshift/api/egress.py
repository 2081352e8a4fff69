"""The API side of EgressIPs, EgressNetworkPolicies and multicast, pure: `oc patch hostsubnet|netnamespace`,
`oc annotate netnamespace`, EgressNetworkPolicy objects and these kinds in manifests, validated as the API
server validates them; after an egress IP edit the master reallocates (lab.planes.openshift.master.egress)."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import replace
from typing import Mapping, Optional, Sequence, Tuple

from lab.errors import BadInput
from lab.planes.openshift.api import fields
from lab.planes.openshift.api.objects import EgressNetworkPolicy, check_labels, check_name
from lab.planes.openshift.master.egress import reallocate_egress_ips
from lab.planes.openshift.model import VNID_PLUGINS, Cluster, HostSubnet

MAX_EGRESS_RULES = 50  # EgressNetworkPolicyMaxRules: the API refuses more
KINDS = ("HostSubnet", "NetNamespace", "EgressNetworkPolicy")


def _plugin(cluster: Cluster) -> str:
    return cluster.network.plugin.rsplit("-", 1)[-1]


def _ip_list(value: object, where: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(f"{where} must be a list of IP address strings, not {fields.shown(value)}")
    for v in value:
        try:
            if str(ipaddress.IPv4Address(v)) != v:  # 172.16.1.100 only, as the API server's ParseIP reads it
                raise ValueError(v)
        except ValueError:
            raise BadInput(f"{where}: {fields.shown(v)} is not an IPv4 address") from None
    if len(set(value)) != len(value):
        raise BadInput(f"{where}: {next(v for v in value if value.count(v) > 1)} is listed twice")
    return tuple(value)


def _check_egress_ip(cluster: Cluster, ip: str, node: str) -> None:
    """assignEgressIP()'s checks, made when the edit is given: the address must be a host address of the network
    of the interface that holds the node IP (not its network or broadcast address), and must not be the
    address of any host of the underlay (a node, the external host)."""
    under = ipaddress.ip_network(cluster.underlay)
    if ipaddress.ip_address(ip) not in under or ip in (str(under.network_address), str(under.broadcast_address)):
        raise BadInput(f'egress IP "{ip}" is not in local network {under} of interface eth0 of {node}')
    owner = cluster.owner_of_ip(ip)
    if owner is not None:
        raise BadInput(f"egress IP {ip} is already the address of {owner}")


def _check_unclaimed(cluster: Cluster, ip: str, kind: str, name: str) -> None:
    """One egress IP, one holder of each kind: a second node or namespace naming it is refused (3.11 would
    accept it and then drop the traffic of every namespace that asks for it)."""
    if kind == "hostsubnet":
        other = next((hs.name for hs in cluster.hostsubnets if hs.name != name and ip in hs.egress_ips), None)
    else:
        other = next((n.name for n in cluster.netnamespaces if n.name != name and ip in n.egress_ips), None)
    if other is not None:
        raise BadInput(f"egress IP {ip} is already in use by {kind} {other}")


def patch_hostsubnet(cluster: Cluster, node: str, patch: Mapping) -> HostSubnet:
    """`oc patch hostsubnet NODE -p '{"egressIPs": [...], "egressCIDRs": [...]}'` (a merge patch)."""
    try:
        hs = cluster.hostsubnet(node)
    except KeyError:
        raise BadInput(f'hostsubnets.network.openshift.io "{node}" not found') from None
    if not isinstance(patch, Mapping):
        raise BadInput(f"a patch is a JSON object, not {patch!r}")
    unknown = sorted(set(patch) - {"egressIPs", "egressCIDRs"})
    if unknown:
        raise BadInput(f"hostsubnet {node}: the lab patches egressIPs and egressCIDRs only, not {unknown[0]}")
    ips = _ip_list(patch["egressIPs"], "egressIPs") if "egressIPs" in patch else hs.egress_ips
    cidrs = hs.egress_cidrs
    if "egressCIDRs" in patch:
        value = patch["egressCIDRs"] or []
        if not isinstance(value, list):
            raise BadInput(f"egressCIDRs must be a list of CIDRs, not {fields.shown(value)}")
        under = ipaddress.IPv4Network(cluster.underlay)
        for c in value:
            try:
                if not isinstance(c, str) or "/" not in c:
                    raise ValueError(c)
                net = ipaddress.IPv4Network(c)
            except ValueError:
                raise BadInput(f"egressCIDRs: {fields.shown(c)} is not a valid CIDR") from None
            if not net.subnet_of(under):
                raise BadInput(f"egressCIDRs: {c} is not in local network {under} of interface eth0 of {node}")
        cidrs = tuple(value)
    if ips and _plugin(cluster) not in VNID_PLUGINS:
        raise BadInput(f"egress IPs need the multitenant or networkpolicy plugin (this cluster runs {cluster.network.plugin})")
    for ip in ips:
        if ip not in hs.egress_ips:
            _check_egress_ip(cluster, ip, node)
            _check_unclaimed(cluster, ip, "hostsubnet", node)
    new = replace(hs, egress_ips=ips, egress_cidrs=cidrs)
    cluster.hostsubnets[cluster.hostsubnets.index(hs)] = new
    reallocate_egress_ips(cluster)
    return cluster.hostsubnet(node)


def _netnamespace(cluster: Cluster, name: str) -> str:
    if name not in cluster.netids:
        raise BadInput(f'netnamespaces.network.openshift.io "{name}" not found'
                       + ("" if cluster.netids else f" (the {_plugin(cluster)} plugin has no NetNamespaces)"))
    return name


def patch_netnamespace(cluster: Cluster, name: str, patch: Mapping) -> Tuple[str, ...]:
    """`oc patch netnamespace NS -p '{"egressIPs": [...]}'` (a merge patch); returns the new egressIPs."""
    _netnamespace(cluster, name)
    if not isinstance(patch, Mapping):
        raise BadInput(f"a patch is a JSON object, not {patch!r}")
    unknown = sorted(set(patch) - {"egressIPs"})
    if unknown:
        raise BadInput(f"netnamespace {name}: the lab patches egressIPs only, not {unknown[0]}"
                       + (" (use oc adm pod-network)" if unknown[0] == "netid" else ""))
    ips = _ip_list(patch.get("egressIPs"), "egressIPs")
    for ip in ips:
        if ip not in cluster.netnamespace(name).egress_ips:
            _check_egress_ip(cluster, ip, f"the node that would host it for {name}")
            _check_unclaimed(cluster, ip, "netnamespace", name)
    cluster.put_netnamespace(replace(cluster.netnamespace(name), egress_ips=ips))
    reallocate_egress_ips(cluster)
    return ips


def annotate_netnamespace(cluster: Cluster, name: str, key: str, value: Optional[str], overwrite: bool = False) -> None:
    """`oc annotate netnamespace NS key=value [--overwrite]`, or `key-` (value None) to remove it."""
    _netnamespace(cluster, name)
    netns = cluster.netnamespace(name)
    current = dict(netns.annotations)
    if value is None:
        current.pop(key, None)
    else:
        if key in current and current[key] != value and not overwrite:
            raise BadInput(f"--overwrite is false but found the following declared annotation(s): "
                           f"'{key}' already has a value ({current[key]})")
        current[key] = value
    cluster.put_netnamespace(replace(netns, annotations=current))


def egress_rules(spec: object, where: str) -> Tuple[Tuple[str, str], ...]:
    """spec.egress as the API validates it: Allow|Deny, exactly one of to.cidrSelector / to.dnsName."""
    if not isinstance(spec, Mapping) or set(spec) - {"egress"}:
        raise BadInput(f"{where}: spec has one field, egress (a list of rules)")
    rules = spec.get("egress") or []
    if not isinstance(rules, list):
        raise BadInput(f"{where}: spec.egress must be a list of rules")
    if len(rules) > MAX_EGRESS_RULES:
        raise BadInput(f"{where}: spec.egress has {len(rules)} rules, at most {MAX_EGRESS_RULES} are allowed")
    out = []
    for i, rule in enumerate(rules):
        at = f"{where}: spec.egress[{i}]"
        if not isinstance(rule, Mapping) or set(rule) - {"type", "to"}:
            raise BadInput(f"{at} must have type and to")
        if rule.get("type") not in ("Allow", "Deny"):
            raise BadInput(f"{at}.type must be Allow or Deny, not {rule.get('type')!r}")
        to = rule.get("to") or {}
        if not isinstance(to, Mapping) or set(to) - {"cidrSelector", "dnsName"}:
            raise BadInput(f"{at}.to has cidrSelector or dnsName")
        if "dnsName" in to:
            raise BadInput(f"{at}.to.dnsName: the lab has no DNS; give a cidrSelector instead")
        cidr = to.get("cidrSelector")
        try:
            ipaddress.IPv4Network(cidr, strict=False)
        except (ValueError, TypeError):
            raise BadInput(f"{at}.to.cidrSelector {cidr!r} is not a valid CIDR") from None
        if "/" not in str(cidr):
            raise BadInput(f"{at}.to.cidrSelector {cidr!r} is not a CIDR (write {cidr}/32)")
        out.append((rule["type"], str(cidr)))
    return tuple(out)


def set_egress_network_policy(cluster: Cluster, namespace: str, name: str, egress: Sequence[Mapping]) -> EgressNetworkPolicy:
    """Create or replace an EgressNetworkPolicy: egress = [{"type": "Allow"|"Deny", "to": {"cidrSelector": CIDR}}]."""
    check_name("EgressNetworkPolicy", name)
    if namespace not in (n.name for n in cluster.namespaces):
        raise BadInput(f'namespaces "{namespace}" not found')
    if _plugin(cluster) not in VNID_PLUGINS:
        raise BadInput(f"EgressNetworkPolicy needs the multitenant or networkpolicy plugin (this cluster runs "
                       f"{cluster.network.plugin})")
    policy = EgressNetworkPolicy(name, namespace, egress_rules({"egress": list(egress)}, f"EgressNetworkPolicy {namespace}/{name}"))
    cluster.egress_policies[:] = [p for p in cluster.egress_policies if p.key != policy.key] + [policy]
    return policy


def delete_egress_network_policy(cluster: Cluster, namespace: str, name: str) -> None:
    if not any(p.key == f"{namespace}/{name}" for p in cluster.egress_policies):
        raise BadInput(f'Error from server (NotFound): egressnetworkpolicies.network.openshift.io "{name}" not found')
    cluster.egress_policies[:] = [p for p in cluster.egress_policies if p.key != f"{namespace}/{name}"]


def apply_documents(cluster: Cluster, docs: Sequence[Tuple[str, dict]]) -> None:
    """HostSubnet and NetNamespace objects (their egressIPs, egressCIDRs, annotations) and EgressNetworkPolicy
    objects from manifests, after the NetNamespaces exist. A HostSubnet or NetNamespace must name an existing
    node or namespace: the lab makes them, a manifest only sets their fields."""
    for source, obj in docs:
        kind = obj.get("kind")
        if kind not in KINDS:
            continue
        try:
            apply_object(cluster, obj)
        except BadInput as exc:
            raise BadInput(f"{source}: {exc}") from None


def apply_object(cluster: Cluster, obj: dict) -> None:
    kind = obj.get("kind")
    meta = fields.obj(obj.get("metadata"), {"name", "namespace", "labels", "annotations"}, f"{kind}: metadata")
    name = check_name(str(kind), meta.get("name"), label=kind == "NetNamespace")
    check_labels(meta.get("labels"), f"{kind} {name}: metadata.labels")
    annotations = fields.string_map(meta.get("annotations"), f"{kind} {name}: metadata.annotations")
    check_labels(dict.fromkeys(annotations, ""), f"{kind} {name}: metadata.annotations")
    if kind == "HostSubnet":
        extra = sorted(set(obj) - {"apiVersion", "kind", "metadata", "host", "hostIP", "subnet", "egressIPs", "egressCIDRs"})
        if extra:
            raise BadInput(f"unknown field HostSubnet.{extra[0]}")
        try:
            hs = cluster.hostsubnet(name)
        except KeyError:
            raise BadInput(f"HostSubnet {name}: no such node (nodes: {', '.join(h.name for h in cluster.hostsubnets)})") from None
        for field_name, have in (("hostIP", hs.host_ip), ("subnet", hs.subnet), ("host", hs.name)):
            if field_name in obj and obj[field_name] != have:
                raise BadInput(f"HostSubnet {name}: {field_name} is {have}, not {obj[field_name]!r} (the lab allocates it)")
        patch_hostsubnet(cluster, name, {k: obj[k] for k in ("egressIPs", "egressCIDRs") if k in obj})
    elif kind == "NetNamespace":
        extra = sorted(set(obj) - {"apiVersion", "kind", "metadata", "netname", "netid", "egressIPs"})
        if extra:
            raise BadInput(f"unknown field NetNamespace.{extra[0]}")
        _netnamespace(cluster, name)
        if "netid" in obj and obj["netid"] != cluster.netids[name]:
            raise BadInput(f"NetNamespace {name}: netid is {cluster.netids[name]}, not {obj['netid']!r} "
                           "(change it with oc adm pod-network)")
        if "egressIPs" in obj:
            patch_netnamespace(cluster, name, {"egressIPs": obj["egressIPs"]})
        for key, value in annotations.items():
            annotate_netnamespace(cluster, name, key, value, overwrite=True)
    else:
        extra = sorted(set(obj) - {"apiVersion", "kind", "metadata", "spec"})
        if extra:
            raise BadInput(f"unknown field EgressNetworkPolicy.{extra[0]}")
        namespace = fields.string(meta.get("namespace"), f"EgressNetworkPolicy {name}: metadata.namespace") or "default"
        rules = egress_rules(obj.get("spec") or {}, f"EgressNetworkPolicy {namespace}/{name}")
        set_egress_network_policy(cluster, namespace, name,
                                  [{"type": t, "to": {"cidrSelector": c}} for t, c in rules])


def parse_patch(text: str) -> dict:
    try:
        patch = json.loads(text)
    except ValueError as exc:
        raise BadInput(f"the patch is not valid JSON: {exc}") from None
    if not isinstance(patch, dict):
        raise BadInput(f"a patch is a JSON object, not {text}")
    return patch
