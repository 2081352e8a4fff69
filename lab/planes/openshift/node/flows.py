"""OpenFlow rules an openshift-sdn 3.11 node programs into br0, for the subnet, multitenant and
networkpolicy plugins.

Each function mirrors one place of pkg/network/node (SetupOVS, the plugins' Start() and
EnsureVNIDRules/syncNamespace, AddHostSubnetRules, UpdateVXLANMulticastFlows, setupPodFlows) and
returns the flows in the same textual form the plugin hands to `ovs-ofctl add-flow`.
"""

from __future__ import annotations

import ipaddress
from typing import Dict, List, Mapping, Optional, Sequence

from lab.planes.openshift.api.objects import NetworkPolicy, Service
from lab.planes.openshift.model import (
    PLUGIN_IDS,
    RULE_VERSION,
    VNID_PLUGINS,
    Cluster,
    ClusterNetwork,
    HostSubnet,
    Pod,
    plugin_name,
)
from lab.planes.openshift.node import egress
from lab.planes.openshift.node.policy import NamespaceInput, PodInput, PolicyInput, namespace_flows, parse_policy

VXLAN_OFPORT = 1
TUN0_OFPORT = 2
VERSION_TABLE = 253


PLUGINS = ("subnet", "multitenant", "networkpolicy")


def render_base_flows(network: ClusterNetwork, local: HostSubnet, plugin: Optional[str] = None) -> List[str]:
    """SetupOVS(); with conntrack (useConnTrack) only for the networkpolicy plugin."""
    cidr, subnet, gw = network.cidr, local.subnet, local.gateway
    ct = plugin == "networkpolicy"
    note = network.version_note if plugin is None else f"{PLUGIN_IDS[plugin_name(plugin)]:02X}.{RULE_VERSION:02X}"
    flows = [
        # Table 0: initial dispatch based on in_port; vxlan0 first
        f"table=0, priority=200, in_port=1, arp, nw_src={cidr}, nw_dst={subnet}, actions=move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],goto_table:10",
        f"table=0, priority=200, in_port=1, ip, nw_src={cidr}, actions=move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],goto_table:10",
        f"table=0, priority=200, in_port=1, ip, nw_dst={cidr}, actions=move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],goto_table:10",
        "table=0, priority=150, in_port=1, actions=drop",
        # tun0
        "table=0, priority=250, in_port=2, ip, nw_dst=224.0.0.0/4, actions=drop",
        f"table=0, priority=200, in_port=2, arp, nw_src={gw}, nw_dst={cidr}, actions=goto_table:30",
        "table=0, priority=200, in_port=2, ip, actions=goto_table:30",
        "table=0, priority=150, in_port=2, actions=drop",
        # else, from a container
        "table=0, priority=100, arp, actions=goto_table:20",
        "table=0, priority=100, ip, actions=goto_table:20",
        "table=0, priority=0, actions=drop",
        # Table 10: VXLAN ingress filtering; filled in per remote HostSubnet
        "table=10, priority=0, actions=drop",
        # Table 20: from container; validate IP/MAC, assign tenant-id; filled in per pod
        "table=20, priority=0, actions=drop",
        # Table 21: NetworkPolicy conntrack hook
        "table=21, priority=0, actions=goto_table:30",
        # Table 30: general routing
        f"table=30, priority=300, arp, nw_dst={gw}, actions=output:2",
        f"table=30, priority=200, arp, nw_dst={subnet}, actions=goto_table:40",
        f"table=30, priority=100, arp, nw_dst={cidr}, actions=goto_table:50",
        f"table=30, priority=300, ip, nw_dst={gw}, actions=output:2",
        f"table=30, priority=100, ip, nw_dst={network.service_network}, actions=goto_table:60",
        f"table=30, priority=200, ip, nw_dst={subnet}, actions=goto_table:70",
        f"table=30, priority=100, ip, nw_dst={cidr}, actions=goto_table:90",
        "table=30, priority=50, in_port=1, ip, nw_dst=224.0.0.0/4, actions=goto_table:120",
        "table=30, priority=25, ip, nw_dst=224.0.0.0/4, actions=goto_table:110",
        "table=30, priority=0, ip, actions=goto_table:100",
        "table=30, priority=0, arp, actions=drop",
        # Table 40: ARP to local container; filled in per pod
        "table=40, priority=0, actions=drop",
        # Table 50: ARP to remote container; filled in per remote HostSubnet
        "table=50, priority=0, actions=drop",
        # Table 60: IP to service from pod
        "table=60, priority=200, reg0=0, actions=output:2",
        "table=60, priority=0, actions=drop",
        # Table 70: IP to local container; filled in per pod
        "table=70, priority=0, actions=drop",
        # Table 80: IP policy enforcement
        f"table=80, priority=300, ip, nw_src={gw}/32, actions=output:NXM_NX_REG2[]",
        "table=80, priority=0, actions=drop",
        # Table 90: IP to remote container; filled in per remote HostSubnet
        "table=90, priority=0, actions=drop",
        # Table 100: egress routing
        f"table=100, priority=300,udp,udp_dst={network.vxlan_port},actions=drop",
        f"table=100, priority=200,tcp,tcp_dst=53,nw_dst={local.host_ip},actions=output:2",
        f"table=100, priority=200,udp,udp_dst=53,nw_dst={local.host_ip},actions=output:2",
        "table=100, priority=0, actions=goto_table:101",
        # Table 101: egress network policy dispatch
        "table=101, priority=0, actions=output:2",
        # Table 110: outbound multicast filtering
        "table=110, priority=0, actions=drop",
        # Table 120: multicast delivery to local pods
        "table=120, priority=0, actions=drop",
        # Table 253: rule version note
        f"table={VERSION_TABLE}, actions=note:{note}",
    ]
    if ct:  # the conntrack flows, each where SetupOVS adds it
        flows.insert(0, "table=0, priority=300, ip, ct_state=-trk, actions=ct(table=0)")
        at = flows.index("table=0, priority=250, in_port=2, ip, nw_dst=224.0.0.0/4, actions=drop")
        flows[at:at] = [f"table=0, priority=400, in_port=2, ip, nw_src={gw}, actions=goto_table:30",
                        f"table=0, priority=300, in_port=2, ip, nw_src={subnet}, nw_dst={cidr}, actions=goto_table:25"]
        at = flows.index("table=21, priority=0, actions=goto_table:30") + 1
        flows.insert(at, "table=25, priority=0, actions=drop")
        at = flows.index(f"table=30, priority=200, ip, nw_dst={subnet}, actions=goto_table:70")
        flows.insert(at, f"table=30, priority=300, ip, nw_dst={subnet}, ct_state=+rpl, actions=ct(nat,table=70)")
        at = flows.index("table=60, priority=200, reg0=0, actions=output:2")
        flows[at] = "table=60, priority=200, actions=output:2"
    return flows


def render_single_tenant_flows() -> List[str]:
    """singleTenantPlugin.Start(): every pod may reach every pod."""
    return ["table=80, priority=200, actions=output:NXM_NX_REG2[]"]


def render_multitenant_flows() -> List[str]:
    """multiTenantPlugin.Start(): VNID 0 (global) reaches and is reached by every VNID."""
    return ["table=80, priority=200, reg0=0, actions=output:NXM_NX_REG2[]",
            "table=80, priority=200, reg1=0, actions=output:NXM_NX_REG2[]"]


def render_networkpolicy_flows(network: ClusterNetwork) -> List[str]:
    """networkPolicyPlugin.Start(): commit pod->cluster connections; replies always pass table 80."""
    return [f"table=21, priority=200, ip, nw_dst={network.cidr}, actions=ct(commit,table=30)",
            "table=80, priority=200, ip, ct_state=+rpl, actions=output:NXM_NX_REG2[]"]


def render_vnid_rule(vnid: int) -> List[str]:
    """multiTenantPlugin.EnsureVNIDRules(): pods of one VNID reach each other (VNID 0 needs none)."""
    return [] if vnid == 0 else [f"table=80, priority=100, reg0={vnid}, reg1={vnid}, actions=output:NXM_NX_REG2[]"]


def render_hostsubnet_flows(remote: HostSubnet) -> List[str]:
    """AddHostSubnetRules() for a node other than this one."""
    cookie = f"0x{remote.cookie:08x}"
    return [
        f"table=10, priority=100, cookie={cookie}, tun_src={remote.host_ip}, actions=goto_table:30",
        f"table=50, priority=100, cookie={cookie}, arp, nw_dst={remote.subnet}, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:{remote.host_ip}->tun_dst,output:1",
        f"table=90, priority=100, cookie={cookie}, ip, nw_dst={remote.subnet}, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:{remote.host_ip}->tun_dst,output:1",
    ]


def render_vxlan_multicast_flow(remote_ips: List[str]) -> str:
    """UpdateVXLANMulticastFlows(): table 111 floods multicast to every other node (actions sorted as strings)."""
    if not remote_ips:
        return "table=111, priority=100, actions=goto_table:120"
    actions = sorted(f"set_field:{ip}->tun_dst,output:1" for ip in remote_ips)
    return "table=111, priority=100, actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31]," + ",".join(actions) + ",goto_table:120"


def render_pod_flows(pod: Pod, vnid: Optional[int] = None, conntrack: bool = False) -> List[str]:
    """setupPodFlows(): the pod's anti-spoofing, ARP and delivery flows, with its VNID (default pod.vnid)
    in REG0 (tables 20/25; table 90 moves REG0 into the tunnel id) and REG1 (table 70)."""
    vnid = pod.vnid if vnid is None else vnid
    ip = ipaddress.ip_address(pod.ip).packed
    ipmac = "00:00:{:02x}:{:02x}:{:02x}:{:02x}/00:00:ff:ff:ff:ff".format(*ip)
    flows = [
        f"table=20, priority=100, in_port={pod.ofport}, arp, nw_src={pod.ip}, arp_sha={ipmac}, actions=load:{vnid}->NXM_NX_REG0[], goto_table:21",
        f"table=20, priority=100, in_port={pod.ofport}, ip, nw_src={pod.ip}, actions=load:{vnid}->NXM_NX_REG0[], goto_table:21",
        f"table=40, priority=100, arp, nw_dst={pod.ip}, actions=output:{pod.ofport}",
        f"table=70, priority=100, ip, nw_dst={pod.ip}, actions=load:{vnid}->NXM_NX_REG1[], load:{pod.ofport}->NXM_NX_REG2[], goto_table:80",
    ]
    if conntrack:  # service traffic back from tun0 after DNAT gets its source pod's VNID again
        flows.insert(2, f"table=25, priority=100, ip, nw_src={pod.ip}, actions=load:{vnid}->NXM_NX_REG0[], goto_table:30")
    return flows


def render_service_flows(service: Service, net_id: int = 0) -> List[str]:
    """AddServiceRules(): table 60 sends a pod's packets for a ClusterIP to tun0 via table 80 (subnet and
    multitenant plugins; netID is the service's VNID, always 0 on the subnet plugin). Headless: none."""
    if not service.cluster_ip or service.cluster_ip == "None":
        return []
    action = f", priority=100, actions=load:{net_id}->NXM_NX_REG1[], load:2->NXM_NX_REG2[], goto_table:80"
    base = f"table=60, ip, nw_dst={service.cluster_ip}"
    flows = [base + ", ip_frag=later" + action]  # subsequent IP fragments carry no ports
    for port in service.ports:
        proto = port.protocol.lower()
        flows.append(f"{base}, {proto}, {proto}_dst={port.port}{action}")
    return flows


def render_node_flows(cluster: Cluster, node: str, plugin: Optional[str] = None,
                      netids: Optional[Mapping[str, int]] = None,
                      policies: Optional[Sequence[PolicyInput]] = None,
                      pods: Optional[Sequence[PodInput]] = None,
                      namespaces: Optional[Sequence[NamespaceInput]] = None,
                      datapath: str = "system") -> List[str]:
    """All flows of one node's br0, in the order the node agent installs them.

    plugin: subnet|multitenant|networkpolicy, by default the cluster's ClusterNetwork plugin.
    netids: NetNamespace NETIDs by namespace (default cluster.netids; a pod whose namespace has none
    keeps pod.vnid); the subnet plugin puts VNID 0 everywhere. policies, pods and namespaces (with
    their labels) feed the networkpolicy plugin; by default the cluster's own NetworkPolicies (from
    manifests), pods and namespaces.

    The per-VNID table-80 flows (multitenant EnsureVNIDRules, networkpolicy syncNamespace) are those a
    node holds once SyncVNIDRules has run: one set per VNID a local pod uses, and (multitenant) per VNID a
    service with a ClusterIP loads in table 60 (node.go handleAddOrUpdateService calls EnsureVNIDRules after
    AddServiceRules, and SyncVNIDRules counts table 60's loads as in use). (The node agent adds them when a
    pod, service or NetNamespace appears and removes unused ones at its hourly SyncVNIDRules.)

    The VNID plugins also get multicast (tables 110/120), egress IPs (table 100) and EgressNetworkPolicies
    (table 101) from lab.planes.openshift.node.egress; datapath "netdev" adds the egress flow's marker MAC there.
    """
    plugin = plugin or cluster.network.plugin.rsplit("-", 1)[-1]
    if plugin not in PLUGINS:
        raise ValueError(f"unknown plugin {plugin!r} (known: {', '.join(PLUGINS)})")
    vnids: Mapping[str, int] = cluster.netids if netids is None else netids
    local = cluster.hostsubnet(node)
    remotes = cluster.remote_hostsubnets(node)
    flows = render_base_flows(cluster.network, local, plugin)
    if plugin == "subnet":
        flows += render_single_tenant_flows()
    elif plugin == "multitenant":
        flows += render_multitenant_flows()
    else:
        flows += render_networkpolicy_flows(cluster.network)
    for remote in remotes:
        flows += render_hostsubnet_flows(remote)
    # the table 111 flow replaces SetupOVS's default one (same match), as the real update does
    flows.append(render_vxlan_multicast_flow([r.host_ip for r in remotes]))
    local_vnids: List[int] = []  # in the order the pods bring them into use
    for pod in cluster.pods_on(node):
        vnid = 0 if plugin == "subnet" else vnids.get(pod.namespace, pod.vnid)
        flows += render_pod_flows(pod, vnid, conntrack=plugin == "networkpolicy")
        if vnid not in local_vnids:
            local_vnids.append(vnid)
    service_vnids: List[int] = []  # multitenant: EnsureVNIDRules(netid) follows every AddServiceRules
    if plugin != "networkpolicy":  # AddServiceRules runs only without conntrack (subnet, multitenant)
        for service in cluster.services:
            service_flows = render_service_flows(service, 0 if plugin == "subnet" else vnids.get(service.namespace, 0))
            flows += service_flows
            vnid = 0 if plugin == "subnet" else vnids.get(service.namespace, 0)
            if service_flows and vnid not in local_vnids + service_vnids:
                service_vnids.append(vnid)
    if plugin == "multitenant":
        for vnid in local_vnids + service_vnids:
            flows += render_vnid_rule(vnid)
    elif plugin == "networkpolicy":
        if policies is None:
            policies = [policy_input(p) for p in cluster.policies]
        flows += render_policy_flows(cluster, vnids, local_vnids, policies, pods, namespaces)
    if plugin in VNID_PLUGINS:
        flows += egress.render_multicast_flows(cluster, node, vnids)
        flows += egress.render_egress_flows(cluster, node, datapath)
        flows += egress.render_egress_policy_flows(cluster)
    return flows


def policy_input(policy: NetworkPolicy) -> PolicyInput:
    """A NetworkPolicy object as the policy plugin reads it."""
    spec = policy.spec or {}
    return PolicyInput(policy.namespace, policy.name, spec.get("podSelector") or {}, tuple(spec.get("ingress") or ()),
                       tuple(spec.get("policyTypes") or ("Ingress",)))


def render_policy_flows(cluster: Cluster, vnids: Mapping[str, int], local_vnids: Sequence[int],
                        policies: Sequence[PolicyInput], pods: Optional[Sequence[PodInput]],
                        namespaces: Optional[Sequence[NamespaceInput]]) -> List[str]:
    """syncNamespace() for every VNID in use on the node, its policies parsed against the whole cluster."""
    if pods is None:
        pods = [PodInput(p.namespace, p.name, p.ip, p.labels) for p in cluster.pods]
    if namespaces is None:
        labels = {ns.name: ns.labels for ns in cluster.namespaces}
        namespaces = [NamespaceInput(ns, labels.get(ns, {})) for ns in vnids]
    # the plugin keys its namespaces by VNID: the last NetNamespace seen for a VNID owns it
    owner: Dict[int, str] = {vnids[ns.name]: ns.name for ns in namespaces if ns.name in vnids}
    flows: List[str] = []
    for vnid in local_vnids:
        name = owner.get(vnid)
        if name is None:
            continue
        parsed = [parse_policy(p, vnid, pods, namespaces, vnids)
                  for p in sorted(policies, key=lambda p: p.name) if p.namespace == name]
        flows += namespace_flows(vnid, parsed)
    return flows


def flows_file_text(flows: List[str]) -> str:
    """The rendered flows as an `ovs-ofctl add-flows`/`replace-flows` file."""
    return "".join(f + "\n" for f in flows)
