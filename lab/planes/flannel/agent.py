"""sdnlab's flanneld: takes a lease in etcd, writes subnet.env, and follows the other nodes' leases.

Runs inside a node's namespace (`python -m lab.planes.flannel.agent ...`, started by the lab). It keeps
routes, neighbours and FDB entries (vxlan) or routes (host-gw) in step with etcd's leases, without
restarting, and reports what it applied and what failed in DIR/status.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from typing import Dict, List

from lab.apply import diff_script
from lab.daemons.etcd import Client
from lab.errors import BadInput
from lab.planes.flannel.model import PREFIX, FlannelConfig, lease_key, lease_value
from lab.planes.flannel.render import VXLAN_DEV, Lease, agent_state, delete_commands, lease_state, subnet_env_file
from lab.state import NodeState, diff


def run_local(script: str) -> str:
    """Run an apply script in this (the node's) namespace; return its error text ('' on success)."""
    if not script:
        return ""
    r = subprocess.run(["bash", "-ec", script], capture_output=True, text=True)
    # the commands beside the kernel's words: "ip route replace ... via <node IP>: Nexthop has invalid gateway"
    if r.returncode == 0:
        return ""
    return f"{'; '.join(script.strip().splitlines())}: {' '.join((r.stderr or r.stdout).split())}"


class Agent:
    def __init__(self, args):
        self.args = args
        self.etcd = Client(args.etcd)
        self.applied: Dict[str, Lease] = {}
        self.errors: List[str] = []
        self.revision = 0
        self.vtep_mac = None
        os.makedirs(args.dir, exist_ok=True)

    def log(self, msg: str) -> None:
        print(time.strftime("%H:%M:%S"), msg, flush=True)

    def wait_for_config(self) -> dict:
        deadline = time.monotonic() + 30
        problem = "no network config"
        while time.monotonic() < deadline:
            try:
                value = self.etcd.get(f"{PREFIX}/config")
                if value:
                    return json.loads(value)
            except OSError as exc:
                problem = f"unreachable: {exc}"
            time.sleep(0.1)
        raise SystemExit(f"etcd at {self.args.etcd}: {problem} at {PREFIX}/config")

    def setup(self) -> None:
        cfg = self.wait_for_config()
        backend = cfg.get("Backend", {}).get("Type", "udp")
        self.config = FlannelConfig(network=cfg["Network"], backend=backend,
                                    vni=cfg.get("Backend", {}).get("VNI", 1),
                                    port=cfg.get("Backend", {}).get("Port", 8472))
        self.log(f"network {self.config.network}, backend {backend}, lease {self.args.subnet}")
        state = agent_state(self.config, self.args.subnet, self.args.public_ip, self.args.iface)
        err = run_local(diff_script(diff(NodeState(), state)))  # a fresh namespace: everything is to add
        if err:
            raise SystemExit(err)
        if backend == "vxlan":
            with open(f"/sys/class/net/{VXLAN_DEV}/address") as f:
                self.vtep_mac = f.read().strip()
        self.etcd.put(lease_key(self.args.subnet),
                      lease_value(self.args.public_ip, backend, self.config.vni, self.vtep_mac))
        # subnet.env only once the lease is ours: the change from the state above is just this file
        err = run_local(diff_script(diff(state, state + NodeState((subnet_env_file(
            self.config, self.args.subnet, self.args.dir),)))))
        if err:
            raise SystemExit(err)
        self.log(f"lease {lease_key(self.args.subnet)} taken, subnet.env written")

    def reconcile(self, leases: Dict[str, Lease]) -> None:
        """Apply, per remote lease, only the difference between what it had and what it needs now."""
        want = {s: lease for s, lease in leases.items() if s != self.args.subnet}
        for subnet in sorted(set(self.applied) | set(want)):
            old, new = self.applied.get(subnet), want.get(subnet)
            if old == new:
                continue
            try:
                target, problem = lease_state(new, self.args.iface), ""
            except BadInput as exc:  # a lease it cannot follow: what the old one put there goes, nothing comes
                target, problem = NodeState(), str(exc)
            change = diff(lease_state(old, self.args.iface), target)  # old was applied: it can be followed
            err = run_local(diff_script(change))
            err = "; ".join(e for e in (problem, err) if e)
            if old is not None:
                del self.applied[subnet]
            if new is None:
                if err:  # take away what is left one by one: a removal that fails must not keep the others
                    for cmd in delete_commands(old, self.args.iface):
                        run_local(cmd)
                self.log(f"removed {subnet} ({old.public_ip})")
            elif err:
                self.errors.append(f"{subnet}: {err}")
                self.log(f"error: {subnet}: {err}")
            else:
                self.applied[subnet] = new
                self.log(f"added {subnet} via {new.public_ip}" + (f" (was {old.public_ip})" if old else ""))
        self.write_status()

    def write_status(self) -> None:
        status = {"subnet": self.args.subnet, "vtep_mac": self.vtep_mac, "revision": self.revision,
                  "applied": {s: lease.public_ip for s, lease in sorted(self.applied.items())},
                  "errors": self.errors}
        tmp = os.path.join(self.args.dir, "status.json.tmp")
        with open(tmp, "w") as f:
            json.dump(status, f)
        os.replace(tmp, os.path.join(self.args.dir, "status.json"))

    def run(self) -> None:
        self.setup()
        prefix = f"{PREFIX}/subnets/"
        while True:  # (re)list then watch; a broken stream (etcd restarted) starts over
            try:
                kvs, self.revision = self.etcd.get_prefix(prefix)
                leases = {lease.subnet: lease for lease in (Lease.from_etcd(k, v) for k, v in kvs.items())}
                self.reconcile(leases)
                for kind, key, value in self.etcd.watch_prefix(prefix, self.revision + 1):
                    subnet = key.rsplit("/", 1)[1].replace("-", "/")
                    if kind == "DELETE":
                        leases.pop(subnet, None)
                    else:
                        leases[subnet] = Lease.from_etcd(key, value)
                    self.reconcile(leases)
            except (OSError, ValueError) as exc:
                self.log(f"etcd: {exc}; retrying")
                time.sleep(0.2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="flanneld (sdnlab)")
    ap.add_argument("--etcd", required=True, help="etcd endpoint, e.g. http://172.16.1.2:2379")
    ap.add_argument("--public-ip", required=True)
    ap.add_argument("--iface", default="eth0")
    ap.add_argument("--subnet", required=True, help="the lease this node takes")
    ap.add_argument("--dir", required=True, help="where subnet.env and status.json go")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    Agent(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
