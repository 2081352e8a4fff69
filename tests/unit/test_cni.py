"""The flannel CNI plugin's delegate, as containernetworking/plugins v0.8.5 builds it from subnet.env."""

import pytest

from lab.daemons import cni

SUBNET_ENV = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n"


def test_the_delegate_is_byte_for_byte_the_flannel_plugins():
    assert cni.conf_text(cni.flannel_delegate(SUBNET_ENV)) == (
        '{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":false,"ipam":{"routes":[{"dst":"10.244.0.0/16"}],'
        '"subnet":"10.244.1.0/24","type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1450,'
        '"name":"cbr0","type":"bridge"}')


def test_without_ip_masq_in_flanneld_the_bridge_masquerades_and_set_values_stay():
    env = SUBNET_ENV.replace("FLANNEL_IPMASQ=true", "FLANNEL_IPMASQ=false")
    conf = cni.flannel_delegate(env, delegate={"mtu": 1400, "type": "ptp"})
    assert conf["ipMasq"] is True and conf["mtu"] == 1400 and conf["type"] == "ptp"
    assert "isGateway" not in conf  # only bridge gets it


def test_a_subnet_env_without_a_field_is_refused():
    with pytest.raises(ValueError, match="FLANNEL_MTU"):
        cni.flannel_delegate(SUBNET_ENV.replace("FLANNEL_MTU=1450\n", ""))


def test_a_plugin_runs_with_the_runtimes_environment_and_its_config_on_stdin():
    line = cni.plugin_script("bridge", "/var/lib/cni/flannel/abc", "ADD", "abc", "/proc/42/ns/net", "pod1")
    assert line.endswith(" /usr/lib/cni/bridge < /var/lib/cni/flannel/abc")
    for part in ("CNI_COMMAND=ADD", "CNI_CONTAINERID=abc", "CNI_NETNS=/proc/42/ns/net", "CNI_IFNAME=eth0",
                 "CNI_PATH=/usr/lib/cni",
                 "CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod1;K8S_POD_INFRA_CONTAINER_ID=abc'"):
        assert part in line
