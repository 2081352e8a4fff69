"""Change a running cluster with `oc` as an administrator would: projects joined or made global
(ovs-multitenant), a NetworkPolicy for one app (ovs-networkpolicy), a Service's endpoints fixed by a label.
The student types the `oc` line in the lab's CLI; grading observes pings, requests, traces, flows, kube-proxy's
rules, what `oc get` shows now (asked of the lab's own process: lab.workshop.live.ExerciseLab.ask, never
api.json, which a root student can edit), and that nothing was made by hand (lab.workshop.drift)."""

from __future__ import annotations

import os
import re

from lab.errors import LabError
from lab.planes.openshift.exercises.common import api, oc, oc_yaml, private_file, write_api_json
from lab.workshop.criteria import reaches
from lab.workshop.drift import nothing_hand_made
from lab.workshop.exercise import Criterion, Exercise, Outcome, Question, Stage, WrongFix, hints, text

MANIFESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "manifests")
SHOP = os.path.join(MANIFESTS, "shop.yaml")
ALLOW_FRONTEND = os.path.join(MANIFESTS, "allow-frontend.yaml")
MONITORING = os.path.join(MANIFESTS, "monitoring.yaml")
WEB_MISLABELLED = os.path.join(MANIFESTS, "web-mislabelled.yaml")

# pod1 (project p1) on node1, pod2 (p2) on node2
MULTITENANT = ("--nodes", "2", "--pods-per-node", "1", "--plugin", "multitenant", "--no-checks")
WEB_PORT = 8080
# the NETIDs these labs start with (assignVNID is deterministic: lab.planes.openshift.master.vnid); the wrong
# answers of the catalogues name them
START_NETIDS = {"p1": 5492721, "p2": 6936361, "monitoring": 6652564}


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


def _allow_between(lab, a: str, b: str) -> None:
    """A wrong fix: table-80 flows made by hand on every node that let VNIDs a and b reach each other."""
    ids = _netids(lab)
    for node in lab.nodes:
        for src, dst in ((ids[a], ids[b]), (ids[b], ids[a])):
            lab.sh(node, f"ovs-ofctl -O OpenFlow13 add-flow br0 'table=80,priority=250,ip,reg0={src},reg1={dst},"
                         f"actions=output:NXM_NX_REG2[]'")


def _api_json_netids(**values):
    """A wrong fix: api.json edited so that `values` (NetNamespace -> NETID) seem to hold."""
    return lambda lab: write_api_json(lab, lambda state: state["netnamespaces"].update(values))


def _isolate_if_joined(lab) -> None:
    if _netids(lab)["p1"] == _netids(lab)["p2"]:
        oc(lab, "adm pod-network isolate-projects p2")


# -- global-project

def _netid_is(project: str, want: int) -> Criterion:
    def observe(lab) -> Outcome:
        got = _netids(lab)[project]
        return Outcome(got == want, f"oc get netnamespaces: {project} NETID {got}")
    return Criterion(text(f"NetNamespace {project} has NETID {want} (shared services)",
                          f"NetNamespace {project} 的 NETID 为 {want}（共享服务）"), observe)


def _start_netid(lab) -> str:
    """monitoring's NETID at the start (an answer that reads the lab without changing it)."""
    return str(lab.inventory["netnamespaces"]["monitoring"])


def _monitoring_allowed_by_hand(lab) -> None:
    """A wrong fix: table-80 flows made by hand that let monitoring's VNID and every pod's through, no `oc`."""
    _allow_between(lab, "monitoring", "p1")
    _allow_between(lab, "monitoring", "p2")


def _isolate_if_global(lab) -> None:
    """The task's start: monitoring, p1 and p2 each with a NETID of its own (none global, none joined)."""
    ids = _netids(lab)
    ours = ("monitoring", "p1", "p2")
    shared = [p for p in ours if ids[p] == 0 or sum(ids[q] == ids[p] for q in ours) > 1]
    if shared:
        oc(lab, f"adm pod-network isolate-projects {' '.join(shared)}")


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


def _selects(selector: dict, labels: dict) -> bool:
    return (selector or {}).get("matchLabels") == labels and not (selector or {}).get("matchExpressions")


def _lets_frontend_in(policy: dict) -> bool:
    """The policy selects app=web and one ingress rule admits only app=frontend pods, only on TCP 8080."""
    spec = policy.get("spec") or {}
    if not _selects(spec.get("podSelector"), {"app": "web"}):
        return False
    for rule in spec.get("ingress") or []:
        froms, ports = rule.get("from") or [], rule.get("ports") or []
        if froms and ports and all(set(f) == {"podSelector"} and _selects(f["podSelector"], {"app": "frontend"})
                                   for f in froms) \
                and all(str(p.get("port")) == str(WEB_PORT) and str(p.get("protocol", "TCP")).upper() == "TCP"
                        for p in ports):
            return True
    return False


def _policy_object(lab) -> Outcome:
    """`oc get networkpolicy -n shop`, asked of the lab: a policy that lets only frontend in to web on 8080."""
    items = oc_yaml(lab, "get networkpolicy -n shop").get("items") or []
    names = [p.get("metadata", {}).get("name", "?") for p in items]
    found = next((n for n, p in zip(names, items, strict=True) if _lets_frontend_in(p)), None)
    if found:
        return Outcome(True, f"oc get networkpolicy -n shop: {found} selects app=web, lets app=frontend in on "
                             f"TCP {WEB_PORT}")
    return Outcome(False, f"oc get networkpolicy -n shop: {', '.join(names) or '<none>'}; none selects app=web "
                          f"and lets only app=frontend in on TCP {WEB_PORT}")


def _policy_yaml(name: str, selected: str, allowed: str, port: int) -> str:
    return (f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: shop}}\n"
            f"spec:\n  podSelector: {{matchLabels: {{app: {selected}}}}}\n  ingress:\n"
            f"  - from: [{{podSelector: {{matchLabels: {{app: {allowed}}}}}}}]\n"
            f"    ports: [{{protocol: TCP, port: {port}}}]\n")


def _apply_policy(selected: str, allowed: str, port: int):
    """A wrong fix: a NetworkPolicy as a student may write it (wrong pods or port), applied with `oc`."""
    def apply(lab) -> None:
        oc(lab, f"apply -f {private_file(lab, 'wrong-policy.yaml', _policy_yaml('allow-x', selected, allowed, port))}")
    return apply


def _hand_made_allow(lab) -> None:
    """A wrong fix: the priority-150 table-80 flow the policy would make, added by hand; no NetworkPolicy."""
    node, vnid = lab.node_of("web"), _netids(lab)["shop"]
    lab.sh(node, f"ovs-ofctl -O OpenFlow13 add-flow br0 'table=80,priority=150,tcp,reg1={vnid},"
                 f"nw_src={lab.ip_of('frontend')},nw_dst={lab.ip_of('web')},tp_dst={WEB_PORT},"
                 f"actions=output:NXM_NX_REG2[]'")


def _policy_flow_priority(lab) -> str:
    """The priority of the table-80 flow on web's node that lets frontend in (observed on the switch)."""
    out = _policy_flow(lab)
    m = re.search(r"priority=(\d+)", out.seen)
    return m.group(1) if out.ok and m else ""


def _policy_flow_node(lab) -> str:
    return lab.node_of("web") if _policy_flow(lab).ok else ""


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


def _selector_kept(lab) -> Outcome:
    svc = _api_service(lab, "default", "web")
    sel = ",".join(f"{k}={v}" for k, v in svc["selector"].items())
    return Outcome(svc["selector"] == {"app": "web"}, f"oc get svc web: selector {sel or '<none>'}")


SERVICE_RUN_WEB = ("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec:\n"
                   "  selector: {run: web}\n  clusterIP: 172.30.0.80\n  ports: [{port: 80, targetPort: 8080}]\n")


def _service_reselected(lab) -> None:
    """A wrong fix: the Service's selector changed to the pod's label (the task says: not the Service)."""
    oc(lab, f"apply -f {private_file(lab, 'svc-run-web.yaml', SERVICE_RUN_WEB)}")


def _hand_made_dnat(lab) -> None:
    """A wrong fix: kube-proxy's DNAT made by hand on every node, the Service still without endpoints."""
    target = f"{lab.ip_of('web')}:{WEB_PORT}"
    for node in lab.nodes:
        lab.sh(node, "iptables -t nat -N KUBE-SEP-HANDMADE && iptables -t nat -A KUBE-SEP-HANDMADE -p tcp -m comment "
                     f"--comment default/web: -j DNAT --to-destination {target} && iptables -t nat -I KUBE-SERVICES "
                     "-d 172.30.0.80/32 -p tcp --dport 80 -j KUBE-SEP-HANDMADE && iptables -I FORWARD -d 172.30.0.80 "
                     "-j ACCEPT && iptables -I OUTPUT -d 172.30.0.80 -j ACCEPT")
    for node in lab.nodes:  # kube-proxy REJECTs a Service without endpoints in filter's KUBE-SERVICES
        lab.sh(node, "iptables -F KUBE-SERVICES")


def _api_json_endpoints(lab) -> None:
    """A wrong fix: api.json edited so that the Service seems to select web."""
    def edit(state):
        for svc in state["services"]:
            if (svc["namespace"], svc["name"]) == ("default", "web"):
                svc["endpoints"] = ["web"]
        for pod in state["pods"]:
            if pod["name"] == "web":
                pod["labels"] = {"app": "web"}
    write_api_json(lab, edit)


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
                  _same_netid("p1", "p2"), nothing_hand_made()),
        setup=_isolate_if_joined, solve=lambda lab: oc(lab, "adm pod-network join-projects --to=p1 p2"),
        wrong_fixes=(
            WrongFix("table-80 flows made by hand between p1's and p2's VNIDs, no `oc`",
                     lambda lab: _allow_between(lab, "p1", "p2"), answers=(("netid", str(START_NETIDS["p1"])),)),
            WrongFix("api.json edited: p2 given p1's NETID", lambda lab: _api_json_netids(p2=_netids(lab)["p1"])(lab),
                     answers=(("netid", str(START_NETIDS["p1"])),)),
            WrongFix("p1 made global instead of joined", lambda lab: oc(lab, "adm pod-network make-projects-global p1"),
                     answers=(("netid", "0"),)),
            WrongFix("joined, but the answer is p2's old NETID",
                     lambda lab: oc(lab, "adm pod-network join-projects --to=p1 p2"),
                     answers=(("netid", str(START_NETIDS["p2"])),))),
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
        # what the task asks: a shared-services project has NETID 0 (not whatever the lab holds now)
        questions=(Question("netid", text("monitoring's NETID", "monitoring 的 NETID"), lambda lab: "0", netid),),
        criteria=(reaches("monitor", "pod1"), reaches("monitor", "pod2"), _netid_is("monitoring", 0),
                  Criterion(isolated("pod1", "pod2").name, isolated("pod1", "pod2").observe, control=True),
                  nothing_hand_made()),
        setup=_isolate_if_global, solve=lambda lab: oc(lab, "adm pod-network make-projects-global monitoring"),
        wrong_fixes=(
            WrongFix("monitoring joined to p1 only", lambda lab: oc(lab, "adm pod-network join-projects --to=p1 monitoring"),
                     answers=(("netid", "0"),)),
            WrongFix("every project made global (the isolation ends)",
                     lambda lab: oc(lab, "adm pod-network make-projects-global monitoring p1 p2"), answers=(("netid", "0"),)),
            WrongFix("table-80 flows made by hand between monitoring and p1, p2, no `oc`", _monitoring_allowed_by_hand,
                     answers=(("netid", "0"),)),
            WrongFix("made global, but the answer is the NETID the lab showed at the start",
                     lambda lab: oc(lab, "adm pod-network make-projects-global monitoring"),
                     answers=(("netid", str(START_NETIDS["monitoring"])),))),
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
        setup=_shop_back, solve=lambda lab: oc(lab, f"apply -f {ALLOW_FRONTEND}"),
        stages=(
            Stage(text("write the policy", "编写策略"),
                  text(f"Apply a NetworkPolicy in shop that lets only app=frontend reach web on TCP {WEB_PORT}; "
                       "`check`, then `stage next`.",
                       f"在 shop 中应用一个 NetworkPolicy，只允许 app=frontend 通过 TCP {WEB_PORT} 访问 web；"
                       "`check` 通过后执行 `stage next`。"),
                  criteria=(Criterion(text(f"oc get networkpolicy -n shop: a policy selects app=web and lets only "
                                           f"app=frontend in on TCP {WEB_PORT}",
                                           f"oc get networkpolicy -n shop：有策略选中 app=web，且只允许 app=frontend "
                                           f"通过 TCP {WEB_PORT} 进入"), _policy_object),
                            _request("frontend", "web", True),
                            Criterion(_request("other", "web", False).name, _request("other", "web", False).observe,
                                      control=True),
                            nothing_hand_made()),
                  solve=lambda lab: oc(lab, f"apply -f {ALLOW_FRONTEND}")),
            Stage(text("prove which flow it made", "证明它生成了哪条流表"),
                  text("Find the flow your policy made: on which node, and with which priority in table 80 "
                       "(`changes`, `flows NODE 80`). `answer node NODE` and `answer priority N`.",
                       "找到你的策略生成的流表：在哪个节点上，表 80 中的优先级是多少（`changes`、`flows 节点 80`）。"
                       "`answer node 节点` 和 `answer priority 数字`。"),
                  questions=(Question("node", text("the node whose table 80 lets frontend in",
                                                   "表 80 允许 frontend 进入的节点"), _policy_flow_node),
                             Question("priority", text("that flow's priority", "该流表的优先级"), _policy_flow_priority,
                                      lambda v: ",".join(re.findall(r"\d+", v)))),
                  criteria=(Criterion(text("the policy is still in place", "策略仍然生效"), _policy_object,
                                      control=True),
                            Criterion(text(f"web's node: table 80 lets frontend in on tcp {WEB_PORT} (shop's VNID)",
                                           f"web 所在节点：表 80 允许 frontend 访问 tcp {WEB_PORT}（shop 的 VNID）"),
                                      _policy_flow, control=True),
                            nothing_hand_made()))),
        wrong_fixes=(
            WrongFix("the table-80 flow made by hand, no NetworkPolicy", _hand_made_allow),
            WrongFix("a policy that selects the wrong pods (app=frontend protected, app=web let in)",
                     _apply_policy("frontend", "web", WEB_PORT)),
            WrongFix("a policy that lets app=other in", _apply_policy("web", "other", WEB_PORT)),
            WrongFix("a policy on the wrong port (80)", _apply_policy("web", "frontend", 80)),
            WrongFix("deny-all deleted instead", lambda lab: oc(lab, "delete networkpolicy deny-all -n shop"))),
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
                                 "node1 上 kube-proxy 的规则把 default/web DNAT 到 web:8080"), _dnat_to_web),
                  Criterion(text("the Service still selects app=web (unchanged)", "Service 仍然选择 app=web（未被修改）"),
                            _selector_kept, control=True),
                  nothing_hand_made()),
        setup=_web_mislabelled, solve=lambda lab: oc(lab, "label pod web app=web"),
        wrong_fixes=(
            WrongFix("the Service's selector changed to run=web instead of the pod's label", _service_reselected),
            WrongFix("kube-proxy's DNAT made by hand on the nodes, no label", _hand_made_dnat),
            WrongFix("api.json edited: web labelled app=web and listed as the endpoint", _api_json_endpoints),
            WrongFix("the wrong pod labelled app=web (pod1)", lambda lab: oc(lab, "label pod pod1 app=web"))),
    ),
]
