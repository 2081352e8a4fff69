#!/usr/bin/env python3
"""sdnlab benchmark: bring-up, teardown, ping matrix and memory of OpenShift clusters, beside Mininet's
`mn --topo single,16` on the userspace datapath as the baseline. Run as root from the project's venv:

    sudo .venv/bin/python bench/bench.py [--sizes 2x2,4x4,16x8] [--repeat 3] [--json FILE]
    sudo .venv/bin/python bench/bench.py --sizes 2x2 --flannel-sizes "" --docker-sizes 2x2 --no-baseline

`--docker-sizes` adds OpenShift clusters whose pods are Docker containers (a dockerd per node; a pause
and two app containers per pod), measured in the same run as the namespace pods of `--sizes`.

The baseline runs in a throwaway network namespace with its own private OVS, so nothing of it
touches the machine's own namespace.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lab import ovs  # noqa: E402
from lab.cleanup import leftovers, netns_inode, processes_in, signal_processes, start_time  # noqa: E402
from lab.net import LabNet  # noqa: E402
from lab.observe.ping import ping_matrix  # noqa: E402
from lab.openshift import realize  # noqa: E402
from lab.openshift.model import build_cluster  # noqa: E402
from lab.flannel import realize as flannel_realize  # noqa: E402
from lab.flannel.model import build_flannel_cluster  # noqa: E402


def read_pid(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def rss_kb(pid: int) -> int:
    if not pid:
        return 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def node_memory_mb(net) -> float:
    """Largest per-node RSS of the node's daemons (ovsdb-server + ovs-vswitchd, or the flannel agent)."""
    worst = 0
    for node in net.role("node"):
        pidfiles = [os.path.join(root, f) for root, _, files in os.walk(node.dir) for f in files
                    if f.endswith(".pid") and f != "shell.pid"]
        worst = max(worst, sum(rss_kb(read_pid(f)) for f in pidfiles))
    return worst / 1024


def node_netns_memory_mb(net) -> float:
    """Largest per-node RSS of everything in the node's namespace but its shell (OVS, dockerd,
    containerd and the containers' shims)."""
    worst = 0
    for node in net.role("node"):
        procs = processes_in({netns_inode(node.pid)} - {None})
        worst = max(worst, sum(rss_kb(pid) for pid, _start in procs if pid != node.pid))
    return worst / 1024


def one_cluster(plane: str, nodes: int, pods: int, matrix: bool, name: str = "bench") -> dict:
    if plane == "openshift":
        build, cluster = realize.build, build_cluster(nodes, pods)
    elif plane == "openshift-docker":
        build, cluster = functools.partial(realize.build, runtime="docker"), build_cluster(nodes, pods)
    else:
        build, cluster = flannel_realize.build, build_flannel_cluster(nodes, pods)
    t0 = time.monotonic()
    net = LabNet(ovs.detect_datapath(), name=name)
    try:
        build(net, cluster, progress=lambda m: None)
        up = time.monotonic() - t0
        result = {"size": f"{plane} {nodes}x{pods}", "bring_up_s": up}
        if matrix:
            pairs = [(net[a.name], b.name, b.ip) for a in cluster.pods for b in cluster.pods if a is not b]
            t = time.monotonic()
            results = ping_matrix(pairs, count=1, timeout=2)
            result["ping_matrix_s"] = time.monotonic() - t
            result["ping_matrix_ok"] = f"{sum(r.ok for r in results)}/{len(results)}"
        result["node_rss_mb"] = node_netns_memory_mb(net) if plane.endswith("docker") else node_memory_mb(net)
    finally:
        t = time.monotonic()
        net.stop()
        down = time.monotonic() - t
    result["teardown_s"] = down
    assert not any(leftovers(name).values()), leftovers(name)
    return result


BASELINE = textwrap.dedent("""
    import time
    from functools import partial
    from mininet.net import Mininet
    from mininet.node import OVSSwitch
    from mininet.topo import SingleSwitchTopo
    t0 = time.monotonic()
    net = Mininet(topo=SingleSwitchTopo(16), controller=None,
                  switch=partial(OVSSwitch, datapath="user", failMode="standalone"))
    net.start()
    t1 = time.monotonic()
    net.stop()
    print(t1 - t0, time.monotonic() - t1)
""")


def baseline() -> dict:
    """`mn --topo single,16` (userspace datapath), in its own namespace with a private OVS."""
    ns, d = "sdnlab-bench", "/run/sdnlab-bench"
    os.makedirs(d, exist_ok=True)
    env = dict(os.environ, **ovs.ovs_env(d))
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "bash", "-ec", ovs.start_script(d)], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", BASELINE], env=env,
                             capture_output=True, text=True, check=True).stdout.split()
        return {"size": "mn single,16", "bring_up_s": float(out[0]), "teardown_s": float(out[1])}
    finally:
        pids = [p for p in (read_pid(f"{d}/ovs-vswitchd.pid"), read_pid(f"{d}/ovsdb-server.pid")) if p]
        signal_processes([(p, start_time(p)) for p in pids])
        subprocess.run(["ip", "netns", "del", ns])
        shutil.rmtree(d, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="2x2,4x4,16x8", help="OpenShift clusters, NODESxPODS")
    ap.add_argument("--flannel-sizes", default="2x2,4x4", help="Flannel (vxlan) clusters")
    ap.add_argument("--docker-sizes", default="", help="OpenShift clusters with Docker pods (e.g. 2x2)")
    ap.add_argument("--no-baseline", action="store_true", help="leave out Mininet's `mn --topo single,16`")
    ap.add_argument("--name", default=os.environ.get("SDNLAB_NAME", "bench"), help="the labs' name (default "
                    "$SDNLAB_NAME or bench)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    rows = []
    print(f"datapath: {ovs.detect_datapath()}, {os.cpu_count()} cores")
    if not args.no_baseline:
        base = [baseline() for _ in range(args.repeat)]
        rows.append({k: (statistics.median(r[k] for r in base) if k != "size" else v) for k, v in base[0].items()})
    sizes = [("openshift", s) for s in args.sizes.split(",") if s] + \
            [("openshift-docker", s) for s in args.docker_sizes.split(",") if s] + \
            [("flannel", s) for s in args.flannel_sizes.split(",") if s]
    for plane, size in sizes:
        n, p = (int(x) for x in size.split("x"))
        runs = [one_cluster(plane, n, p, matrix=(size == "4x4"), name=args.name) for _ in range(args.repeat)]
        row = {}
        for k, v in runs[0].items():
            row[k] = statistics.median(r[k] for r in runs) if isinstance(v, float) else v
        row["node_rss_mb"] = max(r["node_rss_mb"] for r in runs)
        rows.append(row)
    print(f"{'lab':<26}{'bring-up s':>11}{'teardown s':>11}{'ping matrix s':>15}{'node RSS MB':>13}")
    for r in rows:
        pm = f"{r['ping_matrix_s']:.2f} ({r['ping_matrix_ok']})" if "ping_matrix_s" in r else "-"
        rss = f"{r['node_rss_mb']:.1f}" if "node_rss_mb" in r else "-"
        print(f"{r['size']:<26}{r['bring_up_s']:>11.2f}{r['teardown_s']:>11.2f}{pm:>15}{rss:>13}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
