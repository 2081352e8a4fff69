"""Change a running cluster with `oc` as an administrator would: projects joined or made global
(ovs-multitenant), a NetworkPolicy for one app (ovs-networkpolicy), a Service's endpoints fixed by a label.
The student types the `oc` line in the lab's CLI; grading observes pings, requests, traces, flows, kube-proxy's
rules, and what `oc get` shows now (the API state the lab rewrites after every change)."""

from __future__ import annotations

import os
import re

from lab.errors import LabError
from lab.planes.openshift.exercises.common import api, oc
from lab.workshop.criteria import reaches
from lab.workshop.exercise import Criterion, Exercise, Outcome, Question, hints, text

MANIFESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "manifests")
SHOP = os.path.join(MANIFESTS, "shop.yaml")
ALLOW_FRONTEND = os.path.join(MANIFESTS, "allow-frontend.yaml")
MONITORING = os.path.join(MANIFESTS, "monitoring.yaml")
WEB_MISLABELLED = os.path.join(MANIFESTS, "web-mislabelled.yaml")

# pod1 (project p1) on node1, pod2 (p2) on node2
MULTITENANT = ("--nodes", "2", "--pods-per-node", "1", "--plugin", "multitenant", "--no-checks")
WEB_PORT = 8080


def netid(value: str) -> str:
    """`0x53cff1`, `5492721` -> `5492721` (NETIDs are written both ways)."""
    v = value.strip()
    return str(int(v, 0)) if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", v) else v.lower()


class _Netids(dict):
    def __missing__(self, key):
        raise LabError(f"`oc get netnamespaces` lists no {key}")


def _netids(lab) -> dict:
    return _Netids(api(lab)["netnamespaces"])


def _api_pod(lab, name: str):
    """The pod as `oc get pods` shows it now, or None."""
    return next((p for p in api(lab)["pods"] if p["name"] == name), None)


def _api_service(lab, namespace: str, name: str) -> dict:
    found = next((s for s in api(lab)["services"] if (s["namespace"], s["name"]) == (namespace, name)), None)
    if found is None:
        raise LabError(f"`oc get svc -n {namespace}` lists no {name}")
    return found


def isolated(src: str, dst: str) -> Criterion:
    def observe(lab) -> Outcome:
        ip = lab.ip_of(dst)
        ok = not lab.ping(src, ip, tries=1)
        return Outcome(ok, f"{src} -> {dst} ({ip}): " + ("no answer (isolated)" if ok else "answered"))
    return Criterion(text(f"{src} still cannot reach {dst} (their projects stay apart)",
                          f"{src} 仍然无法访问 {dst}（它们的项目保持隔离）"), observe)


# -- join-projects

def _same_netid(a: str, b: str) -> Criterion:
    def observe(lab) -> Outcome:
        ids = _netids(lab)
        return Outcome(ids[a] == ids[b], f"oc get netnamespaces: {a} NETID {ids[a]}, {b} NETID {ids[b]}")
    return Criterion(text(f"NetNamespaces {a} and {b} share one NETID", f"NetNamespace {a} 与 {b} 的 NETID 相同"),
                     observe)


def _trace_passes_80(src: str, dst: str) -> Criterion:
    def observe(lab) -> Outcome:
        hops = lab.path(src, dst)
        seen = "; ".join(f"{h.node}: {' > '.join(map(str, h.tables))}: {h.end}" for h in hops)
        ok = bool(hops) and not any(h.end.startswith("drop") for h in hops) and hops[-1].end.startswith("output")
        return Outcome(ok, seen or "no trace")
    return Criterion(text(f"ofproto/trace {src} -> {dst} no longer ends in table 80",
                          f"ofproto/trace {src} -> {dst} 不再止于表 80"), observe)


def _shared_netid(lab) -> str:
    ids = _netids(lab)
    return str(ids["p1"]) if ids["p1"] == ids["p2"] else ""


def _isolate_if_joined(lab) -> None:
    if _netids(lab)["p1"] == _netids(lab)["p2"]:
        oc(lab, "adm pod-network isolate-projects p2")


# -- global-project

def _global_netid(lab) -> str:
    return str(_netids(lab)["monitoring"])


def _isolate_if_global(lab) -> None:
    if _netids(lab)["monitoring"] == 0:
        oc(lab, "adm pod-network isolate-projects monitoring")


# -- networkpolicy-one-app

def _request(src: str, dst: str, answers: bool) -> Criterion:
    """src asks dst's pod on WEB_PORT: answers=True wants dst's name back, False wants no answer."""
    def observe(lab) -> Outcome:
        ip = lab.ip_of(dst)
        a = lab.request(src, ip, WEB_PORT)
        seen = f"{src} -> {dst} ({ip}:{WEB_PORT}): " + (f"answered by {a.pod}" if a.ok else a.error)
        return Outcome(a.pod == dst if answers else not a.ok, seen)
    if answers:
        return Criterion(text(f"{src} gets an answer from {dst} on port {WEB_PORT}",
                              f"{src} 在端口 {WEB_PORT} 上得到 {dst} 的应答"), observe)
    return Criterion(text(f"{src} gets no answer from {dst} (timeout or refused)",
                          f"{src} 得不到 {dst} 的应答（超时或被拒绝）"), observe)


def _reg(flow: str, reg: str):
    m = re.search(rf"\b{reg}=(0x[0-9a-f]+|\d+)\b", flow)
    return int(m.group(1), 0) if m else None


def _policy_flow(lab) -> Outcome:
    """On web's node, table 80 holds an allow for shop's VNID from frontend's address to TCP 8080."""
    node, vnid = lab.node_of("web"), _netids(lab)["shop"]
    frontend = lab.ip_of("frontend")
    flows = [f for f in lab.flows(node, 80) if _reg(f, "reg1") == vnid]
    allow = [f for f in flows if f"tp_dst={WEB_PORT}" in f and re.search(rf"nw_src={re.escape(frontend)}\b", f)]
    if allow:
        return Outcome(True, allow[0].split(" actions=")[0])
    return Outcome(False, f"{node} table 80: {len(flows)} flow(s) for shop's VNID {vnid}, "
                          f"none lets {frontend} in on tcp {WEB_PORT}")


def _shop_back(lab) -> None:
    """The task's start: shop's pods and deny-all as the manifest says, no other policy in shop."""
    state = api(lab)
    extra = [p["name"] for p in state["networkpolicies"] if p["namespace"] == "shop" and p["name"] != "deny-all"]
    if extra:
        oc(lab, f"delete networkpolicy {' '.join(extra)} -n shop")
    wanted = {"web": {"app": "web"}, "frontend": {"app": "frontend"}, "other": {"app": "other"}}
    pods = {p["name"]: p["labels"] for p in state["pods"] if p["namespace"] == "shop"}
    if pods != wanted or not any(p["name"] == "deny-all" for p in state["networkpolicies"]):
        oc(lab, f"apply -f {SHOP}")


# -- service-endpoints-by-label

def _service_request(lab) -> Outcome:
    ip = _api_service(lab, "default", "web")["clusterIP"]
    a = lab.request("pod1", ip, 80)
    return Outcome(a.pod == "web", f"pod1 -> {ip}:80: " + (f"answered by {a.pod}" if a.ok else a.error))


def _endpoints_list_web(lab) -> Outcome:
    svc = _api_service(lab, "default", "web")
    eps = svc["endpoints"]
    return Outcome("web" in eps, f"oc get endpoints web: {', '.join(eps) or '<none>'} (selector "
                                 f"{','.join(f'{k}={v}' for k, v in svc['selector'].items())})")


def _dnat_to_web(lab) -> Outcome:
    target = f"{lab.ip_of('web')}:{WEB_PORT}"
    nat = lab.sh("node1", "iptables-save -t nat")
    found = re.search(rf'-A (KUBE-SEP-\S+) .*default/web:.* -j DNAT --to-destination {re.escape(target)}\b', nat)
    return Outcome(bool(found), f"{found.group(1)}: DNAT to {target}" if found
                   else f"no KUBE-SEP chain of default/web DNATs to {target}")


def _web_mislabelled(lab) -> None:
    """The task's start: the pod web labelled run=web, the Service selecting app=web (as the manifest says)."""
    pod = _api_pod(lab, "web")
    svc = next((s for s in api(lab)["services"] if (s["namespace"], s["name"]) == ("default", "web")), None)
    if pod is None or svc is None or pod["labels"] != {"run": "web"} or svc["selector"] != {"app": "web"}:
        oc(lab, f"apply -f {WEB_MISLABELLED}")


EXERCISES = [
    Exercise(
        "join-projects", "openshift", MULTITENANT, 15,
        text("Join two projects (oc adm pod-network)", "合并两个项目的网络（oc adm pod-network）"),
        text("ovs-multitenant: pod1 (project p1, node1) and pod2 (project p2, node2) cannot reach each other: "
             "each project has its own VNID and table 80 of the receiving node drops traffic between "
             "different VNIDs. The two teams now work together: join p2's pod network to p1's, the way a "
             "cluster administrator does, without touching a flow by hand.\n"
             "Also `answer netid N`: the NETID the two projects share afterwards.",
             "ovs-multitenant：pod1（项目 p1，node1）和 pod2（项目 p2，node2）互相无法访问：每个项目有自己的 VNID，"
             "接收节点的表 80 会丢弃不同 VNID 之间的流量。现在两个团队要合作：像集群管理员那样把 p2 的 Pod 网络"
             "合并到 p1，不要手工修改任何流表。\n同时 `answer netid 号码`：合并后两个项目共用的 NETID。"),
        hints(["`trace pod1 pod2`: the packet crosses the tunnel and is dropped in node2's table 80; "
               "`oc get netnamespaces` shows why",
               "`oc adm pod-network` manages NetNamespaces: join-projects, make-projects-global, isolate-projects",
               "`oc adm pod-network join-projects --to=p1 p2`, then `changes` shows the flows every node "
               "re-wrote, and `oc get netnamespaces` the NETID"],
              ["`trace pod1 pod2`：包穿过隧道后在 node2 的表 80 被丢弃；`oc get netnamespaces` 说明原因",
               "`oc adm pod-network` 管理 NetNamespace：join-projects、make-projects-global、isolate-projects",
               "`oc adm pod-network join-projects --to=p1 p2`，然后用 `changes` 查看各节点改写的流表，"
               "用 `oc get netnamespaces` 查看 NETID"]),
        questions=(Question("netid", text("the NETID p1 and p2 share", "p1 与 p2 共用的 NETID"), _shared_netid, netid),),
        criteria=(reaches("pod1", "pod2"), reaches("pod2", "pod1"), _trace_passes_80("pod1", "pod2"),
                  _same_netid("p1", "p2")),
        setup=_isolate_if_joined, solve=lambda lab: oc(lab, "adm pod-network join-projects --to=p1 p2"),
    ),
    Exercise(
        "global-project", "openshift", MULTITENANT + ("-f", MONITORING), 15,
        text("A project every project reaches (make-projects-global)", "所有项目都能访问的项目（make-projects-global）"),
        text("ovs-multitenant: the pod `monitor` (project monitoring, node1) must scrape every project's pods, "
             "but it reaches neither pod1 (project p1) nor pod2 (project p2). Make monitoring a shared-services "
             "project the way a cluster administrator does; p1 and p2 must stay isolated from each other.\n"
             "Also `answer netid N`: the NETID of the project afterwards.",
             "ovs-multitenant：Pod `monitor`（项目 monitoring，node1）需要采集所有项目的 Pod，但它既访问不到 pod1"
             "（项目 p1）也访问不到 pod2（项目 p2）。像集群管理员那样把 monitoring 变成共享服务项目；p1 与 p2 之间"
             "必须保持隔离。\n同时 `answer netid 号码`：之后该项目的 NETID。"),
        hints(["`oc get netnamespaces`: every project has its own NETID; table 80 lets a packet through when "
               "the VNIDs match or one of them is 0",
               "Joining monitoring to p1 would not help with p2, and joining everything would end the isolation",
               "`oc adm pod-network make-projects-global monitoring`; `flows node1 20` then loads 0 into REG0 "
               "for monitor's port"],
              ["`oc get netnamespaces`：每个项目都有自己的 NETID；当 VNID 相同或其中一个为 0 时，表 80 才放行",
               "把 monitoring 合并到 p1 解决不了 p2 的问题，把所有项目合并又会破坏隔离",
               "`oc adm pod-network make-projects-global monitoring`；之后 `flows node1 20` 会为 monitor 的端口"
               "向 REG0 加载 0"]),
        questions=(Question("netid", text("monitoring's NETID", "monitoring 的 NETID"), _global_netid, netid),),
        criteria=(reaches("monitor", "pod1"), reaches("monitor", "pod2"), isolated("pod1", "pod2")),
        setup=_isolate_if_global, solve=lambda lab: oc(lab, "adm pod-network make-projects-global monitoring"),
    ),
    Exercise(
        "networkpolicy-one-app", "openshift",
        ("--nodes", "2", "--pods-per-node", "0", "--plugin", "networkpolicy", "--no-checks", "-f", SHOP), 20,
        text("A NetworkPolicy that lets one app in", "只允许一个应用访问的 NetworkPolicy"),
        text(f"ovs-networkpolicy: in project shop the policy deny-all lets nothing in. The pod web (app=web, "
             f"node2) serves HTTP on port {WEB_PORT}; frontend (app=frontend) and other (app=other) run on node1. "
             f"Write a NetworkPolicy that lets only the pods labelled app=frontend reach web, only on TCP "
             f"{WEB_PORT}, and apply it with `oc apply -f FILE` (or `oc create -f FILE`) in the lab's CLI.",
             f"ovs-networkpolicy：项目 shop 中的策略 deny-all 拒绝一切入站流量。Pod web（app=web，node2）在 {WEB_PORT} "
             f"端口提供 HTTP；frontend（app=frontend）和 other（app=other）运行在 node1 上。编写一个 NetworkPolicy，"
             f"只允许标签为 app=frontend 的 Pod 通过 TCP {WEB_PORT} 访问 web，并在实验的 CLI 中用 `oc apply -f 文件`"
             f"（或 `oc create -f 文件`）应用它。"),
        hints(["`oc get networkpolicy -n shop` and `oc get pods -n shop -o wide`; `frontend curl -m2 web-IP:8080` "
               "times out now",
               "The policy selects the pods it protects (podSelector: app=web) and lists who may come in "
               "(ingress.from: podSelector app=frontend) and on which ports (ingress.ports: TCP 8080)",
               f"A ready one: `oc apply -f {ALLOW_FRONTEND}`; then `changes` and `flows node2 80` show the "
               "priority-150 flow for frontend's address"],
              ["`oc get networkpolicy -n shop` 和 `oc get pods -n shop -o wide`；现在 `frontend curl -m2 web-IP:8080` "
               "会超时",
               "策略用 podSelector（app=web）选择要保护的 Pod，用 ingress.from（podSelector app=frontend）列出谁能进入，"
               "用 ingress.ports（TCP 8080）限定端口",
               f"现成的答案：`oc apply -f {ALLOW_FRONTEND}`；之后 `changes` 和 `flows node2 80` 会显示 frontend "
               "地址的 priority-150 流表"]),
        criteria=(_request("frontend", "web", True), _request("other", "web", False),
                  Criterion(text(f"web's node: table 80 lets frontend in on tcp {WEB_PORT} (shop's VNID)",
                                 f"web 所在节点：表 80 允许 frontend 访问 tcp {WEB_PORT}（shop 的 VNID）"), _policy_flow)),
        setup=_shop_back, solve=lambda lab: oc(lab, f"apply -f {ALLOW_FRONTEND}"),
    ),
    Exercise(
        "service-endpoints-by-label", "openshift",
        ("--nodes", "2", "--pods-per-node", "1", "--no-checks", "-f", WEB_MISLABELLED), 15,
        text("A Service without endpoints (labels and selectors)", "没有 endpoint 的 Service（标签与选择器）"),
        text("The Service default/web (ClusterIP 172.30.0.80, port 80 -> 8080) answers nobody: from a node the "
             "connection is refused, from pod1 it times out. The pod web runs and serves on 8080. Find why the "
             "Service has no endpoints and fix it with `oc label`, without changing the Service.",
             "Service default/web（ClusterIP 172.30.0.80，端口 80 -> 8080）不应答任何人：从节点访问会被拒绝，从 pod1 "
             "访问会超时。Pod web 正在运行并在 8080 端口提供服务。找出该 Service 没有 endpoint 的原因，并用 "
             "`oc label` 修复，不要修改 Service。"),
        hints(["`oc get endpoints` and `oc get svc web -o yaml`: which pods does the selector pick?",
               "`oc get pods -o yaml` shows web's labels; kube-proxy REJECTs a service without endpoints "
               "(`node1 iptables -S KUBE-SERVICES`)",
               "`oc label pod web app=web`; then `changes` shows the KUBE-SVC/KUBE-SEP chains kube-proxy wrote"],
              ["`oc get endpoints` 和 `oc get svc web -o yaml`：选择器选中了哪些 Pod？",
               "`oc get pods -o yaml` 显示 web 的标签；kube-proxy 会 REJECT 没有 endpoint 的 Service"
               "（`node1 iptables -S KUBE-SERVICES`）",
               "`oc label pod web app=web`；之后 `changes` 会显示 kube-proxy 写入的 KUBE-SVC/KUBE-SEP 链"]),
        criteria=(Criterion(text("pod1 gets web's answer through the ClusterIP", "pod1 通过 ClusterIP 得到 web 的应答"),
                            _service_request),
                  Criterion(text("oc get endpoints web lists the pod web", "oc get endpoints web 列出 Pod web"),
                            _endpoints_list_web),
                  Criterion(text("node1's kube-proxy rules DNAT default/web to web:8080",
                                 "node1 上 kube-proxy 的规则把 default/web DNAT 到 web:8080"), _dnat_to_web)),
        setup=_web_mislabelled, solve=lambda lab: oc(lab, "label pod web app=web"),
    ),
]
