"""The suite's shared setup lives in the sdnlab pytest plugin (lab/front/pytest_plugin.py): the `root`
marker, a lab name per xdist worker, failing on skips in CI (SDNLAB_REQUIRE_ALL=1), the `sdnlab` fixture.
Installing the project registers it; a checkout used before `pip install -e .` registers it here."""


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("sdnlab"):
        import lab.front.pytest_plugin
        config.pluginmanager.register(lab.front.pytest_plugin, "sdnlab")
