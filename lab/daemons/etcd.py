"""A real etcd (Debian's etcd-server) inside a lab host, and a tiny v3 client for agents.

The server gets a private data directory and pidfile under the lab's run directory; the client
speaks etcd's v3 JSON gateway with the standard library only, so agents need no extra package.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.request
from typing import Dict, Iterator, Tuple

CLIENT_PORT = 2379
PEER_PORT = 2380
PACKAGES = {"etcd": "etcd-server", "etcdctl": "etcd-client"}


def endpoint(ip: str) -> str:
    return f"http://{ip}:{CLIENT_PORT}"


def server_args(name: str, ip: str, data_dir: str) -> str:
    peer = f"http://{ip}:{PEER_PORT}"
    return (f"--name {name} --data-dir {data_dir} --listen-client-urls {endpoint(ip)},http://127.0.0.1:{CLIENT_PORT} "
            f"--advertise-client-urls {endpoint(ip)} --listen-peer-urls {peer} --initial-advertise-peer-urls {peer} "
            f"--initial-cluster {name}={peer} --initial-cluster-state new")


def start_script(name: str, ip: str, run_dir: str, data_dir: str = "") -> str:
    """Start etcd in the background of the host's shell; pidfile and log in run_dir; wait until healthy."""
    data_dir = data_dir or os.path.join(run_dir, "data")
    return f"""mkdir -p {run_dir}
etcd {server_args(name, ip, data_dir)} > {run_dir}/etcd.log 2>&1 &
echo $! > {run_dir}/etcd.pid
healthy=
for i in $(seq 200); do
  if etcdctl --endpoints {endpoint(ip)} endpoint health >/dev/null 2>&1; then healthy=1; break; fi
  kill -0 $(cat {run_dir}/etcd.pid) 2>/dev/null || {{ tail -3 {run_dir}/etcd.log; exit 1; }}
  sleep 0.05
done
[ -n "$healthy" ] || {{ echo "etcd did not become healthy"; tail -3 {run_dir}/etcd.log; exit 1; }}
"""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(text: str) -> str:
    return base64.b64decode(text).decode()


def prefix_end(prefix: str) -> str:
    """The range end that covers every key starting with prefix."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class Client:
    """etcd v3 over its JSON gateway: get a prefix, put, delete, watch."""

    def __init__(self, url: str, timeout: float = 5.0):
        self.url, self.timeout = url.rstrip("/"), timeout

    def _post(self, path: str, body: dict, timeout=None):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        return urllib.request.urlopen(req, timeout=timeout or self.timeout)

    def get_prefix(self, prefix: str) -> Tuple[Dict[str, str], int]:
        with self._post("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix))}) as r:
            reply = json.load(r)
        kvs = {_unb64(kv["key"]): _unb64(kv.get("value", "")) for kv in reply.get("kvs", [])}
        return kvs, int(reply["header"]["revision"])

    def get(self, key: str):
        with self._post("/v3/kv/range", {"key": _b64(key)}) as r:
            kvs = json.load(r).get("kvs", [])
        return _unb64(kvs[0].get("value", "")) if kvs else None

    def put(self, key: str, value: str) -> None:
        self._post("/v3/kv/put", {"key": _b64(key), "value": _b64(value)}).close()

    def delete(self, key: str) -> None:
        self._post("/v3/kv/deleterange", {"key": _b64(key)}).close()

    def watch_prefix(self, prefix: str, start_revision: int) -> Iterator[Tuple[str, str, str]]:
        """Yield (PUT|DELETE, key, value) for changes from start_revision on, until the stream ends."""
        body = {"create_request": {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix)),
                                   "start_revision": start_revision}}
        with self._post("/v3/watch", body, timeout=3600) as stream:
            for line in stream:
                result = json.loads(line).get("result", {})
                for ev in result.get("events", []):
                    kv = ev["kv"]
                    yield ev.get("type", "PUT"), _unb64(kv["key"]), _unb64(kv.get("value", ""))


def restore_script(name: str, ip: str, run_dir: str, snapshot: str, data_dir: str) -> str:
    """Stop the lab's etcd (by its pidfile), restore `snapshot` into data_dir, start it on that."""
    peer = f"http://{ip}:{PEER_PORT}"
    return f"""pid=$(cat {run_dir}/etcd.pid)
kill $pid; while kill -0 $pid 2>/dev/null; do sleep 0.05; done
ETCDCTL_API=3 etcdctl snapshot restore {snapshot} --data-dir {data_dir} --name {name} \\
  --initial-cluster {name}={peer} --initial-advertise-peer-urls {peer} > {run_dir}/restore.log 2>&1
""" + start_script(name, ip, run_dir, data_dir)
