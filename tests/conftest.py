"""Shared fixtures: the `root` marker, and the lab's leftovers check."""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root: real namespaces, veths and per-node Open vSwitch")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)
