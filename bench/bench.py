#!/usr/bin/env python3
"""sdnlab benchmark: bring-up, teardown, ping matrix and memory of OpenShift clusters, beside Mininet's
`mn --topo single,16` on the userspace datapath as the baseline. Run as root from the project's venv:

    sudo .venv/bin/python bench/bench.py [--sizes 2x2,4x4,16x8] [--repeat 3] [--json FILE]
    sudo .venv/bin/python bench/bench.py --sizes 2x2 --flannel-sizes "" --docker-sizes 2x2 --no-baseline

`--live` measures live `oc` changes: bring-up of 4x4 multitenant and networkpolicy clusters with 4 services
and 4 policies beside the plain 4x4 subnet cluster of the same run, and one `oc apply` (and `oc delete`) of a
policy and of a service, applied on all nodes:

    sudo .venv/bin/python bench/bench.py --live --sizes "" --flannel-sizes "" --no-baseline

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

from lab.cleanup import leftovers, netns_inode, processes_in, signal_processes, start_time  # noqa: E402
from lab.daemons import ovs  # noqa: E402
from lab.net import LabNet  # noqa: E402
from lab.observe.ping import ping_matrix  # noqa: E402
from lab.planes.flannel import realize as flannel_realize  # noqa: E402
from lab.planes.flannel.model import build_flannel_cluster  # noqa: E402
from lab.planes.openshift import realize  # noqa: E402
from lab.planes.openshift.master.cluster import build_cluster  # noqa: E402


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


LIVE_POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bench-deny-all, namespace: p1}
spec: {podSelector: {}}
"""
LIVE_SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: bench-svc, namespace: p1}
spec: {selector: {app: app0}, ports: [{port: 80, targetPort: 8080}]}
"""


def live_model(plugin: str):
    """4x4 with 4 services and 4 policies: pods labelled app0..app3 in turn (app0/app2 in p1, app1/app3 in p2),
    a service and a policy (allow its app's port from its namespace) per label."""
    from dataclasses import replace

    from lab.planes.openshift.api import manifests
    from lab.planes.openshift.model import ClusterNetwork, plugin_name
    c = build_cluster(4, 4, ClusterNetwork(plugin=plugin_name(plugin)))
    c.pods = [replace(p, labels={"app": f"app{i % 4}"}) for i, p in enumerate(c.pods)]
    docs = []
    for i in range(4):
        ns = f"p{i % 2 + 1}"
        docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"app{i}", "namespace": ns},
                     "spec": {"selector": {"app": f"app{i}"}, "ports": [{"port": 80, "targetPort": 8080}]}})
        docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": f"allow-app{i}", "namespace": ns},
                     "spec": {"podSelector": {"matchLabels": {"app": f"app{i}"}},
                              "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": 8080}]}]}})
    manifests.apply_documents(c, [("bench", d) for d in docs])
    return c


def live_cluster(plugin: str, name: str, tmp: str) -> dict:
    """Bring-up of the live model, then `oc apply` and `oc delete` of a policy and of a service."""
    from lab.planes.openshift import live
    cluster = live_model(plugin)
    t0 = time.monotonic()
    net = LabNet(ovs.detect_datapath(), name=name)
    result = {}
    try:
        realize.build(net, cluster, progress=lambda m: None)
        result = {"size": f"openshift {plugin} 4x4 +4svc +4pol", "bring_up_s": time.monotonic() - t0}
        for what, text in (("policy", LIVE_POLICY), ("service", LIVE_SERVICE)):
            path = os.path.join(tmp, f"{what}.yaml")
            with open(path, "w") as f:
                f.write(text)
            kind = "networkpolicy" if what == "policy" else "svc"
            name_ = "bench-deny-all" if what == "policy" else "bench-svc"
            t = time.monotonic()
            change = live.apply(net, cluster, f"oc apply -f {path}")
            result[f"apply_{what}_s"] = time.monotonic() - t
            result[f"apply_{what}_nodes"] = sum(1 for d in change.nodes.values() if d)
            t = time.monotonic()
            live.apply(net, cluster, f"oc delete {kind} {name_} -n p1")
            result[f"delete_{what}_s"] = time.monotonic() - t
    finally:
        t = time.monotonic()
        net.stop()
        result["teardown_s"] = time.monotonic() - t
    assert not any(leftovers(name).values()), leftovers(name)
    return result


def live_rows(name: str, repeat: int) -> list:
    import tempfile
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        plain = [one_cluster("openshift", 4, 4, matrix=False, name=name) for _ in range(repeat)]
        rows.append({"size": "openshift subnet 4x4", "bring_up_s": statistics.median(r["bring_up_s"] for r in plain),
                     "teardown_s": statistics.median(r["teardown_s"] for r in plain)})
        for plugin in ("multitenant", "networkpolicy"):
            runs = [live_cluster(plugin, name, tmp) for _ in range(repeat)]
            row = {k: (statistics.median(r[k] for r in runs) if isinstance(v, float) else v) for k, v in runs[0].items()}
            row["vs_plain"] = row["bring_up_s"] / rows[0]["bring_up_s"]
            rows.append(row)
    print(f"{'lab':<38}{'bring-up s':>11}{'x plain':>8}{'apply pol s':>12}{'del pol s':>10}{'apply svc s':>12}"
          f"{'del svc s':>10}")
    for r in rows:
        cells = [f"{r[k]:.3f}" if k in r else "-" for k in ("apply_policy_s", "delete_policy_s", "apply_service_s",
                                                            "delete_service_s")]
        ratio = f"{r['vs_plain']:.2f}" if "vs_plain" in r else "-"
        print(f"{r['size']:<38}{r['bring_up_s']:>11.2f}{ratio:>8}{cells[0]:>12}{cells[1]:>10}{cells[2]:>12}"
              f"{cells[3]:>10}")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="2x2,4x4,16x8", help="OpenShift clusters, NODESxPODS")
    ap.add_argument("--flannel-sizes", default="2x2,4x4", help="Flannel (vxlan) clusters")
    ap.add_argument("--docker-sizes", default="", help="OpenShift clusters with Docker pods (e.g. 2x2)")
    ap.add_argument("--no-baseline", action="store_true", help="leave out Mininet's `mn --topo single,16`")
    ap.add_argument("--name", default=os.environ.get("SDNLAB_NAME", "bench"), help="the labs' name (default "
                    "$SDNLAB_NAME or bench)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--live", action="store_true", help="live `oc` changes on 4x4 multitenant/networkpolicy "
                    "clusters with 4 services and 4 policies, beside the plain 4x4")
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
    if rows:
        print(f"{'lab':<26}{'bring-up s':>11}{'teardown s':>11}{'ping matrix s':>15}{'node RSS MB':>13}")
    for r in rows:
        pm = f"{r['ping_matrix_s']:.2f} ({r['ping_matrix_ok']})" if "ping_matrix_s" in r else "-"
        rss = f"{r['node_rss_mb']:.1f}" if "node_rss_mb" in r else "-"
        print(f"{r['size']:<26}{r['bring_up_s']:>11.2f}{r['teardown_s']:>11.2f}{pm:>15}{rss:>13}")
    if args.live:
        rows += live_rows(args.name, args.repeat)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
