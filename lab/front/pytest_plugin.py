"""The sdnlab pytest plugin: labs inside a user's own tests.

Installing the project registers it (entry point `pytest11: sdnlab`). It brings
- the `root` marker: root tests skip with a reason when not run as root;
- SDNLAB_REQUIRE_ALL=1: a skipped or xfailed test fails the run (CI: every test must run and pass);
- a lab started without root by a test lacking the `root` marker fails it loudly (not a quiet skip);
- the fixture `record_datapath`: a test that branches on the OVS datapath says which side it tested, and the
  run's summary lists them (each side must run somewhere: here netdev, in CI's VM system);
- a lab name per test process: each pytest-xdist worker works under its own name (w0, w1, ...);
- the fixture `sdnlab`, a factory: `lab = sdnlab("openshift", nodes=2, pods_per_node=2)` returns a
  running lab (built through the topology objects), torn down after the test.

The fixture's options (lab.front.fixture_options): the topology (a `lab list` name, or a cluster module
`my_cluster.py`, relative to the test file), then every `lab run TOPOLOGY` option by its long name:
`nodes=2`, `pods_per_node=1`, `plugin="networkpolicy"`, `backend="host-gw"`, ...; manifests (the command
line's `-f/--filename`) are `manifests="web.yaml"` or `manifests=["a.yaml", "dir/"]`, relative to the test
file (`filename=` works too; `f=` is refused, as any name the topology does not take, in one line naming
the right one). The lab runs under $SDNLAB_NAME (default `sdnlab`), <name>w0, <name>w1 under pytest-xdist.

A pytest without this plugin (Debian's pytest-3, a venv without sdnlab) cannot know the fixture: the
conftest.py of examples/pytest, copied beside a user's tests, says so in one line with the way to get it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest

from lab.plane import NotOffered, book_ip, book_name


def worker_lab_name(worker: str, base: str = "") -> str:
    """With pytest-xdist (`-n 2`) every worker runs its labs under its own name, so they run side by
    side: w0, w1, ... or, under a $SDNLAB_NAME of one's own, <name>w0 (two people's workers never meet)."""
    return f"{base[:12 - 1 - len(worker[2:])]}w{worker[2:]}"


_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw"):
    os.environ["SDNLAB_NAME"] = worker_lab_name(_WORKER, os.environ.get("SDNLAB_NAME", ""))
    from lab import paths as _paths
    _paths.set_lab_name(os.environ["SDNLAB_NAME"])

ROOT_SKIP_REASON = "needs root: real network namespaces and kernel objects"


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "root: needs root, real namespaces and kernel objects "
                                       "(skips with a reason when not root)")
    config.addinivalue_line("markers", "rootless: a module of the real-kernel folders that runs without root "
                                       "on purpose (its docstring says why)")


def pytest_collection_modifyitems(config, items) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason=ROOT_SKIP_REASON)
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


def not_run(stats: Dict[str, list]) -> Dict[str, int]:
    """What SDNLAB_REQUIRE_ALL refuses, from the terminal reporter's stats: skipped tests did not run, and
    an xfail (or an xpass) is a test whose result nobody asserts."""
    return {kind: len(stats.get(kind, [])) for kind in ("skipped", "xfailed", "xpassed") if stats.get(kind)}


def pytest_sessionfinish(session, exitstatus) -> None:
    """In CI (SDNLAB_REQUIRE_ALL=1) a skipped or xfailed test fails the run: it is a test that did not run."""
    if not os.environ.get("SDNLAB_REQUIRE_ALL"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    counts = not_run(reporter.stats) if reporter else {}
    if counts:
        said = ", ".join(f"{n} tests {kind}" for kind, n in counts.items())
        reporter.write_line(f"SDNLAB_REQUIRE_ALL: {said}; failing the run", red=True)
        session.exitstatus = 1


def require_root() -> None:
    """A lab needs root; a test that gets here without it lacks the `root` marker (which would have
    skipped it with a reason): fail loudly instead of erroring somewhere inside the bring-up."""
    if os.geteuid() != 0:
        pytest.fail("this test starts a lab, which needs root, but it lacks the `root` marker "
                    "(pytestmark = pytest.mark.root)", pytrace=False)


@pytest.fixture
def record_datapath(request) -> Callable[[str], str]:
    """`if record_datapath(net.datapath) == "netdev":` -- the test's report carries the side it tested."""
    def record(datapath: str) -> str:
        request.node.user_properties.append(("datapath", datapath))
        return datapath
    return record


def pytest_terminal_summary(terminalreporter) -> None:
    """One line per datapath side: which tests branched on the datapath and tested that side."""
    sides: Dict[str, List[str]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", "") == "call":
                for key, value in getattr(report, "user_properties", ()):
                    if key == "datapath":
                        sides.setdefault(value, []).append(report.nodeid)
    for side, tests in sorted(sides.items()):
        tests = sorted(set(tests))
        terminalreporter.write_line(f"datapath {side}: tested by {len(tests)} datapath-branching tests: " + ", ".join(tests))


def topology_args(topology, **options):
    """A topology's `lab run` defaults, overridden by keyword options (lab.run.topology_args)."""
    from lab.run import topology_args as parsed
    return parsed(topology, **options)


def path_diff(expected: Sequence[str], seen: Sequence[str]) -> str:
    """Two lists side by side, the first difference marked: what an assertion prints."""
    lines = [f"  {'expected':<24} seen"]
    for i in range(max(len(expected), len(seen))):
        e = expected[i] if i < len(expected) else "-"
        s = seen[i] if i < len(seen) else "-"
        lines.append(f"{'>' if e != s else ' '} {e:<24} {s}")
    return "\n".join(lines)


class Lab:
    """A running lab as a test sees it: the Mininet network (`net`), the model, and helpers that
    observe the data plane (ping, switch traces, traceroute) with assertions that explain a failure.
    What is particular to a data plane comes from its plane (lab.planes): a plane without a switch
    trace or an API server says so in one line."""

    def __init__(self, topology, net, model):
        from lab import planes
        self.topology, self.net, self.model = topology, net, model
        self.plane = planes.get(topology.plane)

    @property
    def name(self) -> str:
        return self.net.name

    def host(self, name: str):
        if name not in self.net:
            raise KeyError(f"no host {name!r} in lab {self.name} (hosts: {', '.join(sorted(self.net.keys()))})")
        return self.net[name]

    def ip_of(self, target: str) -> str:
        """A lab name (pod, node, external host) or an address -> the address a packet is sent to."""
        return book_ip(self.plane.address_book(self.model), target) or target

    def name_of(self, ip: str) -> str:
        """An address back to the lab name that holds it (pods, node underlay IPs and gateways, external)."""
        return book_name(self.plane.address_book(self.model), ip) or ip

    def cmd(self, host: str, command: str) -> str:
        """A shell command in a lab host's namespace; its output."""
        return self.host(host).cmd(command)

    def ping(self, a: str, b: str, count: int = 1, timeout: float = 2):
        from lab.observe.ping import ping
        return ping(self.host(a), self.ip_of(b), count=count, timeout=timeout, dst_name=b)

    def trace(self, a: str, b: str, proto: str = "icmp", dst_port: Optional[int] = None):
        """[(node, Trace)]: the switch's trace on the source pod's node, then on the remote node."""
        try:
            return self.plane.trace(self.net, self.model, a, b, proto, dst_port)
        except NotOffered as exc:
            raise TypeError(f"lab.trace: {exc}") from None

    def request(self, a: str, target: str, proto: str = "tcp", timeout: float = 2.0, count: int = 1):
        """From lab host a to `target` ("web:80", "web.shop:80", "shop/web:80", "pod3:8080", "IP:PORT"):
        an Answer (.pod: the pod that answered, .error: "refused" or "timeout"); with count > 1 a list."""
        answers = self.plane.request(self.net, self.model, a, target, proto, count, timeout)
        return answers[0] if count == 1 else answers

    def hops(self, a: str, b: str) -> List[str]:
        """traceroute from a to b, each hop's address mapped back to its lab name."""
        from lab.observe.traceroute import traceroute
        return [h.name or h.ip or "*" for h in traceroute(self.host(a), self.ip_of(b), resolve=self._resolve)]

    def _resolve(self, ip: str) -> Optional[str]:
        name = self.name_of(ip)
        return None if name == ip else name

    def assert_reachable(self, a: str, b: str, count: int = 1) -> None:
        r = self.ping(a, b, count=count)
        assert r.ok, (f"{a} -> {b} ({self.ip_of(b)}) unreachable: {r.received}/{r.sent} answered\n"
                      + self._trace_note(a, b))

    def assert_unreachable(self, a: str, b: str) -> None:
        r = self.ping(a, b)
        assert not r.ok, f"{a} -> {b} ({self.ip_of(b)}) answered ({r.received}/{r.sent}), expected no answer"

    def _trace_note(self, a: str, b: str) -> str:
        try:
            return "the switch's view:\n" + "\n".join(f"  {n}: {t.summary()}" for n, t in self.trace(a, b))
        except TypeError:  # no switch trace in this plane
            return ""
        except Exception as exc:  # a note for a person: never hide the assertion behind it
            return f"(no trace: {exc})"

    def assert_path(self, a: str, b: str, tables: Sequence, proto: str = "icmp") -> None:
        """The OpenFlow tables a packet visits from a to b, over every node it crosses, in order."""
        hops = self.trace(a, b, proto)
        seen = [str(t) for _node, tr in hops for t in tr.tables]
        expected = [str(t) for t in tables]
        assert seen == expected, (f"path {a} -> {b} differs (tables):\n{path_diff(expected, seen)}\n"
                                  + "\n".join(f"  {n}: {t.summary()}" for n, t in hops))

    def oc(self, line: str):
        """An `oc` line on a lab with an API server (get, apply, create, delete, label, adm pod-network): returns
        the change it made (its output, and per node the flows and rules added and removed)."""
        try:
            change = self.plane.oc(self.net, self.model, line)
        except NotOffered as exc:
            raise TypeError(f"lab.oc: {exc}") from None
        if change.mutated:
            self.last_change = change
        return change

    def assert_hops(self, a: str, b: str, names: Sequence[str]) -> None:
        """The traceroute hops from a to b, by lab name (pods, nodes, external host)."""
        seen = self.hops(a, b)
        assert seen == list(names), f"hops {a} -> {b} differ:\n{path_diff(list(names), seen)}"


def start_lab(topology_name: str, folder: str = "", **options) -> Lab:
    """Build a lab through its topology object (lab.run, as `lab run` does), under this process's lab name;
    options as a test writes them (lab.front.fixture_options), relative paths from `folder` (default: here).
    A wrong option name is an OptionError before root is asked for or anything exists."""
    import topologies
    from lab import run
    from lab.front.fixture_options import fixture_options, topology_path
    folder = folder or os.getcwd()
    topology = topologies.load(topology_path(topology_name, folder))
    args = run.topology_args(topology, **fixture_options(topology, options, folder))
    model = topology.model(args)  # BadInput before anything exists
    require_root()
    return Lab(topology, run.start(topology, args, model), model)


def lab_process_snapshot(name: str = "") -> list:
    """The lab's live processes as (pid, start time), taken before teardown: the records that name them
    go with the lab's run directory, so only a snapshot can tell afterwards whether they all ended."""
    from lab.cleanup import lab_processes
    procs = lab_processes(name)
    return procs["shells"] + procs["others"]


def assert_nothing_left(name: str = "", processes: Sequence = ()) -> None:
    """Nothing of the lab is left: no namespace bind, no run directory, no recorded or in-namespace
    process, and none of `processes` (a snapshot taken before teardown) still running."""
    from lab.cleanup import is_zombie, leftovers, same_process
    left = leftovers(name)
    left["processes"] += [p for p in processes if same_process(tuple(p)) and not is_zombie(p[0])
                          and tuple(p) not in map(tuple, left["processes"])]
    assert not any(left.values()), f"lab {name or 'of this process'} left behind: {left}"


def machine_owns(path: str) -> bool:
    """The directory is the machine's own: it exists and no lab made it as a mountpoint for its hosts
    (/run/flannel, /var/lib/cni), which the last lab using it removes again."""
    from lab.cleanup import recorded_mountpoints
    return os.path.exists(path) and path not in recorded_mountpoints()


def left_as_found(path: str, machine_owned: bool) -> bool:
    """After a lab is gone: a mountpoint it made is gone too, unless another lab (a parallel test
    worker's) holds it now; the machine's own directory stays."""
    from lab.cleanup import mounted_in_some_namespace, recorded_mountpoints
    if path in recorded_mountpoints() or mounted_in_some_namespace(path):  # (a lab of another run directory)
        return True
    return os.path.exists(path) == machine_owned


@contextmanager
def built_lab(build: Callable, model, packages: Optional[Dict[str, str]] = None) -> Iterator[Tuple[object, object]]:
    """`with built_lab(realize.build, cluster, ovs.PACKAGES) as (net, cluster):` a lab built straight from
    a data plane's model, under this process's lab name, torn down after the block; fails if anything of
    it is left behind."""
    from lab.net import running
    from lab.requirements import require_packages
    require_root()
    require_packages(packages)
    with running(build, model) as net:
        yield net, model
        before = lab_process_snapshot()
    assert_nothing_left(processes=before)


@pytest.fixture
def sdnlab(request) -> Callable[..., Lab]:
    """Factory: `lab = sdnlab("openshift", nodes=2, pods_per_node=2, manifests="web.yaml")`; one lab at a
    time per test, torn down after the test however it ends. Options: the module's docstring."""
    labs: List[Lab] = []
    folder = str(request.path.parent)

    def factory(topology: str = "openshift", **options) -> Lab:
        __tracebackhide__ = True  # a wrong option shows the test's line and the one-line reason
        if labs:
            labs.pop().net.stop()  # one lab per process: a second call replaces the first
        from lab.front.fixture_options import OptionError
        try:
            lab = start_lab(topology, folder, **options)
        except OptionError as exc:
            raise OptionError(str(exc)) from None  # raised here: the traceback is the test's line
        labs.append(lab)
        return lab

    yield factory
    for lab in labs:
        before = lab_process_snapshot(lab.name)
        lab.net.stop()
        assert_nothing_left(lab.name, before)
