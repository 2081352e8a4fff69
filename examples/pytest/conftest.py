"""Copy this file beside your own tests: when the pytest that runs them has no sdnlab plugin (Debian's
pytest-3, a virtualenv without sdnlab), a test asking for the `sdnlab` fixture stops the run with one line
saying how to get it, instead of "fixture 'sdnlab' not found". With the plugin it does nothing."""

import sys

import pytest

HOW = ("sdnlab: this pytest ({python}) has no sdnlab plugin, so no `sdnlab` fixture: run `{command}` "
       "after provisioning (`vagrant up` or `sudo ./sdnlab` links /usr/local/bin/pytest to sdnlab's), "
       "or `pip install -e <the sdnlab checkout>` into this pytest's environment")


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("sdnlab"):
        config.addinivalue_line("markers", "root: needs root (sdnlab's plugin skips these when not root)")


def pytest_collection_modifyitems(config, items):
    if config.pluginmanager.has_plugin("sdnlab"):
        return
    if any("sdnlab" in getattr(item, "fixturenames", ()) for item in items):
        source = getattr(config, "args_source", None)  # the folders and files asked for, if any
        command = " ".join(["sudo pytest", *(config.args if source is not None and source.name == "ARGS" else [])])
        pytest.exit(HOW.format(python=sys.executable, command=command), returncode=pytest.ExitCode.USAGE_ERROR)
