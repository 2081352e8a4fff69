"""sdnlab's flanneld: takes a lease in etcd, writes subnet.env, and follows the other nodes' leases.

Runs inside a node's namespace (`python -m lab.flannel.agent ...`, started by the lab). It keeps
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

from lab.etcd import Client
from lab.flannel.model import PREFIX, FlannelConfig, lease_key, lease_value
from lab.flannel.render import VXLAN_DEV, Lease, add_commands, delete_commands, masquerade_rules, subnet_env


def sh(cmd: str) -> str:
    """Run a command; return its error text ('' on success)."""
    r = subprocess.run(cmd.split(), capture_output=True, text=True)
    return "" if r.returncode == 0 else f"{cmd}: {(r.stderr or r.stdout).strip()}"


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
        if backend == "vxlan":
            vtep_ip = self.args.subnet.split("/")[0]
            for cmd in (f"ip link add {VXLAN_DEV} type vxlan id {self.config.vni} local {self.args.public_ip} "
                        f"dev {self.args.iface} dstport {self.config.port} nolearning",
                        f"ip link set {VXLAN_DEV} mtu {self.config.mtu}",
                        f"ip addr add {vtep_ip}/32 dev {VXLAN_DEV}",
                        f"ip link set {VXLAN_DEV} up"):
                err = sh(cmd)
                if err:
                    raise SystemExit(err)
            with open(f"/sys/class/net/{VXLAN_DEV}/address") as f:
                self.vtep_mac = f.read().strip()
        rules = masquerade_rules(self.config.network, self.args.subnet)
        r = subprocess.run(["iptables-restore", "--noflush"], input=rules, text=True, capture_output=True)
        if r.returncode:
            raise SystemExit(f"iptables-restore: {r.stderr.strip()}")
        self.etcd.put(lease_key(self.args.subnet),
                      lease_value(self.args.public_ip, backend, self.config.vni, self.vtep_mac))
        with open(os.path.join(self.args.dir, "subnet.env"), "w") as f:
            f.write(subnet_env(self.config, self.args.subnet))
        self.log(f"lease {lease_key(self.args.subnet)} taken, subnet.env written")

    def reconcile(self, leases: Dict[str, Lease]) -> None:
        want = {s: lease for s, lease in leases.items() if s != self.args.subnet}
        for subnet, old in list(self.applied.items()):
            if want.get(subnet) != old:
                for cmd in delete_commands(old, self.args.iface):
                    sh(cmd)
                del self.applied[subnet]
                self.log(f"removed {subnet} ({old.public_ip})")
        for subnet, lease in want.items():
            if subnet in self.applied:
                continue
            errs = [e for e in (sh(c) for c in add_commands(lease, self.args.iface)) if e]
            if errs:
                self.errors.extend(errs)
                self.log("error: " + "; ".join(errs))
            else:
                self.applied[subnet] = lease
                self.log(f"added {subnet} via {lease.public_ip}")
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
