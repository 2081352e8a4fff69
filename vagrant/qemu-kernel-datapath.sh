#!/usr/bin/env bash
# Runs the test suite on Open vSwitch's *kernel* datapath inside a throwaway qemu VM (software
# emulation, no network), for machines whose own kernel has no openvswitch module. Everything comes
# from Debian's and PyPI's registries: a debootstrapped bookworm with Debian's cloud kernel, from the
# Debian mirror this machine's apt is configured with.
#
#   sudo vagrant/qemu-kernel-datapath.sh [pytest args, e.g. tests/10-openshift]
#
# WORK (default /var/tmp/sdnlab-vm) keeps the root filesystem between runs; delete it to rebuild.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-/var/tmp/sdnlab-vm}
ROOT=$WORK/root
PACKAGES=python3,python3-venv,openvswitch-switch,mininet,iproute2,iptables,ethtool,tcpdump,traceroute,\
iputils-ping,kmod,etcd-server,etcd-client,util-linux,procps,linux-image-cloud-amd64,initramfs-tools,\
docker.io,busybox-static,containernetworking-plugins,wget,iperf3,tshark
# packages added after the first images were built: the Docker folder's (docker.io, busybox-static for the
# locally built images, the CNI bridge plugin, wget) and the lab command's (iperf3 for `lab link`'s rate, tshark
# for `lab capture`'s files, graphviz for pictures)
LATE_PACKAGES="docker.io busybox-static containernetworking-plugins wget iperf3 tshark graphviz"

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive
for pkg in debootstrap qemu-system-x86 e2fsprogs; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="${missing:-} $pkg"
done
[ -z "${missing:-}" ] || apt-get install -y -qq --no-install-recommends $missing >/dev/null

# The first URI this machine's apt uses for Debian bookworm main: one-line `deb` entries in
# sources.list(.d/*.list) and deb822 stanzas in sources.list.d/*.sources, in apt's own file order.
debian_mirror() {
  local f uri etc=${1:-/etc/apt}
  for f in "$etc"/sources.list "$etc"/sources.list.d/*.list "$etc"/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    case "$f" in
      *.sources) uri=$(awk '
        function flush() {
          if (types ~ /(^| )deb( |$)/ && suites ~ /(^| )bookworm( |$)/ && comps ~ /(^| )main( |$)/ && enabled != "no" && uris != "") {
            split(uris, u, " "); print u[1]; found = 1; exit
          }
          types = uris = suites = comps = enabled = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
          if (key == "types") types = $0; else if (key == "uris") uris = $0
          else if (key == "suites") suites = $0; else if (key == "components") comps = $0
          else if (key == "enabled") enabled = tolower($0) }
        END { if (!found) flush() }' "$f") ;;
      *) uri=$(awk '
        { sub(/#.*/, "") }
        $1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
          uri = $i; suite = $(i + 1)
          if (suite != "bookworm") next
          for (j = i + 2; j <= NF; j++) if ($j == "main") { print uri; exit } }' "$f") ;;
    esac
    [ -z "$uri" ] || { echo "$uri"; return 0; }
  done
}

if [ ! -e "$ROOT/.sdnlab-ready" ]; then
  MIRROR=$(debian_mirror)
  [ -n "$MIRROR" ] || { echo "no Debian bookworm main source in /etc/apt/sources.list or /etc/apt/sources.list.d/ (*.list, *.sources): add one so debootstrap knows a mirror" >&2; exit 2; }
  echo "*** debootstrap bookworm from $MIRROR into $ROOT (once)"
  rm -rf "$ROOT"; mkdir -p "$WORK"
  debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log"
  # wheels fetched by the host's pip (its index settings), installed offline in the guest root
  python3 -m pip download -q -d "$ROOT/wheels" mininet==2.3.0.dev6 pyroute2 scapy pytest setuptools wheel
  chroot "$ROOT" python3 -m venv /opt/venv
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOT" /opt/venv/bin/pip install -q --no-index \
    --find-links /wheels mininet==2.3.0.dev6 pyroute2 scapy pytest --upgrade setuptools wheel
  touch "$ROOT/.sdnlab-ready"
fi
# PyYAML (manifests, setup.cfg) also in a root built before the project needed it
if ! chroot "$ROOT" /opt/venv/bin/python -c "import yaml" 2>/dev/null; then
  python3 -m pip download -q -d "$ROOT/wheels" PyYAML
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOT" /opt/venv/bin/pip install -q --no-index --find-links /wheels PyYAML
fi

# the late packages also in a root built before them (no service is started in the chroot)
if ! chroot "$ROOT" sh -c 'command -v dockerd && command -v busybox && command -v wget && command -v iperf3 && command -v tshark && command -v dot && [ -x /usr/lib/cni/bridge ]' >/dev/null 2>&1; then
  printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"; chmod +x "$ROOT/usr/sbin/policy-rc.d"
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive chroot "$ROOT" apt-get update -qq
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive chroot "$ROOT" \
    apt-get install -y -qq --no-install-recommends $LATE_PACKAGES >/dev/null
  rm -f "$ROOT/usr/sbin/policy-rc.d"
fi
# the Docker SDK (Docker pods) in the venv
if ! chroot "$ROOT" /opt/venv/bin/python -c "import docker" 2>/dev/null; then
  python3 -m pip download -q -d "$ROOT/wheels" docker
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOT" /opt/venv/bin/pip install -q --no-index --find-links /wheels docker
fi
# pytest-timeout (setup.cfg's per-test ceiling) and pytest-xdist (two workers, as on the host) also in a root
# built before the project needed them
for mod in pytest_timeout:pytest-timeout xdist:pytest-xdist; do
  if ! chroot "$ROOT" /opt/venv/bin/python -c "import ${mod%%:*}" 2>/dev/null; then
    python3 -m pip download -q -d "$ROOT/wheels" "${mod#*:}"
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOT" /opt/venv/bin/pip install -q --no-index --find-links /wheels "${mod#*:}"
  fi
done

# pyproject.toml builds with setuptools>=61 and wheel; the venv's bundled setuptools is older
if ! chroot "$ROOT" /opt/venv/bin/python -c "import wheel, setuptools, sys; sys.exit(int(setuptools.__version__.split('.')[0]) < 61)" 2>/dev/null; then
  python3 -m pip download -q -d "$ROOT/wheels" "setuptools>=61" wheel
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOT" /opt/venv/bin/pip install -q --no-index --find-links /wheels --upgrade "setuptools>=61" wheel
fi

echo "*** copying the project"
rm -rf "$ROOT/sdnlab"; mkdir -p "$ROOT/sdnlab"
(cd "$REPO" && git ls-files -z | xargs -0 cp --parents -t "$ROOT/sdnlab")
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOT" /opt/venv/bin/pip install -q --no-deps \
  --no-build-isolation -e /sdnlab >/dev/null

args=${*:-tests}
# test files spread over two pytest workers (the VM has two vCPUs, qemu runs one host thread for each)
workers=${SDNLAB_VM_WORKERS:-2}
[ "$workers" -gt 1 ] 2>/dev/null && xdist="-n $workers --dist loadfile" || xdist=
cat > "$ROOT/sdnlab-init" <<INIT
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /run /tmp; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp
mount -o remount,rw /
ip link set lo up
mount -t cgroup2 cgroup2 /sys/fs/cgroup  # dockerd needs a cgroup hierarchy (no systemd mounts one here)
modprobe overlay  # dockerd's overlay2 storage
modprobe openvswitch && echo "openvswitch module loaded"
cd /sdnlab && SDNLAB_REQUIRE_ALL=1 SDNLAB_EXPECT_DATAPATH=system PATH=/opt/venv/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  pytest -p no:cacheprovider -q $xdist $args
echo "SDNLAB-VM-RESULT rc=\$?"
echo o > /proc/sysrq-trigger
INIT
chmod +x "$ROOT/sdnlab-init"

echo "*** building the disk image"
rm -f "$WORK/disk.img"
mkfs.ext4 -q -F -d "$ROOT" "$WORK/disk.img" 4G
kernel=$(ls "$ROOT"/boot/vmlinuz-* | tail -1); initrd=$(ls "$ROOT"/boot/initrd.img-* | tail -1)

echo "*** booting (software emulation; this takes minutes)"
timeout "${SDNLAB_VM_TIMEOUT:-3000}" qemu-system-x86_64 -accel tcg,thread=multi -m 4096 -smp 2 -nographic -no-reboot -net none \
  -kernel "$kernel" -initrd "$initrd" -append "root=/dev/vda rw console=ttyS0 init=/sdnlab-init panic=-1" \
  -drive file="$WORK/disk.img",format=raw,if=virtio | tee "$WORK/console.log"
grep -q "SDNLAB-VM-RESULT rc=0" "$WORK/console.log"
