"""Send hand-made frames from inside a lab host (scapy): `python -m lab.observe.craft ip|arp ...`.

    ip  IFACE SRC_MAC DST_MAC SRC_IP DST_IP   an ICMP echo request with any source address
    arp IFACE SRC_MAC SENDER_MAC SENDER_IP TARGET_IP   an ARP request with any sender fields
    vxlan DST_IP DST_PORT VNI SRC_MAC DST_MAC SRC_IP DST_IP   that ICMP echo request inside a VXLAN
        header, sent over an ordinary UDP socket: the outer source is this host's own address
"""

from __future__ import annotations

import socket
import sys
import time

COUNT = 3


def echo_request(smac: str, dmac: str, sip: str, dip: str):
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import Ether
    return Ether(src=smac, dst=dmac) / IP(src=sip, dst=dip) / ICMP(id=0x5d1, seq=1) / b"sdnlab-crafted"


def vxlan_datagram(vni: int, inner: bytes) -> bytes:
    """RFC 7348 header: flags with the I bit, 24 reserved bits, the VNI, 8 reserved bits."""
    return bytes([0x08, 0, 0, 0]) + vni.to_bytes(3, "big") + b"\0" + inner


def send_vxlan(dst_ip: str, dst_port: int, vni: int, inner: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(COUNT):
            s.sendto(vxlan_datagram(vni, inner), (dst_ip, dst_port))
            time.sleep(0.05)


def main(argv) -> int:
    from scapy.layers.l2 import ARP, Ether
    from scapy.sendrecv import sendp
    if len(argv) == 8 and argv[0] == "vxlan":
        _, dst_ip, dst_port, vni, smac, dmac, sip, dip = argv
        send_vxlan(dst_ip, int(dst_port), int(vni), bytes(echo_request(smac, dmac, sip, dip)))
        print(f"sent {COUNT}")
        return 0
    if len(argv) == 6 and argv[0] == "ip":
        _, iface, smac, dmac, sip, dip = argv
        frame = echo_request(smac, dmac, sip, dip)
    elif len(argv) == 6 and argv[0] == "arp":
        _, iface, smac, hwsrc, psrc, pdst = argv
        frame = Ether(src=smac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=hwsrc, psrc=psrc, pdst=pdst)
    else:
        print(__doc__)
        return 2
    sendp(frame, iface=iface, count=COUNT, inter=0.05, verbose=False)
    print(f"sent {COUNT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
