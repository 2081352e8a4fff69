#!/usr/bin/env python3
"""Hand-computed values for the goldens, written from the Go source (not from lab/):

* kube-proxy 1.11 chain names (vendor/k8s.io/kubernetes/pkg/proxy/iptables/proxier.go):
    portProtoHash(servicePortName, protocol) = base32.StdEncoding(sha256(servicePortName + protocol))[:16]
    KUBE-SVC-<portProtoHash>;  KUBE-SEP-<base32(sha256(servicePortName + protocol + "ip:port"))[:16]>
  servicePortName = ServicePortName.String() = "<namespace>/<name>:<port name>" (empty port name allowed),
  protocol = strings.ToLower(Protocol).
* openshift-sdn 3.11 hostSubnetCookie (ovscontroller.go): first 4 bytes of sha256(HostSubnet.UID), big endian.
  The lab's UIDs are uuid5(NAMESPACE_URL, "sdnlab/hostsubnet/<node>") (an allocation fact of the lab).
* VNIDs in hex as OVS prints load:/reg matches.
"""
import base64
import hashlib
import uuid


def svc(spn: str, proto: str) -> str:
    return "KUBE-SVC-" + base64.b32encode(hashlib.sha256((spn + proto).encode()).digest()).decode()[:16]


def sep(spn: str, proto: str, endpoint: str) -> str:
    return "KUBE-SEP-" + base64.b32encode(hashlib.sha256((spn + proto + endpoint).encode()).digest()).decode()[:16]


def cookie(uid: str) -> str:
    return hex(int.from_bytes(hashlib.sha256(uid.encode()).digest()[:4], "big"))


if __name__ == "__main__":
    assert svc("default/kubernetes:https", "tcp") == "KUBE-SVC-NPX46M4PTMTKRN6Y"  # the well-known value
    print("sanity: default/kubernetes:https tcp ->", svc("default/kubernetes:https", "tcp"))
    eps = ["10.128.0.3", "10.129.0.3", "10.130.0.3"]  # Endpoints order: IP strings sorted byte-wise
    for spn, proto, port in (("shop/web:http", "tcp", 8080), ("shop/web:dns", "udp", 5353),
                             ("shop/web-public:", "tcp", 8080)):
        print(f"{spn!r:22} {proto}: {svc(spn, proto)}")
        for ip in eps:
            print(f"    {ip}:{port}  {sep(spn, proto, f'{ip}:{port}')}")
    print("nobody (no endpoints, no chain):", svc("shop/nobody:", "tcp"))
    for node in ("node1", "node2", "node3"):
        uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sdnlab/hostsubnet/{node}"))
        print(f"hostsubnet {node} uid {uid} cookie {cookie(uid)}")
    for ns, v in (("p1", 5492721), ("p2", 6936361)):
        print(f"NETID {ns} {v} = {v:#x}")
