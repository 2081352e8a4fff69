"""Live `oc` lines without a lab: parsing as a shell splits, refusals as the API server words them (and the
model untouched), and the change each line makes to every node's render (flows and kube-proxy rules)."""

import copy
import textwrap

import pytest

from lab.errors import BadInput, Refused
from lab.planes.openshift import live
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.model import ClusterNetwork, plugin_name
from lab.planes.openshift.node.flows import render_node_flows
from lab.planes.openshift.oc import command as occmd
from lab.planes.openshift.oc.args import parse

OUT = "actions=output:NXM_NX_REG2[]"


def cluster(plugin="subnet", nodes=2, pods=2):
    return build_cluster(nodes, pods, ClusterNetwork(plugin=plugin_name(plugin)))


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def commit(c, line):
    """Run a line and keep its model change (what live.apply does, without the nodes)."""
    out = occmd.run(c, line)
    if out.cluster is not None:
        for f in vars(out.cluster):
            setattr(c, f, getattr(out.cluster, f))
    return out.output


WEB = """\
    apiVersion: v1
    kind: Pod
    metadata: {name: web, namespace: p1, labels: {app: web}}
    spec: {nodeName: node2, containers: [{name: w, image: busybox, ports: [{containerPort: 8080}]}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: p1}
    spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}], clusterIP: 172.30.0.50}
    """

DENY = """\
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: deny-all, namespace: p2}
    spec: {podSelector: {}}
    """


def test_lines_are_split_as_a_shell_splits_them():
    a = parse("label pod 'my pod' \"team=a\" --overwrite -n=shop -owide --to p1 -f a.yaml -f b.yaml")
    assert a.words == ["label", "pod", "my pod", "team=a"]
    assert a.namespace == "shop" and a.has("--overwrite") and a.flag("--output") == "wide"
    assert a.flag("--to") == "p1" and a.flags["--filename"] == ["a.yaml", "b.yaml"]
    with pytest.raises(BadInput, match="split"):
        parse("get pods -n 'shop")
    with pytest.raises(Refused, match="flag needs an argument"):
        parse("get pods -n")


def test_a_verb_can_be_registered_by_another_module():
    seen = []
    before = occmd.VERBS.get("annotate")  # the real one, in the table
    occmd.register("annotate", lambda ctx: seen.append(ctx.args.words), "oc annotate ...")
    try:
        assert occmd.run(cluster(), "annotate netnamespace p1 'a=b c'").cluster is None
        assert seen == [["netnamespace", "p1", "a=b c"]]
    finally:
        if before:
            occmd.VERBS["annotate"] = before
        else:
            del occmd.VERBS["annotate"]


def test_get_networkpolicy_columns_and_yaml(tmp_path):
    c = cluster("networkpolicy")
    commit(c, f"apply -f {write(tmp_path, 'deny.yaml', DENY)}")
    sel = write(tmp_path, "sel.yaml", """\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web-only, namespace: p2}
        spec:
          podSelector:
            matchLabels: {app: web}
            matchExpressions: [{key: tier, operator: In, values: [a, b]}, {key: x, operator: DoesNotExist}]
        """)
    assert commit(c, f"create -f {sel}") == "networkpolicy.networking.k8s.io/web-only created"
    assert occmd.run(c, "get networkpolicy -n p2").output.splitlines() == [
        "NAME       POD-SELECTOR               AGE",
        "deny-all   <none>                     1m",
        "web-only   app=web,tier in (a,b),!x   1m"]
    assert occmd.run(c, "get netpol").output == "No resources found."
    assert occmd.run(c, "get netpol --all-namespaces").output.splitlines()[0].split() == [
        "NAMESPACE", "NAME", "POD-SELECTOR", "AGE"]
    import yaml
    doc = yaml.safe_load(occmd.run(c, "get networkpolicy deny-all -n p2 -o yaml").output)
    assert doc == {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": "deny-all", "namespace": "p2"}, "spec": {"podSelector": {}}}
    listed = yaml.safe_load(occmd.run(c, "get netnamespaces -o yaml").output)
    assert listed["kind"] == "List" and {i["netname"]: i["netid"] for i in listed["items"]} == c.netids
    assert yaml.safe_load(occmd.run(c, "get ns p1 -o yaml").output)["status"] == {"phase": "Active"}


@pytest.mark.parametrize("line, message", [
    ("delete pod nope", 'Error from server (NotFound): pods "nope" not found'),
    ("delete svc nope -n p1", 'Error from server (NotFound): services "nope" not found'),
    ("delete networkpolicy nope", 'Error from server (NotFound): networkpolicies.networking.k8s.io "nope" not found'),
    ("delete project nope", 'Error from server (NotFound): projects.project.openshift.io "nope" not found'),
    ("delete pod pod1 -n nowhere", 'Error from server (NotFound): namespaces "nowhere" not found'),
    ("delete frobs x", 'error: the server doesn\'t have a resource type "frobs"'),
    ("delete namespace default", 'Error from server (Forbidden): namespaces "default" is forbidden: '
                                 "this namespace may not be deleted"),
    ("label pod pod1 -n p1 x=1 bad=~", "not a valid label value"),
    ("get pods -o json", 'unable to match a printer suitable for the output format "json"'),
    ("adm pod-network join-projects p2", "error: must provide --to=<project_name>"),
    ("adm pod-network isolate-projects", "error: must provide --selector=<project_selector> or projects"),
    ("adm pod-network make-projects-global nope", 'netnamespaces.network.openshift.io "nope" not found'),
    ("frob pods", 'Error: unknown command "frob" for "oc"'),
])
def test_refusals_leave_the_model_as_it_was(line, message):
    c = cluster("multitenant")
    before = copy.deepcopy(c)
    with pytest.raises(BadInput) as exc:
        occmd.run(c, line)
    assert message in str(exc.value) and "\n" not in str(exc.value)
    assert c == before


def test_refused_manifests(tmp_path):
    c = cluster("multitenant")
    before = copy.deepcopy(c)
    web = write(tmp_path, "web.yaml", WEB)
    commit(c, f"create -f {web}")
    taken = copy.deepcopy(c)
    cases = {
        "exists": (f"create -f {web}", f'Error from server (AlreadyExists): error when creating "{web}": pods "web" '
                                       "already exists"),
        "node": (WEB.replace("node2", "node9"), "spec.nodeName 'node9' is not a node"),
        "ip outside": (WEB.replace("name: web,", "name: web2,").replace("name: web}", "name: web2}")
                       .replace("172.30.0.50", "10.1.2.3"), "not in the service network 172.30.0.0/16"),
        "ip taken": (WEB.split("---")[1].replace("name: web,", "name: other,"), "spec.clusterIP 172.30.0.50 is "
                                                                                 "already allocated to p1/web"),
        "selector": (DENY.replace("podSelector: {}", "podSelector: {matchLabels: {'bad key!': x}}"),
                     "is not a valid label key"),
        "kind": ("apiVersion: v1\nkind: Frob\nmetadata: {name: x}\n", "unknown kind 'Frob'"),
        "namespace": (WEB.replace("namespace: p1}", "namespace: nowhere}"), "namespace 'nowhere' does not exist"),
        "immutable": (WEB.replace("172.30.0.50", "172.30.0.51"), 'The Service "web" is invalid: spec.clusterIP: '
                                                                  'Invalid value: "172.30.0.51": field is immutable'),
        "pod update": (WEB.replace("8080}", "9090}"), 'The Pod "web" is invalid: spec: Forbidden'),
    }
    for name, (text, message) in cases.items():
        line = text if text.startswith("create") else f"apply -f '{write(tmp_path, name + '.yaml', text)}'"
        with pytest.raises(BadInput) as exc:
            occmd.run(c, line)
        assert message in str(exc.value), (name, str(exc.value))
        assert c == taken, name
    assert c != before


def test_apply_creates_updates_and_leaves_unchanged(tmp_path):
    c = cluster("subnet")
    web = write(tmp_path, "web.yaml", WEB.replace("p1", "default"))
    assert commit(c, f"apply -f {web}").splitlines() == ["pod/web created", "service/web created"]
    assert occmd.run(c, f"apply -f {web}").output.splitlines() == ["pod/web unchanged", "service/web unchanged"]
    relabeled = write(tmp_path, "web2.yaml", WEB.replace("p1", "default").replace("{app: web}}", "{app: web, v: '2'}}"))
    assert commit(c, f"apply -f {relabeled}").splitlines() == ["pod/web configured", "service/web unchanged"]
    assert c.pod("web").labels == {"app": "web", "v": "2"}
    assert [a.pod for addrs in c.endpoints(c.service("web")).values() for a in addrs] == ["web"]


def test_a_service_change_is_its_table_60_flows_and_its_kube_proxy_chains(tmp_path):
    c = cluster("multitenant")
    change = live.preview(c, f"oc apply -f {write(tmp_path, 'web.yaml', WEB)}")
    assert change.pods_added == ("web",)
    vnid = c.netids["p1"]
    svc = [f"table=60, ip, nw_dst=172.30.0.50, ip_frag=later, priority=100, actions=load:{vnid}->NXM_NX_REG1[], "
           "load:2->NXM_NX_REG2[], goto_table:80",
           f"table=60, ip, nw_dst=172.30.0.50, tcp, tcp_dst=80, priority=100, actions=load:{vnid}->NXM_NX_REG1[], "
           "load:2->NXM_NX_REG2[], goto_table:80"]
    assert change.flows("node1") == (set(svc), set())
    added, removed = change.flows("node2")
    assert set(svc) <= added and len(added) == 6 and not removed  # plus the pod's 20, 20, 40, 70
    for node in ("node1", "node2"):
        rules, gone = change.rules(node)
        assert not gone and len(rules) == 7, rules
        assert any("-j DNAT --to-destination 10.129.0.4:8080" in r for r in rules)
    text = change.describe()
    assert "+ table=60, ip, nw_dst=172.30.0.50, tcp" in text and "+ -t nat -N KUBE-SVC-" in text


def test_join_isolate_global_change_exactly_the_vnid_flows():
    c = cluster("multitenant")
    p1, p2 = c.netids["p1"], c.netids["p2"]
    before = {hs.name: set(render_node_flows(c, hs.name)) for hs in c.hostsubnets}
    change = live.preview(c, "oc adm pod-network join-projects --to=p1 p2")
    for hs in c.hostsubnets:
        after = set(render_node_flows(c, hs.name, netids={**c.netids, "p2": p1}))
        assert change.flows(hs.name) == (after - before[hs.name], before[hs.name] - after)
        assert f"table=80, priority=100, reg0={p2}, reg1={p2}, {OUT}" in before[hs.name] - after
    commit(c, "adm pod-network join-projects --to=p1 p2")
    assert c.netids["p2"] == p1 and {p.vnid for p in c.pods} == {p1}
    commit(c, "adm pod-network isolate-projects p2")
    assert c.netids["p2"] not in (0, p1)
    commit(c, "adm pod-network make-projects-global p2")
    assert c.netids["p2"] == 0


def test_pod_network_needs_the_multitenant_plugin():
    with pytest.raises(Refused, match='^error: using plugin: "redhat/openshift-ovs-subnet", managing pod network '
                                      "is only supported for openshift multitenant network plugin$"):
        occmd.run(cluster("subnet"), "adm pod-network make-projects-global p1")


def test_labels_move_endpoints_and_policy_selections(tmp_path):
    c = cluster("networkpolicy")
    allow = write(tmp_path, "allow.yaml", """\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: from-team-a, namespace: p2}
        spec:
          podSelector: {}
          ingress: [{from: [{namespaceSelector: {matchLabels: {team: a}}}]}]
        """)
    commit(c, f"create -f {allow}")
    p1, p2 = c.netids["p1"], c.netids["p2"]
    rule = f"table=80, priority=150, reg1={p2}, reg0={p1},  {OUT}"
    change = live.preview(c, "oc label namespace p1 team=a")
    assert all(change.flows(n) == ({rule}, set()) for n in ("node1", "node2"))
    commit(c, "label namespace p1 team=a")
    assert commit(c, "label namespace p1 team=a") == "namespace/p1 not labeled"
    change = live.preview(c, "oc label ns p1 team-")
    assert all(change.flows(n) == (set(), {rule}) for n in ("node1", "node2"))


def test_deleting_a_namespace_takes_its_objects_and_netnamespace(tmp_path):
    c = cluster("multitenant")
    commit(c, f"apply -f {write(tmp_path, 'web.yaml', WEB)}")
    assert commit(c, "delete project p1") == 'project.project.openshift.io "p1" deleted'
    assert "p1" not in c.netids and not any(p.namespace == "p1" for p in c.pods) and not c.services


def test_a_new_pod_whose_name_another_namespace_uses_keeps_the_old_host(tmp_path):
    c = cluster("multitenant")
    commit(c, f"apply -f {write(tmp_path, 'a.yaml', WEB.split('---')[0])}")
    commit(c, f"apply -f {write(tmp_path, 'b.yaml', WEB.split('---')[0].replace('p1', 'p2'))}")
    assert [p.host for p in c.pods if p.name == "web"] == ["web", "web.p2"]


def test_apply_keeps_an_allocated_node_port(tmp_path):
    c = cluster("subnet")
    svc = write(tmp_path, "np.yaml", """\
        apiVersion: v1
        kind: Service
        metadata: {name: pub}
        spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
        """)
    commit(c, f"apply -f {svc}")
    (port,) = c.service("pub").ports
    assert port.node_port == 30000
    commit(c, "label pod pod1 app=web")
    assert occmd.run(c, f"apply -f {svc}").output == "service/pub unchanged"
