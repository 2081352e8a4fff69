"""Observation: what the kernel and the switches did (ping, traceroute, capture, trace, flows)."""
