"""The Python cluster API, `oc get` for services/endpoints/namespaces, and `trace` with ClusterIP:PORT."""

import pytest

from lab.errors import BadInput, Refused
from lab.planes.openshift.api import manifests
from lab.planes.openshift.api.builder import ClusterBuilder, container_ports, load_module, run_module
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.observe.trace_command import TraceRequest, parse_trace_args
from lab.planes.openshift.oc import command as occmd
from lab.planes.openshift.oc import printers


def oc(cluster, line: str) -> str:
    """What `oc LINE` prints (lab.planes.openshift.oc.command, the lab's one oc parser)."""
    return occmd.run(cluster, line).output


def shop(nodes=3):
    b = ClusterBuilder("mine.py")
    b.namespace("shop")
    b.deployment("web", namespace="shop", replicas=4, labels={"app": "web"}, ports=["http=8080", "5353/udp"])
    b.service("web", namespace="shop", selector={"app": "web"}, ports=[(80, 8080), (53, 5353, "UDP")])
    b.service("pub", namespace="shop", selector={"app": "web"}, ports=[(80, 8080, "TCP", 30080)], type="NodePort")
    b.service("empty", selector={"app": "none"}, ports=[80], cluster_ip="172.30.200.1")
    cluster = build_cluster(nodes, 0)
    manifests.apply_documents(cluster, b.documents)
    return cluster


def test_deployment_replicas_spread_over_nodes_in_order():
    c = shop()
    assert [(p.name, p.node, p.ip) for p in c.pods] == [
        ("web-1", "node1", "10.128.0.2"), ("web-2", "node2", "10.129.0.2"), ("web-3", "node3", "10.130.0.2"),
        ("web-4", "node1", "10.128.0.3")]


def test_container_ports_spelling():
    assert container_ports([8080, "http=80/tcp", "53/udp"]) == [
        {"containerPort": 8080, "protocol": "TCP"}, {"containerPort": 80, "protocol": "TCP", "name": "http"},
        {"containerPort": 53, "protocol": "UDP"}]
    with pytest.raises(BadInput):
        container_ports(["eighty"])


def test_oc_get_svc_and_endpoints_as_oc_prints_them():
    c = shop()
    assert oc(c, "get svc -n shop").splitlines() == [  # listed by name, as the API server lists them
        "NAME   TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)         AGE",
        "pub    NodePort    172.30.0.3   <none>        80:30080/TCP    1m",
        "web    ClusterIP   172.30.0.2   <none>        80/TCP,53/UDP   1m",
    ]
    assert oc(c, "get svc -n shop -o wide").splitlines()[1].endswith("app=web")
    assert "web    10.128.0.2:8080,10.128.0.3:8080,10.129.0.2:8080 + 5 more...   1m" in oc(c, "get endpoints -n shop")
    assert oc(c, "get endpoints").splitlines() == ["NAME    ENDPOINTS   AGE", "empty   <none>      1m"]
    assert oc(c, "get svc --all-namespaces").splitlines()[0].startswith("NAMESPACE   NAME")
    assert [ln.split()[0] for ln in oc(c, "get namespaces").splitlines()[1:]] == [
        "default", "kube-public", "kube-system", "openshift", "openshift-infra", "shop"]
    with pytest.raises(Refused, match='the server doesn\'t have a resource type "frobs"'):  # oc's own refusal
        oc(c, "get frobs")
    with pytest.raises(BadInput, match='namespaces "nowhere" not found'):
        oc(c, "get pods -n nowhere")


def test_a_module_without_build_is_bad_input(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    with pytest.raises(BadInput, match="defines build"):
        load_module(str(path))
    path.write_text("def build(c):\n    c.pod('a', node='node9')\n")
    builder = run_module(load_module(str(path)), str(path))
    with pytest.raises(BadInput, match="node9"):
        manifests.apply_documents(build_cluster(2, 0), builder.documents)


def test_a_module_file_not_named_py_is_bad_input(tmp_path):
    path = tmp_path / "m.cluster"
    path.write_text("def build(c):\n    pass\n")
    with pytest.raises(BadInput, match=r"its name ends in \.py"):
        load_module(str(path))


@pytest.mark.parametrize("line, request_", [
    ("pod1 172.30.0.2:80", TraceRequest("pod1", "172.30.0.2", "tcp", 80)),
    ("pod1 shop/web:53 udp -v", TraceRequest("pod1", "shop/web", "udp", 53, True)),
])
def test_trace_takes_a_port_after_the_destination(line, request_):
    assert parse_trace_args(line) == request_


def test_trace_port_twice_is_a_mistake():
    with pytest.raises(BadInput):
        parse_trace_args("pod1 172.30.0.2:80 tcp 81")


def pod_doc(containers, name="shop"):
    return ("pod.yaml", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                         "spec": {"nodeName": "node1", "containers": containers}})


def test_a_pod_keeps_each_of_its_containers_and_serves_every_port():
    from lab.planes.openshift.api.objects import Container, ContainerPort
    c = build_cluster(2, 0)
    manifests.apply_documents(c, [pod_doc([
        {"name": "tomcat", "image": "kirillf/centos-tomcat", "ports": [{"containerPort": 8080, "name": "http"}]},
        {"name": "nginx", "image": "nginx:1.14", "command": ["nginx"], "args": ["-g", "daemon off;", 1],
         "ports": [{"containerPort": 80}]}])])
    pod = c.pod("shop")
    assert pod.containers == (
        Container("tomcat", "kirillf/centos-tomcat", (ContainerPort(8080, "TCP", "http"),)),
        Container("nginx", "nginx:1.14", (ContainerPort(80),), ("nginx",), ("-g", "daemon off;", "1")))
    # the pod as before: all ports (one network namespace serves them), the first container's image
    assert pod.ports == (ContainerPort(8080, "TCP", "http"), ContainerPort(80)) and pod.image == "kirillf/centos-tomcat"


@pytest.mark.parametrize("containers, error", [
    ([{"image": "busybox"}], "spec.containers[0]: container name None is invalid"),
    ([{"name": "Web", "image": "busybox"}], "container name 'Web' is invalid"),
    ([{"name": "a", "image": "x"}, {"name": "a", "image": "y"}], "spec.containers[1]: container name 'a' is used twice"),
    ([{"name": "a", "ports": [{"containerPort": 80}]}, {"name": "b", "ports": [{"containerPort": 80}]}],
     "spec.containers[1].ports[0]: 80/TCP is declared twice"),
    ([{"name": "a", "command": "sleep 10"}], "spec.containers[0].command must be a list of strings"),
    ([{"name": "a", "args": [["x"]]}], "spec.containers[0].args must be a list of strings"),
])
def test_bad_containers_are_refused_with_one_line(containers, error):
    c = build_cluster(2, 0)
    with pytest.raises(BadInput) as exc:
        manifests.apply_documents(c, [pod_doc(containers)])
    assert error in str(exc.value) and str(exc.value).startswith("pod.yaml: Pod default/shop:")
    assert "\n" not in str(exc.value) and c.pods == []


def test_oc_get_pods_counts_every_container_as_ready():
    c = build_cluster(2, 1)
    manifests.apply_documents(c, [pod_doc([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}])])
    rows = {line.split()[0]: line.split()[1] for line in printers.get_pods(c).splitlines()[1:]}
    assert rows == {"pod1": "1/1", "pod2": "1/1", "shop": "2/2"}
