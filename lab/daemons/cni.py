"""The real CNI plugins (Debian's containernetworking-plugins in /usr/lib/cni), invoked as a runtime
invokes them, and the delegate configuration the flannel CNI meta-plugin builds from subnet.env
(containernetworking/plugins v0.8.5 plugins/meta/flannel: Debian 12 ships no flannel plugin, so the lab
plays its part and hands the result to `bridge`, which makes cni0 and the pod's veth)."""

from __future__ import annotations

import ipaddress
import json
import shlex
from typing import Dict, Optional

PLUGIN_DIR = "/usr/lib/cni"
PACKAGES = {f"{PLUGIN_DIR}/bridge": "containernetworking-plugins"}
NETWORK = "cbr0"  # kube-flannel.yml's network name
BRIDGE = "cni0"  # the bridge plugin's bridge when the configuration names none
CNI_VERSION = "0.3.1"
DATA_DIR = "/var/lib/cni"  # host-local's leases (networks/cbr0) and flannel's saved delegates (flannel/)
FLANNEL_DELEGATE = {"hairpinMode": True, "isDefaultGateway": True}  # kube-flannel.yml's cni-conf.json
LOOPBACK = {"cniVersion": "0.2.0", "name": "cni-loopback", "type": "loopback"}  # dockershim's, for lo


def parse_subnet_env(text: str) -> Dict[str, str]:
    """FLANNEL_NETWORK, FLANNEL_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ from flanneld's subnet.env."""
    env = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key:
            env[key] = value
    return env


def flannel_delegate(subnet_env: str, network: str = NETWORK, cni_version: str = CNI_VERSION,
                     delegate: Optional[dict] = None) -> dict:
    """What the flannel plugin passes to its delegate: the conflist's delegate plus name, type=bridge,
    ipMasq=!FLANNEL_IPMASQ, mtu, isGateway, cniVersion and a host-local ipam for the lease."""
    env = parse_subnet_env(subnet_env)
    for key in ("FLANNEL_NETWORK", "FLANNEL_SUBNET", "FLANNEL_MTU", "FLANNEL_IPMASQ"):
        if key not in env:
            raise ValueError(f"subnet.env has no {key}")
    conf = dict(FLANNEL_DELEGATE if delegate is None else delegate)
    conf["name"] = network
    conf.setdefault("type", "bridge")
    conf.setdefault("ipMasq", env["FLANNEL_IPMASQ"] != "true")
    conf.setdefault("mtu", int(env["FLANNEL_MTU"]))
    if conf["type"] == "bridge":
        conf.setdefault("isGateway", True)
    conf["cniVersion"] = cni_version
    subnet = ipaddress.ip_interface(env["FLANNEL_SUBNET"]).network
    conf["ipam"] = {"type": "host-local", "subnet": str(subnet), "routes": [{"dst": env["FLANNEL_NETWORK"]}]}
    return conf


def conf_text(conf: dict) -> str:
    """As Go's json.Marshal of a map writes it: keys sorted, no spaces."""
    return json.dumps(conf, sort_keys=True, separators=(",", ":"))


def plugin_script(plugin: str, conf_path: str, command: str, container_id: str, netns: str,
                  pod: str, namespace: str = "default", ifname: str = "eth0") -> str:
    """A shell line running one plugin as the runtime does (environment + config on stdin)."""
    args = f"IgnoreUnknown=1;K8S_POD_NAMESPACE={namespace};K8S_POD_NAME={pod};K8S_POD_INFRA_CONTAINER_ID={container_id}"
    env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container_id, "CNI_NETNS": netns, "CNI_IFNAME": ifname,
           "CNI_PATH": PLUGIN_DIR, "CNI_ARGS": args}
    return (" ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
            + f" {PLUGIN_DIR}/{plugin} < {shlex.quote(conf_path)}")
