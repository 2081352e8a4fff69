"""lab.validate and the models' validation: every check, every message shape, no root."""

import ipaddress
import json
import os
import tempfile
from types import SimpleNamespace

import pytest

from lab import validate
from lab.errors import BadInput
from lab.planes.flannel.model import FlannelConfig, build_flannel_cluster
from lab.planes.openshift.master.cluster import build_cluster
from lab.planes.openshift.model import ClusterNetwork
from lab.validate import (
    check_counts,
    check_mtu,
    check_networks,
    check_port,
    check_readable_file,
    check_vni,
    check_writable_file,
)


def refused(call, *words):
    """`call` raises BadInput with one line holding every word; returns the message."""
    with pytest.raises(BadInput) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return message


# --- networks --------------------------------------------------------------------------------------

@pytest.mark.parametrize("named", [
    {"cluster network": "10.128.0.0/14", "service network": "172.30.0.0/16", "underlay": "172.16.1.0/24"},
    {"a": "10.0.0.0/24", "b": "10.0.1.0/24"},  # adjacent, not overlapping
    {"a": ipaddress.ip_network("8.8.8.0/24")},  # public space is the user's choice
    {"a": "1.0.0.0/8", "b": "223.255.255.0/24", "c": "126.0.0.0/8", "d": "169.253.0.0/16"},  # next to reserved
    {},
])
def test_networks_accepted(named):
    assert check_networks(named) is None


@pytest.mark.parametrize("named, words", [
    ({"cluster network": "10.128.0.0/14", "service network": "10.128.0.0/16"},
     ["cluster network 10.128.0.0/14 overlaps service network 10.128.0.0/16"]),
    ({"cluster network": "10.128.0.0/14", "service network": "172.30.0.0/16", "underlay": "10.131.255.0/24"},
     ["cluster network 10.128.0.0/14 overlaps underlay 10.131.255.0/24"]),
    ({"service network": "172.30.0.0/16", "underlay": ipaddress.ip_network("172.16.0.0/12")},
     ["service network 172.30.0.0/16 overlaps underlay 172.16.0.0/12"]),
    ({"a": "10.0.0.0/24", "b": "10.0.0.0/24"}, ["a 10.0.0.0/24 overlaps b 10.0.0.0/24"]),
])
def test_overlapping_networks_name_both(named, words):
    refused(lambda: check_networks(named), *words)


@pytest.mark.parametrize("cidr, words", [
    ("224.0.0.0/14", ["lies in the multicast range 224.0.0.0/4"]),
    ("239.255.255.0/24", ["lies in the multicast range 224.0.0.0/4"]),
    ("127.0.0.0/14", ["lies in the loopback range 127.0.0.0/8"]),
    ("169.254.0.0/24", ["lies in the link-local range 169.254.0.0/16"]),
    ("0.0.0.0/14", ['lies in the "this network" range 0.0.0.0/8']),
    ("240.0.0.0/8", ["lies in the reserved range 240.0.0.0/4"]),
    ("240.0.0.0/4", ["lies in the reserved range 240.0.0.0/4"]),
    ("255.255.255.255/32", ["lies in the limited broadcast address 255.255.255.255/32"]),
    ("192.0.0.0/2", ["overlaps the multicast range 224.0.0.0/4"]),
    ("126.0.0.0/7", ["overlaps the loopback range 127.0.0.0/8"]),
    ("169.0.0.0/8", ["overlaps the link-local range 169.254.0.0/16"]),
    ("0.0.0.0/0", ['overlaps the "this network" range 0.0.0.0/8']),
])
def test_reserved_ranges_are_refused(cidr, words):
    refused(lambda: check_networks({"cluster network (--cluster-cidr)": cidr}),
            f"cluster network (--cluster-cidr) {cidr}", *words)


@pytest.mark.parametrize("value, words", [
    ("banana", ["invalid underlay 'banana'"]),
    ("10.0.0.1/24", ["invalid underlay '10.0.0.1/24'", "host bits set"]),
    ("10.0.0.0/33", ["invalid underlay '10.0.0.0/33'"]),
    ("fd00::/64", ["invalid underlay 'fd00::/64'", "only IPv4"]),
    (42, ["invalid underlay 42", "not an IPv4 network"]),
])
def test_unparsable_networks(value, words):
    refused(lambda: check_networks({"underlay": value}), *words)


# --- MTU, port, VNI, counts ---------------------------------------------------------------------------

@pytest.mark.parametrize("mtu, underlay, overhead", [
    (1450, 1500, 50), (576, 1500, 50), (1500, 1500, 0), (8950, 9000, 50), (626, 676, 50)])
def test_mtu_accepted(mtu, underlay, overhead):
    assert check_mtu(mtu, underlay, overhead, "--mtu") is None


@pytest.mark.parametrize("mtu, underlay, overhead, words", [
    (9000, 1500, 50, ["--mtu 9000 does not fit the 1500-byte underlay with the 50-byte overlay header: at most 1450"]),
    (1451, 1500, 50, ["--mtu 1451", "at most 1450"]),
    (1501, 1500, 0, ["--mtu 1501 does not fit the 1500-byte underlay with no overlay header: at most 1500"]),
    (575, 1500, 50, ["--mtu 575 is below the IPv4 minimum of 576 (range 576-1450)"]),
    (0, 1500, 50, ["--mtu 0 is below the IPv4 minimum of 576"]),
    (-1, 1500, 50, ["--mtu -1 is below"]),
    (600, 600, 50, ["--mtu: a 600-byte underlay leaves 550 bytes after the 50-byte overlay header",
                    "below the IPv4 minimum of 576"]),
    ("1450", 1500, 50, ["--mtu '1450' is not an integer"]),
    (True, 1500, 50, ["--mtu True is not an integer"]),
])
def test_mtu_refused(mtu, underlay, overhead, words):
    refused(lambda: check_mtu(mtu, underlay, overhead, "--mtu"), *words)


@pytest.mark.parametrize("port", [1, 4789, 8472, 65535])
def test_port_accepted(port):
    assert check_port(port, "--vxlan-port") is None


@pytest.mark.parametrize("port, words", [
    (0, ["--vxlan-port 0 is out of range 1-65535"]),
    (65536, ["--vxlan-port 65536 is out of range 1-65535"]),
    (70000, ["--vxlan-port 70000 is out of range"]),
    (-4789, ["--vxlan-port -4789 is out of range"]),
    ("4789", ["--vxlan-port '4789' is not an integer"]),
    (False, ["--vxlan-port False is not an integer"]),
])
def test_port_refused(port, words):
    refused(lambda: check_port(port, "--vxlan-port"), *words)


@pytest.mark.parametrize("vni, ok", [(0, True), (1, True), (2 ** 24 - 1, True), (2 ** 24, False), (-1, False)])
def test_vni_range(vni, ok):
    if ok:
        assert check_vni(vni, "VNI") is None
    else:
        refused(lambda: check_vni(vni, "VNI"), f"VNI {vni} is out of range 0-16777215")


@pytest.mark.parametrize("nodes, pods, words", [
    (0, 2, ["--nodes must be at least 1, not 0"]),
    (-3, 2, ["--nodes must be at least 1, not -3"]),
    (True, 2, ["--nodes must be at least 1, not True"]),
    ("2", 2, ["--nodes must be at least 1, not '2'"]),
    (2, -1, ["--pods-per-node must be 0 or more, not -1"]),
    (2, 1.5, ["--pods-per-node must be 0 or more, not 1.5"]),
])
def test_counts_refused(nodes, pods, words):
    refused(lambda: check_counts(nodes, pods), *words)


def test_counts_accepted():
    assert check_counts(1, 0) is None


# --- files ----------------------------------------------------------------------------------------------

def test_writable_new_file_is_accepted_and_not_created(tmp_path):
    path = tmp_path / "inventory.json"
    check_writable_file(str(path), "--json")
    assert not path.exists()  # a check creates nothing


def test_writable_existing_file_is_accepted_and_left_alone(tmp_path):
    path = tmp_path / "inventory.json"
    path.write_text("old")
    check_writable_file(str(path), "--json")
    assert path.read_text() == "old"


def test_writable_relative_file_in_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check_writable_file("inventory.json", "--json")


@pytest.mark.parametrize("make, words", [
    (lambda d: str(d), ["is a directory, not a file"]),
    (lambda d: str(d / "new") + "/", ["is a directory, not a file"]),
    (lambda d: str(d / "missing" / "inventory.json"), ["directory", "missing", "does not exist"]),
    (lambda d: str(d / "file" / "inventory.json"), ["file is not a directory"]),
    (lambda d: (os.mkfifo(d / "fifo"), str(d / "fifo"))[1], ["is not a regular file"]),
    (lambda d: (os.symlink(d / "nowhere", d / "dangling"), str(d / "dangling"))[1], ["is a dangling symbolic link"]),
    (lambda d: "", ["--json: the file name is empty"]),
])
def test_writable_file_refused(tmp_path, make, words):
    (tmp_path / "file").write_text("x")
    path = make(tmp_path)
    before = sorted(os.listdir(tmp_path))
    refused(lambda: check_writable_file(path, "--json"), "--json", *words)
    assert sorted(os.listdir(tmp_path)) == before


def test_unwritable_file_refused(tmp_path, monkeypatch):
    path = tmp_path / "inventory.json"
    path.write_text("x")
    # root writes anywhere, so access() is made to answer as it does for an unprivileged user
    monkeypatch.setattr(validate.os, "access", lambda p, mode: not (mode & os.W_OK))
    refused(lambda: check_writable_file(str(path), "--json"), f"--json {path} is not writable")


def test_unwritable_directory_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(validate.os, "access", lambda p, mode: not (mode & os.W_OK))
    refused(lambda: check_writable_file(str(tmp_path / "new.json"), "--json"),
            f"directory {tmp_path} is not writable")


def unprivileged(check) -> list:
    """Run `check` (returns messages) as an ordinary user: as root in a forked child that drops to nobody,
    because root's write and read access ignores file modes."""
    if os.geteuid() != 0:
        return check()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(write, json.dumps(check()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        out = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and out, "the unprivileged check did not finish"
    return json.loads(out)


def permission_messages() -> list:
    """A read-only file, a read-only directory and an unreadable file, as the user who made them."""
    messages = []
    with tempfile.TemporaryDirectory() as d:
        ro, locked, secret = os.path.join(d, "ro.json"), os.path.join(d, "locked"), os.path.join(d, "secret.mn")
        for path, mode in ((ro, 0o444), (secret, 0o200)):
            with open(path, "w") as f:
                f.write("x")
            os.chmod(path, mode)
        os.mkdir(locked, 0o555)
        for call in (lambda: check_writable_file(ro, "--json"),
                     lambda: check_writable_file(os.path.join(locked, "new.json"), "--json"),
                     lambda: check_readable_file(secret, "--script")):
            try:
                call()
                messages.append(None)
            except BadInput as exc:
                messages.append(str(exc))
    return messages


def test_file_modes_refused_for_an_ordinary_user():
    ro, locked, secret = unprivileged(permission_messages)
    assert ro and ro.startswith("--json ") and ro.endswith("ro.json is not writable"), ro
    assert locked and locked.startswith("--json ") and "locked is not writable" in locked, locked
    assert secret and secret.startswith("--script ") and secret.endswith("secret.mn is not readable"), secret


def test_readable_file_accepted(tmp_path):
    path = tmp_path / "session.mn"
    path.write_text("pingall\n")
    check_readable_file(str(path), "--script")


@pytest.mark.parametrize("make, words", [
    (lambda d: str(d / "missing.mn"), ["missing.mn: no such file"]),
    (lambda d: str(d), ["is a directory, not a file"]),
    (lambda d: (os.mkfifo(d / "fifo"), str(d / "fifo"))[1], ["is not a regular file"]),
    (lambda d: (os.symlink(d / "nowhere", d / "dangling"), str(d / "dangling"))[1], ["no such file"]),
    (lambda d: "", ["--script: the file name is empty"]),
])
def test_readable_file_refused(tmp_path, make, words):
    refused(lambda: check_readable_file(make(tmp_path), "--script"), "--script", *words)


def test_unreadable_file_refused(tmp_path, monkeypatch):
    path = tmp_path / "session.mn"
    path.write_text("pingall\n")
    monkeypatch.setattr(validate.os, "access", lambda p, mode: not (mode & os.R_OK))
    refused(lambda: check_readable_file(str(path), "--script"), f"--script {path} is not readable")


# --- the models refuse bad input themselves (library use) ---------------------------------------------

@pytest.mark.parametrize("kwargs, words", [
    ({"cidr": "10.128.0.0/14", "service_network": "10.128.0.0/16"},
     ["cluster network (--cluster-cidr) 10.128.0.0/14 overlaps service network (--service-network) 10.128.0.0/16"]),
    ({"service_network": "10.0.0.0/8"}, ["overlaps service network (--service-network) 10.0.0.0/8"]),
    ({"cidr": "224.0.0.0/14"}, ["cluster network (--cluster-cidr) 224.0.0.0/14 lies in the multicast range"]),
    ({"cidr": "127.0.0.0/14"}, ["lies in the loopback range"]),
    ({"service_network": "169.254.0.0/16"},
     ["service network (--service-network) 169.254.0.0/16 lies in the link-local"]),
    ({"mtu": 9000}, ["--mtu 9000 does not fit the 1500-byte underlay", "at most 1450"]),
    ({"mtu": 1451}, ["at most 1450"]),
    ({"mtu": 500}, ["--mtu 500 is below the IPv4 minimum of 576"]),
    ({"vxlan_port": 0}, ["--vxlan-port 0 is out of range 1-65535"]),
    ({"vxlan_port": 70000}, ["--vxlan-port 70000 is out of range 1-65535"]),
    ({"host_subnet_length": 19}, ["--host-subnet-length 19 does not fit cluster network 10.128.0.0/14"]),
    ({"host_subnet_length": 1}, ["--host-subnet-length 1 is invalid", "at least 2"]),
    ({"cidr": "10.128.0.1/14"}, ["invalid cluster network CIDR (--cluster-cidr) '10.128.0.1/14'"]),
    ({"service_network": "300.1.0.0/16"}, ["invalid service network CIDR (--service-network)"]),
])
def test_cluster_network_refuses(kwargs, words):
    refused(lambda: ClusterNetwork(**kwargs), *words)


@pytest.mark.parametrize("kwargs, words", [
    ({"underlay": "10.128.5.0/24"},
     ["cluster network (--cluster-cidr) 10.128.0.0/14 overlaps underlay (--underlay) 10.128.5.0/24"]),
    ({"underlay": "172.30.1.0/24"}, ["service network (--service-network) 172.30.0.0/16 overlaps underlay"]),
    ({"underlay": "224.1.0.0/24"}, ["underlay (--underlay) 224.1.0.0/24 lies in the multicast range"]),
    ({"underlay": "172.16.1.0/29"}, ["underlay (--underlay) 172.16.1.0/29 is too small for --nodes 2",
                                     "at most 0 nodes"]),
    ({"underlay": "172.16.1.0/28", "nodes": 4}, ["is too small for --nodes 4", "at most 3 nodes"]),
    ({"underlay": "172.16.1.0/24", "nodes": 244}, ["at most 243 nodes"]),
    ({"underlay": "banana"}, ["invalid underlay CIDR (--underlay) 'banana'"]),
    ({"nodes": 0}, ["--nodes must be at least 1, not 0"]),
    ({"pods_per_node": -1}, ["--pods-per-node must be 0 or more, not -1"]),
    ({"nodes": 3, "network": ClusterNetwork(host_subnet_length=17)},
     ["--nodes 3", "3 nodes need 3 host subnets", "--host-subnet-length 17 has only 2"]),
    ({"pods_per_node": 510}, ["--pods-per-node 510", "do not fit a /23 host subnet (at most 509)"]),
])
def test_build_cluster_refuses(kwargs, words):
    refused(lambda: build_cluster(**kwargs), *words)


def test_build_cluster_limits_are_exact():
    assert len(build_cluster(3, 0, underlay="172.16.1.0/28").hostsubnets) == 3
    assert build_cluster(1, 0, underlay="172.16.1.0/28").external.ip == "172.16.1.14"
    assert len(build_cluster(243, 0).hostsubnets) == 243
    assert ClusterNetwork(mtu=1450).mtu == 1450 and ClusterNetwork(mtu=576).mtu == 576


@pytest.mark.parametrize("kwargs, words", [
    ({"network": "224.0.0.0/16"}, ["flannel network (--network) 224.0.0.0/16 lies in the multicast range"]),
    ({"network": "127.0.0.0/16"}, ["lies in the loopback range"]),
    ({"network": "0.0.0.0/0"}, ["flannel network (--network) 0.0.0.0/0 overlaps"]),
    ({"network": "10.244.0.0/33"}, ["invalid flannel network (--network)"]),
    ({"network": "10.244.0.0/24"}, ["subnet length 24 does not fit flannel network (--network) 10.244.0.0/24"]),
    ({"subnet_len": 31}, ["lease length /31 is invalid"]),
    ({"backend": "udp"}, ["unknown flannel backend 'udp'"]),
    ({"port": 0}, ["flannel VXLAN port 0 is out of range 1-65535"]),
    ({"vni": 2 ** 24}, ["flannel VXLAN VNI 16777216 is out of range"]),
    ({"underlay_mtu": 600}, ["flannel vxlan MTU: a 600-byte underlay leaves 550 bytes"]),
    ({"underlay_mtu": 500, "backend": "host-gw"}, ["flannel host-gw MTU: a 500-byte underlay"]),
])
def test_flannel_config_refuses(kwargs, words):
    refused(lambda: FlannelConfig(**kwargs), *words)


@pytest.mark.parametrize("kwargs, words", [
    ({"config": FlannelConfig(network="172.16.0.0/16")},
     ["flannel network (--network) 172.16.0.0/16 overlaps underlay segment 172.16.1.0/24"]),
    ({"config": FlannelConfig(network="172.16.2.0/23"), "routed": True},
     ["flannel network (--network) 172.16.2.0/23 overlaps second underlay segment (--routed) 172.16.2.0/24"]),
    ({"config": FlannelConfig(network="10.244.0.0/23"), "nodes": 3},
     ["--nodes 3", "3 nodes need 3 leases but flannel network (--network) 10.244.0.0/23 holds only 2 /24 subnets"]),
    ({"pods_per_node": 254}, ["--pods-per-node 254", "do not fit a /24 lease (at most 253)"]),
    ({"nodes": 201}, ["--nodes 201 does not fit the underlay: at most 200 nodes"]),
    ({"nodes": 0}, ["--nodes must be at least 1, not 0"]),
    ({"pods_per_node": -2}, ["--pods-per-node must be 0 or more, not -2"]),
])
def test_build_flannel_cluster_refuses(kwargs, words):
    refused(lambda: build_flannel_cluster(**kwargs), *words)


def test_flannel_second_segment_only_matters_when_routed():
    cluster = build_flannel_cluster(2, 1, FlannelConfig(network="172.16.2.0/23"))
    assert [n.subnet for n in cluster.nodes] == ["172.16.2.0/24", "172.16.3.0/24"]
    assert len(build_flannel_cluster(2, 253).pods) == 506
    assert FlannelConfig(backend="host-gw").mtu == 1500 and FlannelConfig().mtu == 1450


@pytest.mark.parametrize("name", ["vxlan-p2p", "docker-vxlan"])
def test_raw_lab_models_pass_their_own_checks(name):
    import topologies
    assert topologies.load(name).model(SimpleNamespace(connected=False)).port == 4789


def test_raw_lab_model_refuses_an_overlapping_docker_network(monkeypatch):
    import topologies
    from lab.planes.rawvxlan import realize as rawvxlan
    # the fixed subnets go through the same checks an option would
    monkeypatch.setattr(rawvxlan, "UNDERLAY", "172.20.5.0/24")
    refused(lambda: topologies.load("docker-vxlan").model(SimpleNamespace(connected=False)),
            "underlay 172.20.5.0/24 overlaps docker bridge network 172.20.0.0/16")
