"""iptables chains an openshift-sdn 3.11 node installs (NodeIPTables), as an iptables-restore file.

The subnet plugin runs with masqueradeServices on, so OPENSHIFT-MASQUERADE masquerades the
cluster network directly (no OPENSHIFT-MASQUERADE-2).
"""

from __future__ import annotations

from lab.openshift.model import ClusterNetwork


def render_node_iptables(network: ClusterNetwork) -> str:
    cidr = network.cidr
    return "\n".join([
        "*filter",
        ":INPUT ACCEPT [0:0]",
        ":FORWARD ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":OPENSHIFT-ADMIN-OUTPUT-RULES - [0:0]",
        ":OPENSHIFT-FIREWALL-ALLOW - [0:0]",
        ":OPENSHIFT-FIREWALL-FORWARD - [0:0]",
        '-A INPUT -m comment --comment "firewall overrides" -j OPENSHIFT-FIREWALL-ALLOW',
        '-A FORWARD -i tun0 ! -o tun0 -m comment --comment "administrator overrides" -j OPENSHIFT-ADMIN-OUTPUT-RULES',
        '-A FORWARD -m comment --comment "firewall overrides" -j OPENSHIFT-FIREWALL-FORWARD',
        f'-A OPENSHIFT-FIREWALL-ALLOW -p udp -m udp --dport {network.vxlan_port} -m comment --comment "VXLAN incoming" -j ACCEPT',
        '-A OPENSHIFT-FIREWALL-ALLOW -i tun0 -m comment --comment "from SDN to localhost" -j ACCEPT',
        '-A OPENSHIFT-FIREWALL-ALLOW -i docker0 -m comment --comment "from docker to localhost" -j ACCEPT',
        f'-A OPENSHIFT-FIREWALL-FORWARD -s {cidr} -m comment --comment "attempted resend after connection close" -m conntrack --ctstate INVALID -j DROP',
        f'-A OPENSHIFT-FIREWALL-FORWARD -d {cidr} -m comment --comment "forward traffic from SDN" -j ACCEPT',
        f'-A OPENSHIFT-FIREWALL-FORWARD -s {cidr} -m comment --comment "forward traffic to SDN" -j ACCEPT',
        "COMMIT",
        "*nat",
        ":PREROUTING ACCEPT [0:0]",
        ":INPUT ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":POSTROUTING ACCEPT [0:0]",
        ":OPENSHIFT-MASQUERADE - [0:0]",
        '-A POSTROUTING -m comment --comment "rules for masquerading OpenShift traffic" -j OPENSHIFT-MASQUERADE',
        f'-A OPENSHIFT-MASQUERADE -s {cidr} -m comment --comment "masquerade pod-to-service and pod-to-external traffic" -j MASQUERADE',
        "COMMIT",
        "",
    ])
