#!/usr/bin/env bash
# Installs what sdnlab needs on Debian 12 or Ubuntu 22.04/24.04, and nothing twice:
# the OS packages it drives, and a virtualenv (.venv in the checkout) with the project.
# The Vagrant VM, CI and ./sdnlab all run this same script.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${SDNLAB_VENV:-$REPO/.venv}
PACKAGES=(openvswitch-switch mininet tcpdump tshark traceroute iputils-ping iptables ethtool iproute2 kmod etcd-server etcd-client graphviz iperf3
          docker.io busybox-static containernetworking-plugins
          util-linux python3 python3-venv python3-pip)

if [ "$(id -u)" != 0 ]; then
  echo "provision: run as root (sudo)" >&2
  exit 2
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "*** Installing OS packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The lab runs its own daemons (a dockerd, OVS, etcd per lab host); the machine-wide services these
  # packages would start are not needed, and a machine-wide dockerd would rewrite the root namespace's
  # firewall (FORWARD policy DROP): keep every service of this install from starting (policy-rc.d).
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d; exit 1; }
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
  if [[ " ${missing[*]} " == *" docker.io "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable docker.socket docker.service >/dev/null 2>&1 || true  # nor at the next boot
  fi
fi

# the system python, not a user's pyenv: the lab runs as root from sudo
PY=/usr/bin/python3
stamp="$VENV/.sdnlab-installed"
want=$(cat "$REPO/setup.cfg" "$REPO/setup.py" | sha256sum | cut -c1-16)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "*** Installing the sdnlab Python package into $VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip >/dev/null
  "$VENV/bin/pip" install -q --disable-pip-version-check -e "$REPO"
  echo "$want" > "$stamp"
fi
# `sudo lab` and `sudo pytest` run this virtualenv (a pytest already there that is not sdnlab's stays)
bash "$REPO/vagrant/link-commands.sh" "$VENV" "${SDNLAB_BIN:-/usr/local/bin}"
