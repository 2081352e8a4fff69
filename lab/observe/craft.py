"""Send hand-made frames from inside a lab host (scapy): `python -m lab.observe.craft ip|arp ...`.

    ip  IFACE SRC_MAC DST_MAC SRC_IP DST_IP   an ICMP echo request with any source address
    arp IFACE SRC_MAC SENDER_MAC SENDER_IP TARGET_IP   an ARP request with any sender fields
"""

from __future__ import annotations

import sys


def main(argv) -> int:
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import ARP, Ether
    from scapy.sendrecv import sendp
    if len(argv) == 6 and argv[0] == "ip":
        _, iface, smac, dmac, sip, dip = argv
        frame = Ether(src=smac, dst=dmac) / IP(src=sip, dst=dip) / ICMP(id=0x5d1, seq=1) / b"sdnlab-crafted"
    elif len(argv) == 6 and argv[0] == "arp":
        _, iface, smac, hwsrc, psrc, pdst = argv
        frame = Ether(src=smac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=hwsrc, psrc=psrc, pdst=pdst)
    else:
        print(__doc__)
        return 2
    sendp(frame, iface=iface, count=3, inter=0.05, verbose=False)
    print("sent 3")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
