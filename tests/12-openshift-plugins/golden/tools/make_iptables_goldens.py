#!/usr/bin/env python3
"""Writes services-node1.iptables (and the iptables part of the change goldens) by hand from the Go source:

* kube-proxy 1.11 iptables proxier: origin release-3.11 vendor/k8s.io/kubernetes/pkg/proxy/iptables/proxier.go
  (openshift/kubernetes 1.11 fork pinned by origin's glide.lock; the only post-v3.11.0 changes are conntrack ones)
  syncProxyRules, iptablesJumpChains, portProtoHash, servicePortEndpointChainName, computeProbability;
  OpenShift's options.go sets MasqueradeBit=0 (mark 0x1/0x1) and proxyArguments cluster-cidr 10.128.0.0/14.
* openshift-sdn pkg/network/node/iptables.go getNodeIPTablesChains/syncIPTableRules (masqueradeServices = !useConnTrack).
* kubelet vendor/k8s.io/kubernetes/pkg/kubelet/kubelet_network.go syncNetworkUtil (drop bit 15, masquerade bit 0).
* unidling userspace proxier (origin pkg/cmd/server/kubernetes/network/network.go RunProxy with EnableUnidling,
  pkg/proxy/unidler -> vendor/.../pkg/proxy/userspace/proxier.go iptablesInit): empty KUBE-PORTALS-*/KUBE-NODEPORT-* chains.
* hostport syncer (pod.go, enableHostports unless CRI-O; vendor/.../dockershim/network/hostport/hostport.go
  ensureKubeHostportChains): KUBE-HOSTPORTS after the first pod setup.
Rules are written in iptables-save (1.8.9) canonical form: -s/-d/-i/-o/-p first, then the matches in the order
kube-proxy gives them; probabilities as iptables prints %0.5f back (%.11f of lround(p*2^31)/2^31).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from hashes import sep, svc  # noqa: E402

OUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CIDR = "10.128.0.0/14"


def prob(n: int) -> str:
    """computeProbability(n) = %0.5f of 1/n; iptables stores lround(p * 0x80000000) and prints %.11f."""
    p = float("%0.5f" % (1.0 / n))
    v = int(p * 0x80000000 + 0.5)
    return "%.11f" % (v / 0x80000000)


def kube_service(spn, proto, cluster_ip, port, endpoints, node_port=0):
    """syncProxyRules for one service port with endpoints: (nat chain names, KUBE-SERVICES rules, KUBE-NODEPORTS
    rules, other nat rules)."""
    s = svc(spn, proto)
    chains = [s]
    services = [f'-A KUBE-SERVICES ! -s {CIDR} -d {cluster_ip}/32 -p {proto} -m comment --comment "{spn} cluster IP" -m {proto} --dport {port} -j KUBE-MARK-MASQ',
                f'-A KUBE-SERVICES -d {cluster_ip}/32 -p {proto} -m comment --comment "{spn} cluster IP" -m {proto} --dport {port} -j {s}']
    nodeports = []
    if node_port:
        nodeports = [f'-A KUBE-NODEPORTS -p {proto} -m comment --comment "{spn}" -m {proto} --dport {node_port} -j KUBE-MARK-MASQ',
                     f'-A KUBE-NODEPORTS -p {proto} -m comment --comment "{spn}" -m {proto} --dport {node_port} -j {s}']
    other = []
    n = len(endpoints)
    for i, ep in enumerate(endpoints):
        e = sep(spn, proto, ep)
        chains.append(e)
        stat = f" -m statistic --mode random --probability {prob(n - i)}" if i < n - 1 else ""
        other.append(f'-A {s} -m comment --comment "{spn}"{stat} -j {e}')
        ip = ep.split(":")[0]
        other.append(f'-A {e} -s {ip}/32 -m comment --comment "{spn}" -j KUBE-MARK-MASQ')
        other.append(f'-A {e} -p {proto} -m comment --comment "{spn}" -m {proto} -j DNAT --to-destination {ep}')
    return chains, services, nodeports, other


def services_lab():
    eps = ["10.128.0.3", "10.129.0.3", "10.130.0.3"]
    parts = [kube_service("shop/web:http", "tcp", "172.30.10.10", 80, [f"{e}:8080" for e in eps]),
             kube_service("shop/web:dns", "udp", "172.30.10.10", 53, [f"{e}:5353" for e in eps]),
             kube_service("shop/web-public:", "tcp", "172.30.0.2", 80, [f"{e}:8080" for e in eps], node_port=30080)]
    filter_kube = {
        "KUBE-SERVICES": ['-A KUBE-SERVICES -d 172.30.0.3/32 -p tcp -m comment --comment "shop/nobody: has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable'],
        "KUBE-EXTERNAL-SERVICES": ['-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "shop/nobody: has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30081 -j REJECT --reject-with icmp-port-unreachable'],
    }
    return parts, filter_kube


def render(parts, filter_kube, masquerade_services=True, with_others=True):
    L = []
    w = L.append
    w("*filter")
    w(":INPUT ACCEPT [0:0]")
    w(":FORWARD ACCEPT [0:0]")
    w(":OUTPUT ACCEPT [0:0]")
    chains = ["KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-SERVICES", "OPENSHIFT-ADMIN-OUTPUT-RULES",
              "OPENSHIFT-FIREWALL-ALLOW", "OPENSHIFT-FIREWALL-FORWARD"]
    if with_others:
        chains += ["KUBE-FIREWALL", "KUBE-NODEPORT-NON-LOCAL"]
    for c in sorted(chains):
        w(f":{c} - [0:0]")
    # INPUT (fresh-start order, reference notes 1.4: K1, U5, O1, L2)
    w('-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES')
    if with_others:
        w('-A INPUT -m comment --comment "Ensure that non-local NodePort traffic can flow" -j KUBE-NODEPORT-NON-LOCAL   # unidler')
    w('-A INPUT -m comment --comment "firewall overrides" -j OPENSHIFT-FIREWALL-ALLOW')
    if with_others:
        w('-A INPUT -j KUBE-FIREWALL   # kubelet')
    w('-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD')
    w('-A FORWARD -i tun0 ! -o tun0 -m comment --comment "administrator overrides" -j OPENSHIFT-ADMIN-OUTPUT-RULES')
    w('-A FORWARD -m comment --comment "firewall overrides" -j OPENSHIFT-FIREWALL-FORWARD')
    w('-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
    if with_others:
        w('-A OUTPUT -j KUBE-FIREWALL   # kubelet')
    for r in filter_kube.get("KUBE-EXTERNAL-SERVICES", []):
        w(r)
    if with_others:
        w('-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets" -m mark --mark 0x8000/0x8000 -j DROP   # kubelet')
    w('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x1/0x1 -j ACCEPT')
    w(f'-A KUBE-FORWARD -s {CIDR} -m comment --comment "kubernetes forwarding conntrack pod source rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')
    w(f'-A KUBE-FORWARD -d {CIDR} -m comment --comment "kubernetes forwarding conntrack pod destination rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')
    for r in filter_kube.get("KUBE-SERVICES", []):
        w(r)
    w('-A OPENSHIFT-FIREWALL-ALLOW -p udp -m udp --dport 4789 -m comment --comment "VXLAN incoming" -j ACCEPT')
    w('-A OPENSHIFT-FIREWALL-ALLOW -i tun0 -m comment --comment "from SDN to localhost" -j ACCEPT')
    w('-A OPENSHIFT-FIREWALL-ALLOW -i docker0 -m comment --comment "from docker to localhost" -j ACCEPT')
    w(f'-A OPENSHIFT-FIREWALL-FORWARD -s {CIDR} -m comment --comment "attempted resend after connection close" -m conntrack --ctstate INVALID -j DROP')
    w(f'-A OPENSHIFT-FIREWALL-FORWARD -d {CIDR} -m comment --comment "forward traffic from SDN" -j ACCEPT')
    w(f'-A OPENSHIFT-FIREWALL-FORWARD -s {CIDR} -m comment --comment "forward traffic to SDN" -j ACCEPT')
    w("COMMIT")
    w("*nat")
    for c in ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"):
        w(f":{c} ACCEPT [0:0]")
    chains = ["KUBE-MARK-MASQ", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-SERVICES", "OPENSHIFT-MASQUERADE"]
    if not masquerade_services:
        chains.append("OPENSHIFT-MASQUERADE-2")
    if with_others:
        chains += ["KUBE-HOSTPORTS", "KUBE-MARK-DROP", "KUBE-NODEPORT-CONTAINER", "KUBE-NODEPORT-HOST",
                   "KUBE-PORTALS-CONTAINER", "KUBE-PORTALS-HOST"]
    for p in parts:
        chains += p[0]
    for c in sorted(chains):
        w(f":{c} - [0:0]")
    w('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
    if with_others:
        w('-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER   # unidler')
        w('-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-CONTAINER   # unidler')
        w('-A PREROUTING -m comment --comment "kube hostport portals" -m addrtype --dst-type LOCAL -j KUBE-HOSTPORTS   # hostports')
    w('-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
    if with_others:
        w('-A OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST   # unidler')
        w('-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-HOST   # unidler')
        w('-A OUTPUT -m comment --comment "kube hostport portals" -m addrtype --dst-type LOCAL -j KUBE-HOSTPORTS   # hostports')
    w('-A POSTROUTING -m comment --comment "rules for masquerading OpenShift traffic" -j OPENSHIFT-MASQUERADE')
    w('-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING')
    if with_others:
        w('-A POSTROUTING -s 127.0.0.0/8 -o tun0 -m comment --comment "SNAT for localhost access to hostports" -j MASQUERADE   # hostports')
        w('-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000   # kubelet')
    w('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x1/0x1')
    for p in parts:
        for r in p[2]:
            w(r)
    w('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -m mark --mark 0x1/0x1 -j MASQUERADE')
    rules = [r for p in parts for r in p[3]]
    for r in sorted((r for r in rules if r.startswith("-A KUBE-SEP-")), key=lambda r: r.split()[1]):  # chains by name
        w(r)
    for p in parts:  # per-service order is a Go map iteration (random); kept in file order here
        for r in p[1]:
            w(r)
    w('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    for r in sorted((r for r in rules if r.startswith("-A KUBE-SVC-")), key=lambda r: r.split()[1]):
        w(r)
    if masquerade_services:
        w(f'-A OPENSHIFT-MASQUERADE -s {CIDR} -m comment --comment "masquerade pod-to-service and pod-to-external traffic" -j MASQUERADE')
    else:
        w(f'-A OPENSHIFT-MASQUERADE -s {CIDR} -m comment --comment "masquerade pod-to-external traffic" -j OPENSHIFT-MASQUERADE-2')
        w(f'-A OPENSHIFT-MASQUERADE-2 -d {CIDR} -m comment --comment "masquerade pod-to-external traffic" -j RETURN')
        w('-A OPENSHIFT-MASQUERADE-2 -j MASQUERADE')
    w("COMMIT")
    return L


HEADER = """\
# node1 of the tests/11-openshift-objects lab (`lab` fixture = `lab run openshift --nodes 3 --pods-per-node 1
#   -f tests/11-openshift-objects/cluster.yaml`, subnet plugin): KUBE-* and OPENSHIFT-* chains of `iptables-save`
#   (filter and nat), chains and rules only, counters [0:0]. Services: shop/web 172.30.10.10 http 80/TCP -> 8080 and
#   dns 53/UDP -> 5353; shop/web-public 172.30.0.2 80/TCP NodePort 30080; shop/nobody 172.30.0.3 80/TCP NodePort
#   30081 (selector matches nothing). Endpoints (sorted byte-wise by IP, as the endpoints controller does):
#   10.128.0.3, 10.129.0.3, 10.130.0.3 (shop/web-1..3).
# Written by hand from the Go source (tools/make_iptables_goldens.py, tools/hashes.py): see README.md. Not from lab/.
# Hash names: KUBE-SVC-<base32(sha256("<ns>/<svc>:<portname>" + proto))[:16]>, KUBE-SEP-<base32(sha256(... + proto +
#   "ip:port"))[:16]> (proxier.go portProtoHash / servicePortEndpointChainName).
# Lines ending "# kubelet", "# unidler", "# hostports" come from components other than kube-proxy and openshift-sdn
#   (kubelet syncNetworkUtil; the unidling userspace proxier that origin's RunProxy starts with enableUnidling=true;
#   the SDN's hostport syncer after the first pod). The trailing comment is not part of the rule.
# Order: per-service rule groups in KUBE-SERVICES come from a Go map iteration (random per sync); the order of jump
#   rules in built-in chains depends on component start order. Compare chains as sets of rules, except that within
#   one service the masquerade rule precedes the jump, a SVC chain's rules keep their order, and the KUBE-NODEPORTS
#   jump is the last rule of nat KUBE-SERVICES.
"""

if __name__ == "__main__":
    parts, fk = services_lab()
    with open(os.path.join(OUT, "services-node1.iptables"), "w") as f:
        f.write(HEADER)
        f.write("\n".join(render(parts, fk)) + "\n")


def plugin_labs():
    for plugin, masq in (("multitenant", True), ("networkpolicy", False)):
        hdr = HEADER.split("# Written by hand")[1]
        with open(os.path.join(OUT, f"{plugin}-node1.iptables"), "w") as f:
            f.write(f"# node1 of `lab run openshift --plugin {plugin}` (2 nodes x 2 pods, no services): KUBE-* and OPENSHIFT-*\n"
                    f"#   chains of `iptables-save` (filter and nat), chains and rules only, counters [0:0].\n"
                    f"#   openshift-sdn iptables.go: masqueradeServices = !useConnTrack = {str(masq).lower()}.\n")
            f.write("# Written by hand" + hdr)
            f.write("\n".join(render([], {}, masquerade_services=masq)) + "\n")


if __name__ == "__main__":
    plugin_labs()
