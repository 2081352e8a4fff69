"""HostSubnets as openshift-sdn 3.11's master allocates them (pkg/network/master/subnet_allocator.go), pure."""

from __future__ import annotations

import ipaddress
from typing import List

from lab.errors import BadInput


def allocate_host_subnets(cidr: str, host_bits: int, count: int) -> List[ipaddress.IPv4Network]:
    """Subnets in the order openshift-sdn's SubnetAllocator hands them out.

    When the subnet number straddles an octet boundary the allocator rotates its bits so
    that subnets sharing the low octet come first: 10.128.0.0/23, 10.129.0.0/23, ...
    """
    net = ipaddress.IPv4Network(cidr)
    subnet_bits = 32 - net.prefixlen - host_bits
    total = 1 << subnet_bits
    if count > total:
        raise BadInput(
            f"{count} nodes need {count} host subnets but {cidr} with hostSubnetLength {host_bits} has only {total}"
        )
    rotate = host_bits % 8 != 0 and (host_bits - 1) // 8 != (host_bits + subnet_bits - 1) // 8
    if rotate:
        left_shift = 8 - host_bits % 8
        left_mask = (1 << (32 - net.prefixlen)) - 1
        right_shift = subnet_bits - left_shift
        right_mask = ((1 << left_shift) - 1) << host_bits
    base = int(net.network_address)
    subnets: List[ipaddress.IPv4Network] = []
    for n in range(count):
        shifted = n << host_bits
        if rotate:
            offset = ((shifted << left_shift) & left_mask) | ((shifted >> right_shift) & right_mask)
        else:
            offset = shifted
        subnets.append(ipaddress.IPv4Network((base | offset, 32 - host_bits)))
    return subnets
