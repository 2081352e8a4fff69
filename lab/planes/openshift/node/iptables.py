"""iptables an OpenShift 3.11 node holds, as an iptables-restore file in iptables-save's order: openshift-sdn's
NodeIPTables chains, and with kube-proxy's rules (lab.planes.openshift.node.kubeproxy) also the chains of the kubelet,
the unidling userspace proxier and the hostport syncer, jumped to in the order of a fresh node
(reference §1.4, without Docker's chains: the lab's nodes run no dockerd).

The subnet and multitenant plugins run with masqueradeServices on (node.go: `!useConnTrack`), so
OPENSHIFT-MASQUERADE masquerades everything from the cluster network, pod-to-service included. The
networkpolicy plugin (conntrack) turns it off: OPENSHIFT-MASQUERADE jumps to OPENSHIFT-MASQUERADE-2, which
returns for destinations inside the cluster network (a pod reaching a service keeps its own source
address, so the endpoint's policies can see it) and masquerades the rest. 3.11 writes that chain already.

That plugin undoes the DNAT of a reply in br0 (`ct(nat)`) with the entry the kernel's DNAT made; only
the kernel datapath shares the node's conntrack table. On the userspace datapath the lab adds one rule of
its own (USERSPACE_SERVICE_SNAT) so the reply comes back through tun0 and the kernel: pod-to-service
works there, but the endpoint sees the node's tun0 address (VNID 0), not the pod.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from lab.planes.openshift.model import NETWORKPOLICY_PLUGIN, ClusterNetwork
from lab.planes.openshift.node.kubeproxy import DROP_MARK, Tables

BUILTIN = {"filter": ["INPUT", "FORWARD", "OUTPUT"], "nat": ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]}
PORTALS = '"handle ClusterIPs; NOTE: this must be before the NodePort rules"'
NODEPORTS = '"handle service NodePorts; NOTE: this must be the last rule in the chain"'


def masquerades_services(network: ClusterNetwork) -> bool:
    """newNodeIPTables(..., masqueradeServices = !useConnTrack): only the networkpolicy plugin uses conntrack."""
    return network.plugin != NETWORKPOLICY_PLUGIN


USERSPACE_SERVICE_SNAT = ('-A OPENSHIFT-MASQUERADE-2 -m conntrack --ctstate DNAT -m comment --comment '
                          '"sdnlab: userspace datapath: OVS cannot undo the kernel DNAT of pod-to-service" -j MASQUERADE')


def openshift_tables(network: ClusterNetwork, userspace: bool = False, egress_nat: Sequence[str] = (),
                     egress_allow: Sequence[str] = ()) -> Tables:
    """NodeIPTables.syncIPTableRules(): its chains, their rules and the jumps into them (userspace: the
    datapath is OVS's userspace one, see USERSPACE_SERVICE_SNAT); with the egress IPs the node holds
    (AddEgressIPRules: SNAT by mark prepended to OPENSHIFT-MASQUERADE, REJECT of new inbound connections
    appended to OPENSHIFT-FIREWALL-ALLOW; lab.planes.openshift.node.egress renders both)."""
    cidr = network.cidr
    t = Tables()
    t.chains["filter"] += ["OPENSHIFT-ADMIN-OUTPUT-RULES", "OPENSHIFT-FIREWALL-ALLOW", "OPENSHIFT-FIREWALL-FORWARD"]
    t.chains["nat"] += ["OPENSHIFT-MASQUERADE"]
    t.rules["filter"] += [
        f'-A OPENSHIFT-FIREWALL-ALLOW -p udp -m udp --dport {network.vxlan_port} -m comment --comment "VXLAN incoming" -j ACCEPT',
        '-A OPENSHIFT-FIREWALL-ALLOW -i tun0 -m comment --comment "from SDN to localhost" -j ACCEPT',
        '-A OPENSHIFT-FIREWALL-ALLOW -i docker0 -m comment --comment "from docker to localhost" -j ACCEPT',
        *egress_allow,
        f'-A OPENSHIFT-FIREWALL-FORWARD -s {cidr} -m comment --comment "attempted resend after connection close" -m conntrack --ctstate INVALID -j DROP',
        f'-A OPENSHIFT-FIREWALL-FORWARD -d {cidr} -m comment --comment "forward traffic from SDN" -j ACCEPT',
        f'-A OPENSHIFT-FIREWALL-FORWARD -s {cidr} -m comment --comment "forward traffic to SDN" -j ACCEPT',
    ]
    t.rules["nat"] += list(egress_nat)
    if masquerades_services(network):
        t.rules["nat"].append(f'-A OPENSHIFT-MASQUERADE -s {cidr} -m comment --comment "masquerade pod-to-service and '
                              'pod-to-external traffic" -j MASQUERADE')
    else:  # no jump from a built-in chain: only OPENSHIFT-MASQUERADE's rule leads there
        t.chains["nat"].append("OPENSHIFT-MASQUERADE-2")
        t.rules["nat"] += [
            f'-A OPENSHIFT-MASQUERADE -s {cidr} -m comment --comment "masquerade pod-to-external traffic" '
            "-j OPENSHIFT-MASQUERADE-2",
            *([USERSPACE_SERVICE_SNAT] if userspace else []),
            f'-A OPENSHIFT-MASQUERADE-2 -d {cidr} -m comment --comment "masquerade pod-to-external traffic" -j RETURN',
            "-A OPENSHIFT-MASQUERADE-2 -j MASQUERADE",
        ]
    return t


def node_extra_tables() -> Tables:
    """The kubelet's KUBE-MARK-DROP/KUBE-FIREWALL, the unidling proxier's empty chains, the hostport chain."""
    t = Tables()
    t.chains["filter"] += ["KUBE-FIREWALL", "KUBE-NODEPORT-NON-LOCAL"]
    t.chains["nat"] += ["KUBE-HOSTPORTS", "KUBE-MARK-DROP", "KUBE-NODEPORT-CONTAINER", "KUBE-NODEPORT-HOST",
                        "KUBE-PORTALS-CONTAINER", "KUBE-PORTALS-HOST"]
    t.rules["filter"].append('-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets" '
                             f"-m mark --mark {DROP_MARK} -j DROP")
    t.rules["nat"].append(f"-A KUBE-MARK-DROP -j MARK --set-xmark {DROP_MARK}")
    return t


def builtin_jumps(with_kube: bool) -> Dict[str, List[str]]:
    """The jumps from the built-in chains, in the order a freshly started node has them."""
    if not with_kube:
        return {"filter": ['-A INPUT -m comment --comment "firewall overrides" -j OPENSHIFT-FIREWALL-ALLOW',
                           '-A FORWARD -i tun0 ! -o tun0 -m comment --comment "administrator overrides" -j OPENSHIFT-ADMIN-OUTPUT-RULES',
                           '-A FORWARD -m comment --comment "firewall overrides" -j OPENSHIFT-FIREWALL-FORWARD'],
                "nat": ['-A POSTROUTING -m comment --comment "rules for masquerading OpenShift traffic" -j OPENSHIFT-MASQUERADE']}
    hostports = '-m comment --comment "kube hostport portals" -m addrtype --dst-type LOCAL -j KUBE-HOSTPORTS'
    return {
        "filter": [
            '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
            '-A INPUT -m comment --comment "Ensure that non-local NodePort traffic can flow" -j KUBE-NODEPORT-NON-LOCAL',
            '-A INPUT -m comment --comment "firewall overrides" -j OPENSHIFT-FIREWALL-ALLOW',
            "-A INPUT -j KUBE-FIREWALL",
            '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
            '-A FORWARD -i tun0 ! -o tun0 -m comment --comment "administrator overrides" -j OPENSHIFT-ADMIN-OUTPUT-RULES',
            '-A FORWARD -m comment --comment "firewall overrides" -j OPENSHIFT-FIREWALL-FORWARD',
            '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
            "-A OUTPUT -j KUBE-FIREWALL",
        ],
        "nat": [
            '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
            f"-A PREROUTING -m comment --comment {PORTALS} -j KUBE-PORTALS-CONTAINER",
            f"-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment {NODEPORTS} -j KUBE-NODEPORT-CONTAINER",
            f"-A PREROUTING {hostports}",
            '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
            f"-A OUTPUT -m comment --comment {PORTALS} -j KUBE-PORTALS-HOST",
            f"-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment {NODEPORTS} -j KUBE-NODEPORT-HOST",
            f"-A OUTPUT {hostports}",
            '-A POSTROUTING -m comment --comment "rules for masquerading OpenShift traffic" -j OPENSHIFT-MASQUERADE',
            '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
            '-A POSTROUTING -s 127.0.0.0/8 -o tun0 -m comment --comment "SNAT for localhost access to hostports" -j MASQUERADE',
        ],
    }


def save_order(table: str, chains: List[str], rules: List[str]) -> List[str]:
    """iptables-save's layout of one table: built-in policies, user chains sorted by name (libiptc keeps
    them so), then the rules chain by chain in that order, each chain's rules in insertion order."""
    users = sorted(set(chains))
    lines = [f"*{table}"] + [f":{c} ACCEPT [0:0]" for c in BUILTIN[table]] + [f":{c} - [0:0]" for c in users]
    for chain in BUILTIN[table] + users:
        lines += [r for r in rules if r.split()[1] == chain]
    return lines + ["COMMIT"]


def render_node_iptables(network: ClusterNetwork, kube: Optional[Tables] = None, userspace: bool = False,
                         egress: Tuple[Sequence[str], Sequence[str]] = ((), ())) -> str:
    """The node's filter and nat tables as one iptables-restore file (it owns both tables); egress: the
    (nat, filter) rules of the egress IPs it holds."""
    parts = [openshift_tables(network, userspace, *egress)] + ([node_extra_tables(), kube] if kube is not None else [])
    jumps = builtin_jumps(kube is not None)
    lines: List[str] = []
    for table in ("filter", "nat"):
        chains = [c for p in parts for c in p.chains[table]]
        rules = jumps[table] + [r for p in parts for r in p.rules[table]]
        lines += save_order(table, chains, rules)
    return "\n".join(lines) + "\n"
