"""`oc get clusternetwork|hostsubnets|pods|svc|endpoints|namespaces`, printed the way oc 3.11 prints them
(reference §3.4): `-n NS` picks a namespace (default `default`), `--all-namespaces` adds a NAMESPACE column,
`-o wide` adds the wide columns."""

from __future__ import annotations

from typing import List, Optional

from lab.planes.openshift.api.objects import NetNamespace, format_labels
from lab.planes.openshift.model import Cluster
from lab.table import format_table

MAX_ENDPOINTS = 3  # kubectl lists three, then ` + N more...`


def get_clusternetwork(cluster: Cluster, **_kw) -> str:
    cn = cluster.network
    return format_table(["NAME", "CLUSTER NETWORKS", "SERVICE NETWORK", "PLUGIN NAME"],
                        [["default", f"{cn.cidr}:{cn.host_subnet_length}", cn.service_network, cn.plugin]])


def get_hostsubnets(cluster: Cluster, **_kw) -> str:
    return format_table(["NAME", "HOST", "HOST IP", "SUBNET", "EGRESS CIDRS", "EGRESS IPS"],
                        [[hs.name, hs.name, hs.host_ip, hs.subnet, f"[{', '.join(hs.egress_cidrs)}]",
                          f"[{', '.join(hs.egress_ips)}]"] for hs in cluster.hostsubnets])


def _table(header: List[str], rows: List[list], namespaces: Optional[List[str]]) -> str:
    """With --all-namespaces (namespaces given) a NAMESPACE column comes first."""
    if namespaces is not None:
        header, rows = ["NAMESPACE"] + header, [[ns] + row for ns, row in zip(namespaces, rows, strict=True)]
    if not rows:
        return "No resources found."
    return format_table(header, rows)


def _ready(pod) -> str:
    """READY: every declared container runs (a pod the lab generated has one)."""
    n = len(pod.containers) or 1
    return f"{n}/{n}"


def get_pods(cluster: Cluster, age: str = "1m", namespace: Optional[str] = "default", wide: bool = True) -> str:
    pods = [p for p in cluster.pods if namespace is None or p.namespace == namespace]
    header = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] + (["IP", "NODE", "NOMINATED NODE"] if wide else [])
    rows = [[p.name, _ready(p), "Running", 0, age] + ([p.ip, p.node, "<none>"] if wide else []) for p in pods]
    return _table(header, rows, [p.namespace for p in pods] if namespace is None else None)


def _listed(cluster: Cluster, namespace: Optional[str]) -> list:
    """Services as the API server lists them: by namespace, then name (its storage keys' order)."""
    return sorted((s for s in cluster.services if namespace is None or s.namespace == namespace),
                  key=lambda s: (s.namespace, s.name))


def service_ports(service) -> str:
    """PORT(S): `port/PROTO` or `port:nodePort/PROTO`, comma-joined."""
    return ",".join(f"{p.port}:{p.node_port}/{p.protocol}" if p.node_port else f"{p.port}/{p.protocol}"
                    for p in service.ports)


def get_services(cluster: Cluster, age: str = "1m", namespace: Optional[str] = "default", wide: bool = False) -> str:
    svcs = _listed(cluster, namespace)
    header = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"] + (["SELECTOR"] if wide else [])
    rows = [[s.name, s.type, s.cluster_ip, "<none>", service_ports(s), age] + ([format_labels(s.selector)] if wide else [])
            for s in svcs]
    return _table(header, rows, [s.namespace for s in svcs] if namespace is None else None)


def endpoints_text(cluster: Cluster, service) -> str:
    """ENDPOINTS: ip:port port by port, address by address; three at most, then ` + N more...`."""
    pairs = [f"{a.ip}:{a.port}" for addrs in cluster.endpoints(service).values() for a in addrs]
    if not pairs:
        return "<none>"
    more = len(pairs) - MAX_ENDPOINTS
    return ",".join(pairs[:MAX_ENDPOINTS]) + (f" + {more} more..." if more > 0 else "")


def get_endpoints(cluster: Cluster, age: str = "1m", namespace: Optional[str] = "default", wide: bool = False) -> str:
    svcs = _listed(cluster, namespace)
    rows = [[s.name, endpoints_text(cluster, s), age] for s in svcs]
    return _table(["NAME", "ENDPOINTS", "AGE"], rows, [s.namespace for s in svcs] if namespace is None else None)


def get_namespaces(cluster: Cluster, age: str = "1m", **_kw) -> str:
    return format_table(["NAME", "STATUS", "AGE"], [[n.name, "Active", age] for n in sorted(cluster.namespaces, key=lambda n: n.name)])


# --- network policies, and objects as YAML (`oc get KIND [NAME] -o yaml`) ---------------------------

def format_selector(selector: Optional[dict]) -> str:
    """metav1.FormatLabelSelector: `app=web,tier in (a,b),!x`; `<none>` for the empty selector."""
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for e in selector.get("matchExpressions") or []:
        op, values = e.get("operator"), ",".join(str(v) for v in e.get("values") or [])
        parts.append({"In": f"{e['key']} in ({values})", "NotIn": f"{e['key']} notin ({values})",
                      "Exists": e["key"], "DoesNotExist": f"!{e['key']}"}.get(op, e["key"]))
    return ",".join(parts) or "<none>"


def get_networkpolicies(cluster: Cluster, age: str = "1m", namespace: Optional[str] = "default",
                        wide: bool = False) -> str:
    """`oc get networkpolicy` as 3.11's oc prints it: NAME, POD-SELECTOR, AGE."""
    pols = sorted((p for p in cluster.policies if namespace is None or p.namespace == namespace),
                  key=lambda p: (p.namespace, p.name))
    rows = [[p.name, format_selector((p.spec or {}).get("podSelector")), age] for p in pols]
    return _table(["NAME", "POD-SELECTOR", "AGE"], rows, [p.namespace for p in pols] if namespace is None else None)


def _meta(name: str, namespace: str = "", labels: Optional[dict] = None) -> dict:
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    return meta


def pod_object(cluster: Cluster, pod) -> dict:
    ports = [{"containerPort": cp.port, "protocol": cp.protocol, **({"name": cp.name} if cp.name else {})}
             for cp in pod.ports]
    container = {"name": "main", "image": pod.image or "busybox", **({"ports": ports} if ports else {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": _meta(pod.name, pod.namespace, pod.labels),
            "spec": {"containers": [container], "nodeName": pod.node},
            "status": {"phase": "Running", "podIP": pod.ip, "hostIP": cluster.hostsubnet(pod.node).host_ip}}


def service_object(cluster: Cluster, service) -> dict:
    ports = []
    for sp in service.ports:
        port = {"port": sp.port, "protocol": sp.protocol, "targetPort": sp.target}
        if sp.name:
            port["name"] = sp.name
        if sp.node_port:
            port["nodePort"] = sp.node_port
        ports.append(port)
    spec = {"clusterIP": service.cluster_ip, "ports": ports, "sessionAffinity": "None", "type": service.type}
    if service.selector:
        spec["selector"] = dict(service.selector)
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(service.name, service.namespace),
            "spec": spec, "status": {"loadBalancer": {}}}


def policy_object(cluster: Cluster, policy) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _meta(policy.name, policy.namespace), "spec": policy.spec or {"podSelector": {}}}


def namespace_object(cluster: Cluster, ns) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ns.name, "", ns.labels),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def netnamespace_object(cluster: Cluster, netns: NetNamespace) -> dict:
    obj = {"apiVersion": "network.openshift.io/v1", "kind": "NetNamespace", "metadata": _meta(netns.name),
           "netid": netns.netid, "netname": netns.name}
    if netns.annotations:
        obj["metadata"]["annotations"] = dict(netns.annotations)
    if netns.egress_ips:
        obj["egressIPs"] = list(netns.egress_ips)
    return obj


def _tabwriter(rows: List[List[str]]) -> str:
    """text/tabwriter as kubectl 1.11 sets it up: minwidth 10, padding 3; the last column unpadded."""
    width = [max(max(len(r[i]) + 3, 10) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("".join(c.ljust(w) for c, w in zip(r, width, strict=False)) + r[-1] for r in rows)


def get_netnamespaces(cluster: Cluster, **_kw) -> str:
    """`oc get netnamespaces`: NAME, NETID, EGRESS IPS, in the API server's (name) order."""
    rows = [["NAME", "NETID", "EGRESS IPS"]] + [[n.name, str(n.netid), f"[{', '.join(n.egress_ips)}]"]
                                                 for n in sorted(cluster.netnamespaces, key=lambda n: n.name)]
    return _tabwriter(rows)


def get_egressnetworkpolicies(cluster: Cluster, age: str = "1m", namespace: Optional[str] = "default",
                              wide: bool = False) -> str:
    """`oc get egressnetworkpolicy`: NAME only (3.11's printer)."""
    pols = sorted((p for p in cluster.egress_policies if namespace is None or p.namespace == namespace),
                  key=lambda p: (p.namespace, p.name))
    return _table(["NAME"], [[p.name] for p in pols], [p.namespace for p in pols] if namespace is None else None)


def egressnetworkpolicy_object(cluster: Cluster, policy) -> dict:
    return {"apiVersion": "network.openshift.io/v1", "kind": "EgressNetworkPolicy",
            "metadata": _meta(policy.name, policy.namespace),
            "spec": {"egress": [{"type": t, "to": {"cidrSelector": c}} for t, c in policy.egress]}}


def as_yaml(objects: List[dict], single: bool) -> str:
    """One object, or a List of them, as `oc get -o yaml` prints (keys sorted)."""
    import yaml
    doc = objects[0] if single else {"apiVersion": "v1", "items": objects, "kind": "List",
                                     "metadata": {"resourceVersion": "", "selfLink": ""}}
    return yaml.safe_dump(doc, default_flow_style=False, sort_keys=True).rstrip("\n")
