"""EgressIPs and EgressNetworkPolicies as openshift-sdn 3.11 programs them, and the cluster edits that set
them (`oc patch hostsubnet|netnamespace`, `oc annotate netnamespace`, EgressNetworkPolicy objects). Pure.

EgressIP (pkg/network/common/egressip.go, node/egressip.go, ovscontroller.go, iptables.go): a NetNamespace
asks for egressIPs, a HostSubnet hosts them. An IP is active when exactly one node hosts it and exactly one
VNID asks for it; a namespace uses the first of its IPs that is assigned (skipping offline nodes only when
it has more than one), else its traffic is dropped. Every node sends the namespace's external traffic
(table 100, by VNID) through the tunnel to the egress node; the egress node marks it (pkt_mark, from the
VNID) for tun0, where OPENSHIFT-MASQUERADE SNATs that mark to the egress IP, which it holds as a second
address of its underlay interface.

On the userspace (netdev) datapath pkt_mark does not reach the kernel; the lab's carrier: the egress flow
also writes a marker MAC (from the VNID) into eth_src, and the node's mangle PREROUTING turns `-i tun0
--mac-source <marker>` into the same mark before nat POSTROUTING. The SNAT rule stays as 3.11 writes it.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, replace
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from lab.errors import BadInput
from lab.planes.openshift.model import Cluster, HostSubnet
from lab.planes.openshift.api.objects import EgressNetworkPolicy, check_name

MASQUERADE_BIT = 1 << 0  # 3.11 forces kube-proxy's masqueradeBit to 0: mark 0x1/0x1
MULTICAST_ANNOTATION = "netnamespace.network.openshift.io/multicast-enabled"
MAX_EGRESS_RULES = 50  # EgressNetworkPolicyMaxRules: the API refuses more
CARRIER_PREFIX = "02:e9:00"  # netdev datapath: the marker MAC is this prefix + the VNID's three bytes
VNID_PLUGINS = ("multitenant", "networkpolicy")  # SupportsVNIDs(): the plugins with EgressIP and multicast


def mark_for_vnid(vnid: int, masquerade_bit: int = MASQUERADE_BIT) -> str:
    """getMarkForVNID(): a non-zero mark without the masquerade bit, distinct per VNID, as `0x%08x`."""
    if vnid == 0:
        vnid = 0xff000000
    if vnid & masquerade_bit:
        vnid = (vnid | 0x01000000) ^ masquerade_bit
    return f"0x{vnid:08x}"


def shown(mark: str) -> str:
    """How OVS and iptables print a mark: hex without leading zeros."""
    return hex(int(mark, 16))


def carrier_mac(vnid: int) -> str:
    """The userspace datapath's marker MAC for a VNID's egress traffic into tun0."""
    return CARRIER_PREFIX + "".join(f":{b:02x}" for b in vnid.to_bytes(3, "big"))


def tun0_mac(hs: HostSubnet) -> str:
    """tun0's MAC: random on a real node (read back with `ovs-vsctl get Interface tun0 mac_in_use`); the lab
    sets a stable one, 02:01 + the gateway's bytes, so the egress flow can be rendered before tun0 exists."""
    return "02:01:" + ":".join(f"{int(b):02x}" for b in hs.gateway.split("."))


# --- the tracker: which namespace leaves through which egress IP on which node ------------------------

@dataclass(frozen=True)
class NamespaceEgress:
    vnid: int
    egress_ip: str = ""  # "" = dropped (wants an egress IP, none is usable)
    node_ip: str = ""  # the HostSubnet.hostIP of the node that holds egress_ip

    @property
    def dropped(self) -> bool:
        return not self.egress_ip


def requested_by_vnid(cluster: Cluster) -> Dict[int, Tuple[str, ...]]:
    """namespacesByVNID: NetNamespaces keyed by NETID (joined namespaces share one; the last seen wins)."""
    out: Dict[int, Tuple[str, ...]] = {}
    for netns in sorted(cluster.netnamespaces, key=lambda n: n.name):
        if netns.egress_ips:
            out[netns.netid] = netns.egress_ips
    return out


def _claims(cluster: Cluster) -> Tuple[Dict[str, List[HostSubnet]], Dict[str, List[int]], Dict[int, Tuple[str, ...]]]:
    requested = requested_by_vnid(cluster)
    nodes: Dict[str, List[HostSubnet]] = {}
    for hs in cluster.hostsubnets:
        for ip in hs.egress_ips:
            nodes.setdefault(ip, []).append(hs)
    vnids: Dict[str, List[int]] = {}
    for vnid, ips in requested.items():
        for ip in dict.fromkeys(ips):
            vnids.setdefault(ip, []).append(vnid)
    return nodes, vnids, requested


def assigned_egress_ips(cluster: Cluster) -> Dict[str, Tuple[int, HostSubnet]]:
    """egressIPActive(): egress IP -> (VNID, node) for each IP that one node hosts for one VNID, and no
    other IP of that VNID sits on the same node."""
    nodes, vnids, requested = _claims(cluster)
    out = {}
    for ip, holders in nodes.items():
        askers = vnids.get(ip, [])
        if len(holders) != 1 or len(askers) != 1:
            continue
        if any(other != ip and [h.name for h in nodes.get(other, [])] == [holders[0].name]
               for other in requested[askers[0]]):
            continue
        out[ip] = (askers[0], holders[0])
    return out


def namespace_egress(cluster: Cluster) -> Dict[int, NamespaceEgress]:
    """syncEgressNamespaceState() for every VNID that asks for egress IPs."""
    _nodes, vnids, requested = _claims(cluster)
    assigned = assigned_egress_ips(cluster)
    out = {}
    for vnid, ips in requested.items():
        active = None
        for ip in ips:
            if len(vnids.get(ip, [])) > 1:  # an IP two namespaces ask for: no egress at all
                active = None
                break
            if active is None and ip in assigned:
                node = assigned[ip][1]
                if len(ips) > 1 and node.name in cluster.offline_nodes:
                    continue
                active = (ip, node.host_ip)
        out[vnid] = NamespaceEgress(vnid, *active) if active else NamespaceEgress(vnid)
    return out


def local_egress_ips(cluster: Cluster, node: str) -> List[Tuple[str, int]]:
    """(egress IP, VNID) claimed on this node (ClaimEgressIP with nodeIP == localIP), in IP order."""
    return sorted((ip, vnid) for ip, (vnid, hs) in assigned_egress_ips(cluster).items() if hs.name == node)


# --- render ------------------------------------------------------------------------------------------

def render_egress_flows(cluster: Cluster, node: str, datapath: str = "system") -> List[str]:
    """Table 100's per-namespace flows (SetNamespaceEgressDropped / SetNamespaceEgressViaEgressIP)."""
    local = cluster.hostsubnet(node)
    flows = []
    for vnid, eg in sorted(namespace_egress(cluster).items()):
        if eg.dropped:
            flows.append(f"table=100, priority=100, reg0={vnid}, actions=drop")
        elif eg.node_ip == local.host_ip:
            carrier = f",set_field:{carrier_mac(vnid)}->eth_src" if datapath != "system" else ""
            flows.append(f"table=100, priority=100, reg0={vnid}, ip, actions=set_field:{tun0_mac(local)}->eth_dst,"
                         f"set_field:{mark_for_vnid(vnid)}->pkt_mark{carrier},goto_table:101")
        else:
            flows.append(f"table=100, priority=100, reg0={vnid}, ip, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],"
                         f"set_field:{eg.node_ip}->tun_dst,output:1")
    return flows


def render_egress_policy_flows(cluster: Cluster) -> List[str]:
    """Table 101 (updateEgressNetworkPolicyRules) for every VNID with EgressNetworkPolicies, on every node."""
    by_vnid: Dict[int, List[EgressNetworkPolicy]] = {}
    for policy in cluster.egress_policies:
        if policy.namespace in cluster.netids:
            by_vnid.setdefault(cluster.netids[policy.namespace], []).append(policy)
    flows = []
    for vnid, policies in sorted(by_vnid.items()):
        if vnid == 0:  # "EgressNetworkPolicy in global network namespace is not allowed": ignored
            continue
        sharing = [ns for ns, v in cluster.netids.items() if v == vnid]
        if len(sharing) > 1 or len(policies) > 1:  # a shared NetNamespace, or two policies: deny all
            flows.append(f"table=101, reg0={vnid}, priority=1, actions=drop")
            continue
        rules = policies[0].egress
        for i, (kind, cidr) in enumerate(rules):
            action = "output:2" if kind == "Allow" else "drop"
            dst = "" if cidr in ("0.0.0.0/0", "0.0.0.0/32") else f", nw_dst={cidr}"
            flows.append(f"table=101, reg0={vnid}, priority={len(rules) - i}, ip{dst}, actions={action}")
    return flows


def egress_iptables(cluster: Cluster, node: str) -> Tuple[List[str], List[str]]:
    """(nat rules to prepend to OPENSHIFT-MASQUERADE, filter rules to append to OPENSHIFT-FIREWALL-ALLOW) for
    the egress IPs this node holds, in iptables-save form (3.11 passes the mark as 0x%08x; iptables prints it
    without zeros). Each later claim is prepended above the earlier ones."""
    nat, allow = [], []
    for ip, vnid in local_egress_ips(cluster, node):
        nat.insert(0, f"-A OPENSHIFT-MASQUERADE -s {cluster.network.cidr} -m mark --mark {shown(mark_for_vnid(vnid))} "
                      f"-j SNAT --to-source {ip}")
        allow.append(f"-A OPENSHIFT-FIREWALL-ALLOW -d {ip}/32 -m conntrack --ctstate NEW -j REJECT "
                     "--reject-with icmp-port-unreachable")
    return nat, allow


def carrier_iptables(cluster: Cluster, node: str) -> str:
    """Userspace datapath only: the mangle table that turns each marker MAC from tun0 into its VNID's mark."""
    lines = ["*mangle", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]",
             ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]"]
    for _ip, vnid in local_egress_ips(cluster, node):
        lines.append(f"-A PREROUTING -i tun0 -m mac --mac-source {carrier_mac(vnid)} -j MARK "
                     f"--set-xmark {shown(mark_for_vnid(vnid))}/0xffffffff")
    return "\n".join(lines + ["COMMIT"]) + "\n"


def multicast_enabled(cluster: Cluster) -> Dict[int, bool]:
    """GetMulticastEnabled() by VNID: the NetNamespace annotation (namespaces sharing a VNID: the last seen)."""
    out: Dict[int, bool] = {}
    for netns in sorted(cluster.netnamespaces, key=lambda n: n.name):
        out[netns.netid] = netns.annotations.get(MULTICAST_ANNOTATION) == "true"
    return out


def render_multicast_flows(cluster: Cluster, node: str, vnids: Mapping[str, int]) -> List[str]:
    """UpdateLocalMulticastFlows() for every VNID with multicast on: table 110 lets its pods' multicast out
    (to 111: the other nodes, then 120), table 120 delivers to this node's pods of the VNID (ports sorted as
    strings, as 3.11 sorts them)."""
    enabled = multicast_enabled(cluster)
    flows = []
    for vnid in sorted(v for v, on in enabled.items() if on):
        flows.append(f"table=110, reg0={vnid}, actions=goto_table:111")
        ports = sorted(f"output:{p.ofport}" for p in cluster.pods_on(node) if vnids.get(p.namespace, p.vnid) == vnid)
        if ports:
            flows.append(f"table=120, priority=100, reg0={vnid}, actions={','.join(ports)}")
    return flows


# --- edits: what `oc patch`, `oc annotate` and manifests change ---------------------------------------

def _plugin(cluster: Cluster) -> str:
    return cluster.network.plugin.rsplit("-", 1)[-1]


def _ip_list(value: object, where: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(f"{where} must be a list of IP address strings, not {value!r}")
    for v in value:
        try:
            ipaddress.IPv4Address(v)
        except ValueError:
            raise BadInput(f"{where}: {v!r} is not an IPv4 address") from None
    return tuple(value)


def _check_egress_ip(cluster: Cluster, ip: str, node: str) -> None:
    """assignEgressIP()'s checks, made when the edit is given: the address must be in the network of the
    interface that holds the node IP, and must not be the node's (or another host's) own address."""
    under = ipaddress.ip_network(cluster.underlay)
    if ipaddress.ip_address(ip) not in under or ip in (str(under.network_address), str(under.broadcast_address)):
        raise BadInput(f'egress IP "{ip}" is not in local network {under} of interface eth0 of {node}')
    owner = cluster.owner_of_ip(ip)
    if owner is not None:
        raise BadInput(f"egress IP {ip} is already the address of {owner}")


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
            raise BadInput(f"egressCIDRs must be a list of CIDRs, not {value!r}")
        under = ipaddress.ip_network(cluster.underlay)
        for c in value:
            try:
                net = ipaddress.IPv4Network(c)
            except (ValueError, TypeError):
                raise BadInput(f"egressCIDRs: {c!r} is not a valid CIDR") from None
            if not net.subnet_of(under):
                raise BadInput(f"egressCIDRs: {c} is not in local network {under} of interface eth0 of {node}")
        cidrs = tuple(value)
    if ips and _plugin(cluster) not in VNID_PLUGINS:
        raise BadInput(f"egress IPs need the multitenant or networkpolicy plugin (this cluster runs {cluster.network.plugin})")
    for ip in ips:
        if ip not in hs.egress_ips:
            _check_egress_ip(cluster, ip, node)
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


def set_node_offline(cluster: Cluster, node: str, offline: bool = True) -> None:
    """SetNodeOffline(): what the egress VXLAN monitor concludes when a node stops answering; only a namespace
    with more than one egress IP moves on to its next one."""
    cluster.hostsubnet(node)
    rest = tuple(n for n in cluster.offline_nodes if n != node)
    cluster.offline_nodes = rest + ((node,) if offline else ())
    reallocate_egress_ips(cluster)


def _ip_key(ip: str) -> int:
    return int(ipaddress.IPv4Address(ip))


def automatic_allocation(cluster: Cluster) -> Dict[str, Tuple[str, ...]]:
    """ReallocateEgressIPs() of the master's automatic mode: the egress IPs of the nodes that have egressCIDRs.

    Kept where they are while their node is online and its CIDRs hold them; the others go, in IP order, to an
    online node whose CIDRs contain them: first those only one node can take, then the rest, each to the
    candidate with the fewest (3.11 walks Go maps, in random order; the lab walks the nodes in order).
    Never moved: IPs no namespace asks for, IPs claimed twice, and those of namespaces with several egress
    IPs (manual HA). The rebalancing of a node that comes back is not done."""
    auto = [hs for hs in cluster.hostsubnets if hs.egress_cidrs]
    if not auto:
        return {}
    nodes, vnids, requested = _claims(cluster)
    assigned = assigned_egress_ips(cluster)
    ips = sorted(set(nodes) | set(vnids), key=_ip_key)
    done = {ip for ip in ips if not vnids.get(ip) or len(nodes.get(ip, [])) > 1 or len(vnids[ip]) > 1
            or len(requested[vnids[ip][0]]) > 1}
    allocation: Dict[str, List[str]] = {hs.name: [] for hs in auto}

    def holds(hs: HostSubnet, ip: str) -> bool:
        return any(ipaddress.ip_address(ip) in ipaddress.ip_network(c) for c in hs.egress_cidrs)

    for ip in ips:  # allocateExistingEgressIPs
        if ip in done or ip not in assigned:
            continue
        hs = assigned[ip][1]
        if hs.name in allocation and holds(hs, ip) and hs.name not in cluster.offline_nodes:
            allocation[hs.name].append(ip)
        done.add(ip)

    def candidate(ip: str) -> Tuple[str, bool]:  # findEgressIPAllocation
        best, others = "", False
        for hs in auto:
            if hs.name in cluster.offline_nodes or not holds(hs, ip):
                continue
            if best:
                others = True
                if len(allocation[best]) < len(allocation[hs.name]):
                    continue
            best = hs.name
        return best, others

    for only_one in (True, False):  # allocateNewEgressIPs: unambiguous IPs first
        for ip in ips:
            if ip in done:
                continue
            node, others = candidate(ip)
            if node and not (only_one and others):
                allocation[node].append(ip)
                done.add(ip)
    return {name: tuple(got) for name, got in allocation.items()}


def reallocate_egress_ips(cluster: Cluster) -> None:
    """The master writes the automatic allocation into the HostSubnets that have egressCIDRs, until it settles
    (an IP taken from an offline node is released in one round and given to another node in the next)."""
    for _round in range(8):
        changed = False
        for name, ips in automatic_allocation(cluster).items():
            hs = cluster.hostsubnet(name)
            if set(hs.egress_ips) != set(ips):
                cluster.hostsubnets[cluster.hostsubnets.index(hs)] = replace(hs, egress_ips=ips)
                changed = True
        if not changed:
            return


# --- manifests ---------------------------------------------------------------------------------------

KINDS = ("HostSubnet", "NetNamespace", "EgressNetworkPolicy")


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
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise BadInput(f"{kind}: metadata.name is required")
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
        for key, value in (meta.get("annotations") or {}).items():
            annotate_netnamespace(cluster, name, str(key), str(value), overwrite=True)
    else:
        extra = sorted(set(obj) - {"apiVersion", "kind", "metadata", "spec"})
        if extra:
            raise BadInput(f"unknown field EgressNetworkPolicy.{extra[0]}")
        namespace = meta.get("namespace") or "default"
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
