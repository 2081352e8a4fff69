"""Shared fixtures: the `root` marker, a lab name per xdist worker, and failing on skips in CI."""

import os

import pytest

# With pytest-xdist (`-n 2`) every worker runs its labs under its own name, so they run side by side.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw"):
    os.environ["SDNLAB_NAME"] = "w" + _WORKER[2:]
    from lab import paths
    paths.set_lab_name(os.environ["SDNLAB_NAME"])


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
