"""The suite's shared setup lives in the sdnlab pytest plugin (lab/front/pytest_plugin.py): the `root`
marker, a lab name per xdist worker, failing on skips in CI (SDNLAB_REQUIRE_ALL=1), the `sdnlab` fixture.
Installing the project registers it (entry point pytest11: sdnlab); a pytest without it stops here in one line."""

import sys

import pytest


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("sdnlab"):
        pytest.exit(f"sdnlab: this pytest ({sys.executable}) has no sdnlab plugin: run `sudo pytest` (provisioning "
                    f"links /usr/local/bin/pytest to the project's), `sudo .venv/bin/pytest`, or `sudo ./sdnlab test`",
                    returncode=pytest.ExitCode.USAGE_ERROR)
