"""Manifests the API server would refuse, one wrong field each, for every kind the lab takes (shared by
tests/unit/test_manifest_refusals.py and tests/11-openshift-objects/test_bad_manifests.py).

A case is (id, documents, words): the documents are valid ones (BASE) with one field set to a bad value (or
taken away), and `words` must be in the one-line refusal. The base documents are accepted as they are, on a
networkpolicy cluster of two nodes with projects p1 and p2 (build_cluster's pods)."""

import copy
import re

import yaml

GONE = object()  # the field is taken away

BASE = {
    "Namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"team": "a"}}},
    "Project": {"apiVersion": "project.openshift.io/v1", "kind": "Project", "metadata": {"name": "store"}},
    "Pod": {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "a", "namespace": "default", "labels": {"app": "a"}, "annotations": {"x": "y"}},
            "spec": {"nodeName": "node1", "restartPolicy": "Always", "terminationGracePeriodSeconds": 5,
                     "containers": [{"name": "c", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent",
                                     "command": ["sh"], "args": ["-c", "sleep 1"],
                                     "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"}]}]}},
    "Deployment": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}},
                                         "spec": {"containers": [{"name": "c", "image": "registry.local:5000/web",
                                                                  "ports": [{"containerPort": 8080}]}]}}}},
    "Service": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                "spec": {"selector": {"app": "a"}, "type": "ClusterIP", "sessionAffinity": "None",
                         "clusterIP": "172.30.0.50",
                         "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}},
    "NodePort": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"},
                 "spec": {"selector": {"app": "a"}, "type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}},
    "NetworkPolicy": {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p"},
                      "spec": {"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Ingress", "Egress"],
                               "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "b"}}},
                                                     {"namespaceSelector": {"matchExpressions": [
                                                         {"key": "team", "operator": "In", "values": ["a"]}]}},
                                                     {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                                            "ports": [{"port": 80, "protocol": "TCP"}, {"port": "http"}]}],
                               "egress": [{"to": [{"podSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]}]}},
    "EgressNetworkPolicy": {"apiVersion": "network.openshift.io/v1", "kind": "EgressNetworkPolicy",
                            "metadata": {"name": "e", "namespace": "p1"},
                            "spec": {"egress": [{"type": "Deny", "to": {"cidrSelector": "172.16.1.254/32"}}]}},
    "HostSubnet": {"apiVersion": "network.openshift.io/v1", "kind": "HostSubnet", "metadata": {"name": "node2"},
                   "egressCIDRs": ["172.16.1.96/28"], "egressIPs": ["172.16.1.100"]},
    "NetNamespace": {"apiVersion": "network.openshift.io/v1", "kind": "NetNamespace", "metadata": {"name": "p1"},
                     "egressIPs": ["172.16.1.100"]},
}

# (kind, field path, bad value or GONE, words the refusal holds)
FIELDS = [
    ("Namespace", "metadata.name", "Shop", "DNS-1123 label"),
    ("Namespace", "metadata.name", "shop\n", "DNS-1123 label"),
    ("Namespace", "metadata.name", "s" * 64, "DNS-1123 label"),
    ("Namespace", "metadata.name", 5, "DNS-1123 label"),
    ("Namespace", "metadata.name", "-shop", "DNS-1123 label"),
    ("Namespace", "metadata.name", "sh op", "DNS-1123 label"),
    ("Namespace", "metadata.name", GONE, "DNS-1123 label"),
    ("Namespace", "metadata", "x", "metadata must be an object"),
    ("Namespace", "metadata.labels", "x", "metadata.labels"),
    ("Namespace", "metadata.labels", {"team": ["a"]}, "not a valid label value"),
    ("Namespace", "metadata.labels", {"team\n": "a"}, "not a valid label key"),
    ("Namespace", "metadata.labels", {"team": "a\n"}, "not a valid label value"),
    ("Namespace", "metadata.labels", {"team": True}, "not a valid label value"),
    ("Namespace", "metadata.annotations", 5, "metadata.annotations"),
    ("Namespace", "metadata.annotations", {"a": 5}, "metadata.annotations"),
    ("Namespace", "status", {}, "unknown field Namespace.status"),
    ("Project", "metadata.name", "store\n", "DNS-1123 label"),
    ("Project", "metadata.name", "Store", "DNS-1123 label"),
    ("Pod", "metadata.name", "a" * 253, "at most 63 characters"),
    ("Pod", "metadata.name", "a" * 254, "DNS-1123 subdomain"),
    ("Pod", "metadata.name", "A", "DNS-1123 subdomain"),
    ("Pod", "metadata.name", "a\n", "DNS-1123 subdomain"),
    ("Pod", "metadata.name", "a b", "DNS-1123 subdomain"),
    ("Pod", "metadata.name", "a/b", "DNS-1123 subdomain"),
    ("Pod", "metadata.name", None, "DNS-1123 subdomain"),
    ("Pod", "metadata.name", 7, "DNS-1123 subdomain"),
    ("Pod", "metadata.namespace", 5, "metadata.namespace"),
    ("Pod", "metadata.namespace", "default\n", "does not exist"),
    ("Pod", "metadata.namespace", "nope", "does not exist"),
    ("Pod", "metadata.uid", "x", "unknown field metadata.uid"),
    ("Pod", "spec", "x", "spec must be an object"),
    ("Pod", "spec", GONE, "spec must be an object"),
    ("Pod", "spec.hostNetwork", True, "unknown field"),
    ("Pod", "spec.containers", "x", "spec.containers"),
    ("Pod", "spec.containers", [], "spec.containers"),
    ("Pod", "spec.containers[0]", "x", "must be an object"),
    ("Pod", "spec.containers[0].name", "C", "container name"),
    ("Pod", "spec.containers[0].name", "c\n", "container name"),
    ("Pod", "spec.containers[0].name", GONE, "container name"),
    ("Pod", "spec.containers[0].image", "Nginx:Latest", "repository name must be lowercase"),
    ("Pod", "spec.containers[0].image", "a b", "invalid reference format"),
    ("Pod", "spec.containers[0].image", "busybox\n", "invalid reference format"),
    ("Pod", "spec.containers[0].image", "busybox:", "invalid reference format"),
    ("Pod", "spec.containers[0].image", ":latest", "invalid reference format"),
    ("Pod", "spec.containers[0].image", "busybox:la test", "invalid reference format"),
    ("Pod", "spec.containers[0].image", "UPPER/case", "repository name must be lowercase"),
    ("Pod", "spec.containers[0].image", "busybox@sha256:" + "a" * 64, "not a digest"),
    ("Pod", "spec.containers[0].image", 5, "image must be a string"),
    ("Pod", "spec.containers[0].image", ["busybox"], "image must be a string"),
    ("Pod", "spec.containers[0].ports", 80, "ports must be a list"),
    ("Pod", "spec.containers[0].ports", ["x"], "must be an object"),
    ("Pod", "spec.containers[0].ports[0].containerPort", 80.5, "containerPort must be an integer"),
    ("Pod", "spec.containers[0].ports[0].containerPort", "80", "containerPort must be an integer"),
    ("Pod", "spec.containers[0].ports[0].containerPort", 0, "containerPort must be an integer"),
    ("Pod", "spec.containers[0].ports[0].containerPort", 65536, "containerPort must be an integer"),
    ("Pod", "spec.containers[0].ports[0].containerPort", True, "containerPort must be an integer"),
    ("Pod", "spec.containers[0].ports[0].containerPort", GONE, "containerPort must be an integer"),
    ("Pod", "spec.containers[0].ports[0].protocol", "tcp", "protocol must be one of TCP, UDP"),
    ("Pod", "spec.containers[0].ports[0].protocol", "SCTP", "protocol must be one of TCP, UDP"),
    ("Pod", "spec.containers[0].ports[0].name", 5, "port name"),
    ("Pod", "spec.containers[0].ports[0].name", "HTTP", "port name"),
    ("Pod", "spec.containers[0].ports[0].name", "a-very-long-port-name", "port name"),
    ("Pod", "spec.containers[0].ports[0].name", "8080", "port name"),
    ("Pod", "spec.containers[0].command", "sh", "command must be a list of strings"),
    ("Pod", "spec.containers[0].command", [["sh"]], "command must be a list of strings"),
    ("Pod", "spec.containers[0].args", 5, "args must be a list of strings"),
    ("Pod", "spec.containers[0].args", [True], "args must be a list of strings"),
    ("Pod", "spec.containers[0].imagePullPolicy", "Sometimes", "imagePullPolicy must be one of"),
    ("Pod", "spec.containers[0].imagePullPolicy", 5, "imagePullPolicy must be one of"),
    ("Pod", "spec.containers[0].securityContext", {}, "unknown field"),
    ("Pod", "spec.nodeName", 5, "spec.nodeName must be a string"),
    ("Pod", "spec.nodeName", "node1\n", "is not a node"),
    ("Pod", "spec.nodeName", "node9", "is not a node"),
    ("Pod", "spec.restartPolicy", "Sometimes", "restartPolicy must be one of"),
    ("Pod", "spec.restartPolicy", 5, "restartPolicy must be one of"),
    ("Pod", "spec.terminationGracePeriodSeconds", -1, "terminationGracePeriodSeconds must be an integer"),
    ("Pod", "spec.terminationGracePeriodSeconds", "5", "terminationGracePeriodSeconds must be an integer"),
    ("Pod", "spec.terminationGracePeriodSeconds", 1.5, "terminationGracePeriodSeconds must be an integer"),
    ("Deployment", "spec.template.spec", "x", "spec.template.spec must be an object"),
    ("Deployment", "spec.template.spec", 5, "spec.template.spec must be an object"),
    ("Deployment", "spec.template.spec", GONE, "spec.template.spec must be an object"),
    ("Deployment", "spec.template", "x", "spec.template must be an object"),
    ("Deployment", "spec.template.metadata", "x", "spec.template.metadata must be an object"),
    ("Deployment", "spec.template.metadata.labels", "x", "spec.template.metadata.labels"),
    ("Deployment", "spec.template.metadata.annotations", [1], "spec.template.metadata.annotations"),
    ("Deployment", "spec.replicas", "2", "spec.replicas must be an integer"),
    ("Deployment", "spec.replicas", 2.5, "spec.replicas must be an integer"),
    ("Deployment", "spec.replicas", True, "spec.replicas must be an integer"),
    ("Deployment", "spec.replicas", -1, "spec.replicas must be an integer"),
    ("Deployment", "spec.selector", "app=web", "spec.selector must be an object"),
    ("Deployment", "spec.selector.matchLabels", {"app": "other"}, "does not match"),
    ("Deployment", "spec.selector.matchExpressions", "x", "matchExpressions must be a list"),
    ("Deployment", "spec.template.spec.nodeName", 5, "nodeName must be a string"),
    ("Deployment", "spec.template.spec.nodeName", "node9", "is not a node"),
    ("Deployment", "spec.template.spec.containers[0].image", "Nginx:Latest", "repository name must be lowercase"),
    ("Deployment", "spec.template.spec.containers[0].ports[0].containerPort", 8080.5, "containerPort"),
    ("Deployment", "metadata.name", "Web", "DNS-1123 subdomain"),
    ("Deployment", "metadata.name", "web\n", "DNS-1123 subdomain"),
    ("Deployment", "metadata.name", "w" * 70, "at most 63 characters"),
    ("Deployment", "spec", GONE, "spec must be an object"),
    ("Service", "spec.ports", 80, "spec.ports must list"),
    ("Service", "spec.ports", [80], "must be an object"),
    ("Service", "spec.ports", [], "spec.ports must list"),
    ("Service", "spec.ports[0].port", 80.5, "port must be an integer"),
    ("Service", "spec.ports[0].port", "80", "port must be an integer"),
    ("Service", "spec.ports[0].port", True, "port must be an integer"),
    ("Service", "spec.ports[0].port", 0, "port must be an integer"),
    ("Service", "spec.ports[0].port", GONE, "port must be an integer"),
    ("Service", "spec.ports[0].targetPort", None, "targetPort must be an integer"),
    ("Service", "spec.ports[0].targetPort", 8080.9, "targetPort must be an integer"),
    ("Service", "spec.ports[0].targetPort", True, "targetPort must be an integer"),
    ("Service", "spec.ports[0].targetPort", 70000, "targetPort must be an integer"),
    ("Service", "spec.ports[0].targetPort", "0", "targetPort must be an integer"),
    ("Service", "spec.ports[0].targetPort", "HTTP", "targetPort"),
    ("Service", "spec.ports[0].targetPort", "http\n", "targetPort"),
    ("Service", "spec.ports[0].targetPort", [1], "targetPort must be an integer"),
    ("Service", "spec.ports[0].protocol", "tcp", "protocol must be one of TCP, UDP"),
    ("Service", "spec.ports[0].name", "HTTP", "port name"),
    ("Service", "spec.ports[0].name", 5, "port name"),
    ("Service", "spec.ports[0].nodePort", 30080, "nodePort is only for type NodePort"),
    ("Service", "spec.type", "LoadBalancer", "spec.type must be one of"),
    ("Service", "spec.type", 5, "spec.type must be one of"),
    ("Service", "spec.selector", "app=a", "spec.selector must be a map"),
    ("Service", "spec.selector", {"app": ["a"]}, "not a valid label value"),
    ("Service", "spec.clusterIP", 5, "spec.clusterIP must be a string"),
    ("Service", "spec.clusterIP", "10.0.0.1", "not in the service network"),
    ("Service", "spec.clusterIP", "172.30.0.50\n", "is not an IPv4 address"),
    ("Service", "spec.clusterIP", "None", "is not an IPv4 address"),
    ("Service", "spec.sessionAffinity", "Sticky", "sessionAffinity must be one of"),
    ("Service", "spec.externalIPs", ["1.2.3.4"], "unknown field"),
    ("Service", "spec", "x", "spec must be an object"),
    ("Service", "metadata.name", "s\n", "DNS-1035 label"),
    ("Service", "metadata.name", "S", "DNS-1035 label"),
    ("Service", "metadata.name", "1s", "DNS-1035 label"),
    ("Service", "metadata.name", "s.t", "DNS-1035 label"),
    ("NodePort", "spec.ports[0].nodePort", 80, "nodePort must be an integer 30000..32767"),
    ("NodePort", "spec.ports[0].nodePort", 30080.5, "nodePort must be an integer 30000..32767"),
    ("NodePort", "spec.ports[0].nodePort", "30080", "nodePort must be an integer 30000..32767"),
    ("NetworkPolicy", "spec.ingress[0].ports[0].port", 80.5, "port must be an integer"),
    ("NetworkPolicy", "spec.ingress[0].ports[0].port", True, "port must be an integer"),
    ("NetworkPolicy", "spec.ingress[0].ports[0].port", 0, "port must be an integer"),
    ("NetworkPolicy", "spec.ingress[0].ports[0].port", 65536, "port must be an integer"),
    ("NetworkPolicy", "spec.ingress[0].ports[0].port", "HTTP", "port name"),
    ("NetworkPolicy", "spec.ingress[0].ports[0].port", [80], "port must be an integer"),
    ("NetworkPolicy", "spec.ingress[0].ports[0].protocol", "tcp", "protocol must be one of TCP, UDP"),
    ("NetworkPolicy", "spec.ingress[0].ports[0].protocol", 5, "protocol must be one of TCP, UDP"),
    ("NetworkPolicy", "spec.ingress[0].ports[0].endPort", 90, "unknown field"),
    ("NetworkPolicy", "spec.ingress[0].ports", 5, "ports must be a list"),
    ("NetworkPolicy", "spec.ingress[0].ports", [80], "must be an object"),
    ("NetworkPolicy", "spec.ingress", 5, "spec.ingress must be a list"),
    ("NetworkPolicy", "spec.ingress", "x", "spec.ingress must be a list"),
    ("NetworkPolicy", "spec.ingress[0]", "x", "must be an object"),
    ("NetworkPolicy", "spec.ingress[0].to", [], "unknown field"),
    ("NetworkPolicy", "spec.ingress[0].from", "x", "from must be a list"),
    ("NetworkPolicy", "spec.ingress[0].from", 5, "from must be a list"),
    ("NetworkPolicy", "spec.ingress[0].from[0]", "x", "must be an object"),
    ("NetworkPolicy", "spec.ingress[0].from[0]", {}, "must specify a peer"),
    ("NetworkPolicy", "spec.ingress[0].from[0].podSelector", "app=b", "podSelector must be an object"),
    ("NetworkPolicy", "spec.ingress[0].from[0].podSelector.matchLabels", "x", "matchLabels"),
    ("NetworkPolicy", "spec.ingress[0].from[1].namespaceSelector.matchExpressions", "x", "matchExpressions must be a list"),
    ("NetworkPolicy", "spec.ingress[0].from[1].namespaceSelector.matchExpressions[0].operator", "Near", "operator must be one of"),
    ("NetworkPolicy", "spec.ingress[0].from[1].namespaceSelector.matchExpressions[0].values", "a", "values must be a list"),
    ("NetworkPolicy", "spec.ingress[0].from[2].ipBlock.cidr", "x", "not a valid CIDR"),
    ("NetworkPolicy", "spec.ingress[0].from[2].ipBlock.cidr", "10.0.0.1", "not a valid CIDR"),
    ("NetworkPolicy", "spec.ingress[0].from[2].ipBlock.cidr", 5, "cidr must be a string"),
    ("NetworkPolicy", "spec.ingress[0].from[2].ipBlock.except", ["192.168.0.0/16"], "strictly within"),
    ("NetworkPolicy", "spec.ingress[0].from[2].ipBlock.except", "10.1.0.0/16", "except must be a list"),
    ("NetworkPolicy", "spec.ingress[0].from[2].podSelector", {}, "ipBlock stands alone"),
    ("NetworkPolicy", "spec.policyTypes", 5, "policyTypes must be a list"),
    ("NetworkPolicy", "spec.policyTypes", "Ingress", "policyTypes must be a list"),
    ("NetworkPolicy", "spec.policyTypes", ["Sideways"], "policyTypes[0] must be one of"),
    ("NetworkPolicy", "spec.policyTypes", ["Ingress", "Ingress"], "more than two policyTypes, nor one twice"),
    ("NetworkPolicy", "spec.egress", 5, "spec.egress must be a list"),
    ("NetworkPolicy", "spec.egress[0].to", "x", "to must be a list"),
    ("NetworkPolicy", "spec.egress[0].from", [], "unknown field"),
    ("NetworkPolicy", "spec.egress[0].ports[0].port", 53.5, "port must be an integer"),
    ("NetworkPolicy", "spec.podSelector", "x", "podSelector must be an object"),
    ("NetworkPolicy", "spec.podSelector", GONE, "spec.podSelector is required"),
    ("NetworkPolicy", "spec.podSelector.matchLabels", {"app": 1.5}, "not a valid label value"),
    ("NetworkPolicy", "spec", 5, "spec must be an object"),
    ("NetworkPolicy", "metadata.name", "P", "DNS-1123 subdomain"),
    ("NetworkPolicy", "metadata.name", "p\n", "DNS-1123 subdomain"),
    ("EgressNetworkPolicy", "spec.egress[0].type", "Block", "type must be Allow or Deny"),
    ("EgressNetworkPolicy", "spec.egress[0].to.cidrSelector", "x", "not a valid CIDR"),
    ("EgressNetworkPolicy", "spec.egress[0].to.cidrSelector", 5, "cidrSelector"),
    ("EgressNetworkPolicy", "spec.egress[0].to", "x", "to has cidrSelector or dnsName"),
    ("EgressNetworkPolicy", "spec.egress", 5, "spec.egress must be a list"),
    ("EgressNetworkPolicy", "metadata.name", "E", "DNS-1123 subdomain"),
    ("EgressNetworkPolicy", "metadata.name", "e\n", "DNS-1123 subdomain"),
    ("EgressNetworkPolicy", "metadata", "x", "metadata must be an object"),
    ("EgressNetworkPolicy", "metadata.namespace", "nope", 'namespaces "nope" not found'),
    ("EgressNetworkPolicy", "metadata.namespace", 5, "metadata.namespace must be a string"),
    ("HostSubnet", "egressIPs", "172.16.1.100", "egressIPs must be a list"),
    ("HostSubnet", "egressIPs", ["172.16.1.11"], "already the address of node1"),
    ("HostSubnet", "egressIPs", ["172.16.1.0"], "not in local network"),
    ("HostSubnet", "egressIPs", ["172.16.1.255"], "not in local network"),
    ("HostSubnet", "egressIPs", ["x"], "not an IPv4 address"),
    ("HostSubnet", "egressIPs", ["172.16.1.100\n"], "not an IPv4 address"),
    ("HostSubnet", "egressIPs", ["172.16.1.100", "172.16.1.100"], "listed twice"),
    ("HostSubnet", "egressCIDRs", "172.16.1.0/24", "egressCIDRs must be a list"),
    ("HostSubnet", "egressCIDRs", ["10.0.0.0/8"], "not in local network"),
    ("HostSubnet", "egressCIDRs", [5], "not a valid CIDR"),
    ("HostSubnet", "metadata.name", "node2\n", "DNS-1123 subdomain"),
    ("HostSubnet", "metadata.name", "node9", "no such node"),
    ("HostSubnet", "hostIP", "1.2.3.4", "the lab allocates it"),
    ("HostSubnet", "status", {}, "unknown field HostSubnet.status"),
    ("NetNamespace", "egressIPs", ["172.16.1.11"], "already the address of node1"),
    ("NetNamespace", "egressIPs", ["172.16.1.254"], "already the address of ext"),
    ("NetNamespace", "egressIPs", ["172.16.1.0"], "not in local network"),
    ("NetNamespace", "egressIPs", ["172.16.1.255"], "not in local network"),
    ("NetNamespace", "egressIPs", ["10.9.9.9"], "not in local network"),
    ("NetNamespace", "egressIPs", 5, "egressIPs must be a list"),
    ("NetNamespace", "netid", 99, "change it with oc adm pod-network"),
    ("NetNamespace", "metadata.annotations", {"x": 5}, "metadata.annotations"),
    ("NetNamespace", "metadata.annotations", {"bad key!": "v"}, "not a valid label key"),
    ("NetNamespace", "metadata.name", "p1\n", "DNS-1123 label"),
    ("NetNamespace", "metadata.name", "nope", 'netnamespaces.network.openshift.io "nope" not found'),
]

# whole documents: files that are not manifests, and egress IPs another holder has
RAW = [
    ("not-utf8", b"apiVersion: v1\nkind: Namespace\nmetadata: {name: \"sh\xff\xfeop\"}\n", "not UTF-8"),
    ("not-yaml", b"kind: [unclosed\n", "not valid YAML"),
    ("too-deep", b"[" * 5000 + b"]" * 5000 + b"\n", "not valid YAML"),
    ("a-list", b"- 1\n- 2\n", "a document must be an object"),
    ("a-string", b"just words\n", "a document must be an object"),
    ("unknown-kind", b"apiVersion: v1\nkind: Frob\nmetadata: {name: x}\n", "unknown kind 'Frob'"),
    ("kind-number", b"apiVersion: v1\nkind: 5\nmetadata: {name: x}\n", "unknown kind 5"),
    ("kind-missing", b"apiVersion: v1\nmetadata: {name: x}\n", "unknown kind None"),
    ("apiversion-number", b"apiVersion: 1\nkind: Namespace\nmetadata: {name: x}\n", "apiVersion must be a string"),
    ("list-items", b"apiVersion: v1\nkind: List\nitems: x\n", "a List needs items"),
]
DOCS = [
    ("pod-twice", [BASE["Pod"], BASE["Pod"]], "already"),
    ("container-twice", None, "is used twice in the pod"),
    ("container-port-twice", None, "is declared twice"),
    ("service-port-twice", None, "listed twice"),
    ("service-ports-unnamed", None, "every port needs a name"),
    ("cluster-ip-twice", None, "already allocated"),
    ("node-port-twice", None, "nodePort 30080 is allocated to two services"),
    ("namespace-twice", [BASE["Namespace"], BASE["Namespace"]], "already"),
    ("policy-twice", [BASE["NetworkPolicy"], BASE["NetworkPolicy"]], "already"),
    ("egress-ip-two-nodes", [{**BASE["HostSubnet"], "egressCIDRs": []}, {**BASE["HostSubnet"], "metadata": {"name": "node1"},
                                                                        "egressCIDRs": []}], "already in use by hostsubnet node2"),
    ("egress-ip-two-namespaces", [BASE["NetNamespace"], {**BASE["NetNamespace"], "metadata": {"name": "p2"}}],
     "already in use by netnamespace p1"),
]

# one object twice: created twice is refused; applied twice, the second is "unchanged" (as kubectl apply says)
APPLY_TAKES = {"pod-twice", "namespace-twice", "policy-twice"}


def _path(path: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"\.|\[|\]\.?", path) if p != ""]


def mutate(kind: str, path: str, value) -> dict:
    doc = copy.deepcopy(BASE[kind])
    *parents, last = _path(path)
    here = doc
    for p in parents:
        here = here[p]
    if value is GONE:
        del here[last]
    else:
        here[last] = value
    return doc


def _doubled(kind: str, path: str, value) -> list:
    """The base document and a second one that repeats something the first has."""
    return [BASE[kind], mutate(kind, path, value)]


def _documents(case_id: str, docs):
    if docs is not None:
        return docs
    pod2 = mutate("Pod", "spec.containers", BASE["Pod"]["spec"]["containers"] * 2)
    port2 = mutate("Pod", "spec.containers[0].ports", BASE["Pod"]["spec"]["containers"][0]["ports"] * 2)
    sp = BASE["Service"]["spec"]["ports"][0]
    return {
        "container-twice": [pod2],
        "container-port-twice": [port2],
        "service-port-twice": [mutate("Service", "spec.ports", [sp, {**sp, "name": "other"}])],
        "service-ports-unnamed": [mutate("Service", "spec.ports", [{"port": 80}, {"port": 81}])],
        "cluster-ip-twice": _doubled("Service", "metadata.name", "t"),
        "node-port-twice": _doubled("NodePort", "metadata.name", "nq"),
    }[case_id]


def cases():
    """[(id, file bytes, words)]: at least 100 refusals, each a complete file."""
    out = []
    for i, (kind, path, value, words) in enumerate(FIELDS):
        out.append((f"{kind}-{path}-{i}", _dump([mutate(kind, path, value)]), words))
    out += [(case_id, text, words) for case_id, text, words in RAW]
    out += [(case_id, _dump(_documents(case_id, docs)), words) for case_id, docs, words in DOCS]
    return out


def _dump(docs) -> bytes:
    return yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False).encode()


def base_file() -> bytes:
    """Every base document in one file: accepted."""
    return _dump([BASE[k] for k in BASE])
