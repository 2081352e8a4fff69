"""Address facts shared by data planes."""

import hashlib
import ipaddress

from lab.errors import BadInput

UNDERLAY_MTU = 1500  # the lab's underlay links are veths, created with the kernel's default MTU
VXLAN_OVERHEAD = 50  # VXLAN over IPv4: outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8


def pod_mac(ip: str) -> str:
    """The MAC container networking derives from a pod IP (openshift-sdn, CNI bridge): 0a:58 + the IP's bytes."""
    return "0a:58:" + ":".join(f"{b:02x}" for b in ipaddress.ip_address(ip).packed)


def veth_name(node: str, pod: str) -> str:
    """A stable host-side veth name in the style of the runtimes' random `vethXXXXXXXX`."""
    return "veth" + hashlib.sha1(f"{node}/{pod}".encode()).hexdigest()[:8]


def parse_network(text: str, what: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise BadInput(f"invalid {what} {text!r}: {exc}") from None
    if net.version != 4:
        raise BadInput(f"invalid {what} {text!r}: only IPv4 is supported")
    return net
