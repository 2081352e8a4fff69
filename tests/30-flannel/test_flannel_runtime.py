"""Runtime changes a workshop makes: nodes joining and leaving, and the etcd operations around leases."""

import pytest

from lab.daemons import cni, etcd
from lab.observe.capture import Capture
from lab.observe.ping import ping
from lab.planes.flannel import realize
from lab.shell import run

pytestmark = pytest.mark.root


def flannel_entries(host) -> dict:
    return {
        "route": sorted(line.strip() for line in run(host, "ip route show dev flannel.1").splitlines()),
        "neigh": sorted(line.strip() for line in run(host, "ip neigh show dev flannel.1").splitlines()),
        "fdb": sorted(line.strip() for line in run(host, "bridge fdb show dev flannel.1").splitlines()),
    }


def ping_over_flannel(net, c, pod: str, ip: str, node_ip: str):
    """Ping from a pod; return (answered, frames for `ip` on its node's flannel.1, VXLAN frames to node_ip on eth0)."""
    node = net[c.pod(pod).node]
    with Capture(node, "flannel.1", f"icmp and dst host {ip}") as tunnel, \
            Capture(node, "eth0", f"udp port 8472 and dst host {node_ip}", vxlan_ports=(8472,)) as wire:
        answered = ping(net[pod], ip, count=2, timeout=1).ok
    return answered, tunnel.packets, wire.packets


def test_node_join_and_leave_update_the_others(fresh_vxlan_lab):
    net, c = fresh_vxlan_lab
    node3 = realize.join(net, c)
    assert node3.subnet == "10.244.2.0/24"
    for other in ("node1", "node2"):
        assert run(net[other], f"ip route show {node3.subnet}") == f"{node3.subnet} via 10.244.2.0 dev flannel.1 onlink"
    vtep_mac = run(net["node3"], "cat /sys/class/net/flannel.1/address").strip()
    answered, tunnel, wire = ping_over_flannel(net, c, "pod1", node3.gateway, node3.ip)
    assert answered and tunnel and wire  # cni0 of the new node, across the new tunnel
    assert "/coreos.com/network/subnets/10.244.2.0-24" in realize.leases_in_etcd(net, c)
    before = {other: flannel_entries(net[other]) for other in ("node1", "node2")}

    realize.leave(net, c, "node3")
    for other in ("node1", "node2"):
        after = flannel_entries(net[other])
        # exactly node3's route, neighbour and FDB entry went; the other node's stayed as they were
        gone = {kind: sorted(set(before[other][kind]) - set(after[kind])) for kind in after}
        assert gone == {"route": [f"{node3.subnet} via 10.244.2.0 onlink"],
                        "neigh": [f"10.244.2.0 lladdr {vtep_mac} PERMANENT"],
                        "fdb": [f"{vtep_mac} dst {node3.ip} self permanent"]}, (other, before[other], after)
        assert all(set(after[kind]) <= set(before[other][kind]) for kind in after) and after["route"], after
        # the kernel no longer sends the old subnet over flannel.1
        assert "flannel.1" not in net[other].cmd(f"ip route get {node3.gateway}")
    answered, tunnel, wire = ping_over_flannel(net, c, "pod1", node3.gateway, node3.ip)
    assert not answered and tunnel == [] and wire == []
    assert ping(net["pod1"], c.pod("pod3").ip).ok  # the rest is untouched


def test_etcd_operations_from_a_node(fresh_vxlan_lab):
    net, c = fresh_vxlan_lab
    node = net["node1"]
    members = run(node, "etcdctl member list -w table")
    assert "etcd0" in members and f"http://{c.etcd_ip}:2380" in members and "started" in members
    assert f"http://{c.etcd_ip}:2379" in run(node, "etcdctl endpoint status -w table")
    assert "is healthy" in run(node, "etcdctl endpoint health")
    keys = run(node, "etcdctl get / --prefix --keys-only").split()
    assert keys == ["/coreos.com/network/config", "/coreos.com/network/subnets/10.244.0.0-24",
                    "/coreos.com/network/subnets/10.244.1.0-24"]


def test_leases_survive_a_snapshot_restore(fresh_vxlan_lab):
    net, c = fresh_vxlan_lab
    d = realize.etcd_dir()
    host, ep = net["etcd"], etcd.endpoint(c.etcd_ip)
    run(host, f"etcdctl --endpoints {ep} snapshot save {d}/leases.db")
    before = realize.leases_in_etcd(net, c)
    run(host, f"etcdctl --endpoints {ep} del /coreos.com/network/subnets/ --prefix")
    assert realize.leases_in_etcd(net, c) == []
    realize.wait_for(lambda: run(net["node1"], "ip route show dev flannel.1") == "")  # agents followed the loss

    realize.restore_etcd(net, c, f"{d}/leases.db")
    assert realize.leases_in_etcd(net, c) == before
    realize.wait_converged(net, c)
    assert ping(net["pod1"], c.pod("pod3").ip, count=2).ok


def test_a_pod_added_at_runtime_is_wired_by_cni_add_and_unwired_by_cni_del(fresh_vxlan_lab):
    net, c = fresh_vxlan_lab
    before = run(net["node2"], "ip -o link show master cni0")
    pod = realize.add_pod(net, c, "node2")
    assert (pod.name, pod.ip) == ("pod5", "10.244.1.4")  # the next name; host-local's next address
    leases = f"{cni.DATA_DIR}/networks/{cni.NETWORK}"
    assert pod.ip in run(net["node2"], f"ls {leases}").split()
    master = run(net["node2"], f"ip -o link show {pod.veth}")  # the bridge plugin's veth, as the model says
    assert "master cni0" in master, master
    assert run(net["pod5"], "cat /sys/class/net/eth0/address").strip() == pod.mac
    assert ping(net["pod1"], pod.ip).ok  # across the tunnel
    assert ping(net["pod3"], pod.ip).ok  # on its own cni0
    realize.remove_pod(net, c, pod.name)
    assert "pod5" not in net and pod.ip not in run(net["node2"], f"ls {leases}").split()
    assert run(net["node2"], "ip -o link show master cni0") == before  # its veth went at once
    assert not ping(net["pod1"], pod.ip, count=1, timeout=1).ok
    assert ping(net["pod1"], c.pod("pod3").ip).ok
