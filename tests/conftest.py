"""Shared fixtures: the `root` marker, and the lab's leftovers check."""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root: real network namespaces and kernel objects")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session, exitstatus):
    """In CI (SDNLAB_REQUIRE_ALL=1) a skipped test fails the run: it is a test that did not run."""
    if not os.environ.get("SDNLAB_REQUIRE_ALL"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"SDNLAB_REQUIRE_ALL: {len(skipped)} tests skipped; failing the run", red=True)
        session.exitstatus = 1
