"""`lab capture`: several interfaces of a running lab into one pcapng, read back by scapy and by Debian's
tshark. pod1 (node1) pings pod3 (node2) with a marker pattern; the same VXLAN packet is found on node1's
and node2's underlay eth0, with the project's VNI and the inner ICMP. One multitenant lab serves the module
(pod1 and pod3 are both in project p1, whose NETID is not 0) on a VXLAN port of its own (not 4789, which
tshark decodes unasked, nor scapy's 4790/8472): `--decode-vxlan` names it, and the readers are told."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from lab.front.pytest_plugin import assert_nothing_left, lab_process_snapshot, require_root, start_lab
from lab.observe.probe import read_line

pytestmark = pytest.mark.root

MARKER = "5dc0ffee5dc0ffee"  # ping -p: the ICMP payload repeats it
MARKER_BYTES = bytes.fromhex(MARKER)
LAB = [sys.executable, "-m", "lab", "capture"]
DEADLINE_S = 20.0
PORT = 4799
DECODE = ["-d", f"udp.port=={PORT},vxlan"]  # what `lab capture --decode-vxlan` tells tshark users


@pytest.fixture(scope="module")
def lab():
    require_root()
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed (apt-get install -y tshark; vagrant/provision.sh installs it)")
    started = start_lab("openshift", nodes=2, pods_per_node=2, plugin="multitenant", vxlan_port=PORT)
    try:
        yield started
    finally:
        before = lab_process_snapshot(started.name)
        started.net.stop()
        assert_nothing_left(started.name, before)


def start_capture(lab, *args, **popen):
    """`lab capture --name LAB ARGS` started, returned once it says it listens (proc.said: its lines before)."""
    proc = subprocess.Popen(LAB + ["--name", lab.name, *args], stderr=subprocess.PIPE, **popen)
    proc.said = []
    deadline = time.monotonic() + DEADLINE_S
    try:
        while True:
            line = read_line(proc.stderr, timeout=max(0.0, deadline - time.monotonic())).decode()
            if line.startswith("lab capture: listening on"):
                return proc
            proc.said.append(line)
    except (TimeoutError, EOFError):
        proc.kill()
        proc.wait(timeout=5)
        raise


def finish(proc, timeout=DEADLINE_S):
    try:
        _out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=5)
        raise
    return proc.returncode, (err or b"").decode()


def ping_marked(lab, count=3):
    pod3 = lab.model.pod("pod3").ip
    out = lab.net["pod1"].cmd(f"ping -c {count} -i 0.2 -W 2 -p {MARKER} {pod3}")
    assert f"{count} received" in out, out


def tunnelled_pings(path):
    """scapy's reading: (interface name, VNI, inner src, inner dst, ICMP type, id, seq) of every VXLAN frame
    holding the marker."""
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.l2 import Ether  # noqa: F401 (registers Ethernet for link type 1)
    from scapy.layers.vxlan import VXLAN
    from scapy.packet import bind_layers
    from scapy.utils import PcapNgReader
    bind_layers(UDP, VXLAN, dport=PORT)
    found = []
    with PcapNgReader(path) as reader:
        for pkt in reader:
            if VXLAN in pkt and ICMP in pkt[VXLAN] and MARKER_BYTES in bytes(pkt[VXLAN][ICMP].payload):
                inner = pkt[VXLAN]
                found.append((pkt.sniffed_on, inner.vni, inner[IP].src, inner[IP].dst, inner[ICMP].type,
                              inner[ICMP].id, inner[ICMP].seq))
    return found


def tshark_fields(source, *fields, display="", stdin=None):
    cmd = ["tshark", "-r", source, *DECODE, "-T", "fields", "-E", "separator=/t"] + (["-Y", display] if display else [])
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, stdin=stdin, capture_output=True, text=True, timeout=DEADLINE_S)
    assert r.returncode == 0, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines() if line.strip()]


def test_one_pcapng_holds_the_same_vxlan_packet_on_both_sides_of_the_tunnel(lab, tmp_path):
    path = str(tmp_path / "tunnel.pcapng")
    proc = start_capture(lab, "node1:eth0", "node2:eth0", "-w", path, "--decode-vxlan")
    ping_marked(lab)
    proc.send_signal(signal.SIGINT)  # Ctrl-C: the capture ends, the file whole
    code, err = finish(proc)
    assert code == 0, err
    assert any(" ".join(DECODE) in line for line in proc.said), proc.said  # the lab's port, read from its switches
    assert os.listdir(tmp_path) == ["tunnel.pcapng"], os.listdir(tmp_path)  # no temporary file left over
    vnid = lab.model.netids[lab.model.pod("pod1").namespace]
    assert vnid != 0
    pod1, pod3 = lab.model.pod("pod1").ip, lab.model.pod("pod3").ip

    seen = tunnelled_pings(path)
    for name in ("node1:eth0", "node2:eth0"):
        requests = {(v, s, d, i, q) for n, v, s, d, t, i, q in seen if n == name and t == 8}
        assert {(vnid, pod1, pod3)} == {r[:3] for r in requests}, seen
    left = {(i, q) for n, v, s, d, t, i, q in seen if n == "node1:eth0" and t == 8}
    right = {(i, q) for n, v, s, d, t, i, q in seen if n == "node2:eth0" and t == 8}
    assert len(left & right) >= 3, seen  # the same echo requests (id, seq) left node1 and reached node2

    rows = tshark_fields(path, "frame.interface_name", "vxlan.vni", "ip.src", "ip.dst", "icmp.type", "icmp.seq",
                         "data.data", display="vxlan && icmp.type == 8")
    marked = [r for r in rows if MARKER in r[6].replace(":", "")]
    for name in ("node1:eth0", "node2:eth0"):
        mine = [r for r in marked if r[0] == name]
        assert len(mine) >= 3, rows
        assert all(r[1] == str(vnid) and r[2].split(",")[1] == pod1 and r[3].split(",")[1] == pod3 for r in mine), rows
    assert {r[5] for r in marked if r[0] == "node1:eth0"} == {r[5] for r in marked if r[0] == "node2:eth0"}
    # interleaved by time: each request leaves node1 before it reaches node2, and the file is in time order
    times = [float(r[0]) for r in tshark_fields(path, "frame.time_epoch")]
    assert times == sorted(times)


def test_minus_w_streams_each_packet_as_it_arrives_into_tshark(lab):
    proc = start_capture(lab, "node1:eth0", "node2:eth0", "--filter", "icmp or udp", "-w", "-",
                         stdout=subprocess.PIPE)
    try:
        ping_marked(lab, count=1)
        # while the capture still runs, its stdout already holds a whole Enhanced Packet Block (type 6)
        data, deadline = b"", time.monotonic() + DEADLINE_S
        while not has_packet_block(data):
            assert time.monotonic() < deadline, f"no packet block on stdout within {DEADLINE_S}s: {data[:64]!r}"
            data += os.read(proc.stdout.fileno(), 65536)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == 0, err
    r = subprocess.run(["tshark", "-r", "-", *DECODE, "-T", "fields", "-e", "frame.interface_name", "-e", "vxlan.vni"],
                       input=data + rest, capture_output=True, timeout=DEADLINE_S)
    assert r.returncode == 0, r.stderr
    names = {line.split(b"\t")[0] for line in r.stdout.splitlines()}
    assert {b"node1:eth0", b"node2:eth0"} <= names, r.stdout


def has_packet_block(data: bytes) -> bool:
    """The pcapng bytes hold a whole Enhanced Packet Block (blocks walked by their length fields)."""
    import struct
    at = 0
    while at + 8 <= len(data):
        kind, length = struct.unpack_from("=II", data, at)
        if at + length > len(data):
            return False
        if kind == 6:
            return True
        at += length
    return False


def test_minus_w_piped_into_tshark_reading_stdin(lab):
    capture = start_capture(lab, "node1:eth0", "node2:eth0", "--filter", "udp", "--count", "4", "-w", "-",
                            stdout=subprocess.PIPE)
    tshark = subprocess.Popen(["tshark", "-r", "-", *DECODE, "-T", "fields", "-e", "frame.interface_name", "-e", "vxlan.vni",
                               "-e", "icmp.type"], stdin=capture.stdout, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    capture.stdout.close()  # tshark holds the pipe's read end now
    ping_marked(lab, count=2)
    code, err = finish(capture)
    assert code == 0, err
    out, _ = tshark.communicate(timeout=DEADLINE_S)
    rows = [line.split("\t") for line in out.decode().splitlines()]
    assert len(rows) == 4, rows
    vnid = str(lab.model.netids["p1"])
    assert {r[0] for r in rows} == {"node1:eth0", "node2:eth0"} and all(r[1] == vnid for r in rows), rows


def test_minus_w_feeds_a_live_capture_pipe_as_wireshark_k_i_minus_reads_it(lab):
    """`tshark -i -` reads a capture pipe as `wireshark -k -i -` does (dumpcap's pipe reader): a packet is
    shown while the capture still runs."""
    capture = start_capture(lab, "node1:eth0", "node2:eth0", "--filter", "udp", "-w", "-", stdout=subprocess.PIPE)
    tshark = subprocess.Popen(["tshark", "-i", "-", "-l", *DECODE, "-T", "fields", "-e", "frame.interface_name",
                               "-e", "vxlan.vni"], stdin=capture.stdout, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    capture.stdout.close()
    try:
        ping_marked(lab, count=1)
        name, vni = read_line(tshark.stdout, timeout=DEADLINE_S).decode().split()
        assert capture.poll() is None  # shown live, not at the end
        assert name in ("node1:eth0", "node2:eth0") and vni == str(lab.model.netids["p1"])
    finally:
        capture.send_signal(signal.SIGINT)
        code, err = finish(capture)
        tshark.communicate(timeout=DEADLINE_S)
    assert code == 0, err


def test_cli_verb_writes_the_same_file_with_lines_for_each_interface(lab, tmp_path):
    from lab.front.mncli import generic_verbs, make_cli
    path = str(tmp_path / "verb.pcapng")
    script = tmp_path / "capture.mn"
    script.write_text(f"capture pod1:eth0 node2:eth0 --filter 'icmp or udp' --count 4 -w {path}\n")
    pod3 = lab.model.pod("pod3").ip
    pinger = lab.net["pod1"].popen(["ping", "-c", "30", "-i", "0.2", "-p", MARKER, pod3])
    try:
        with open(os.devnull) as stdin:  # the lab's own CLI (its generic verbs), running the script
            cli = make_cli(generic_verbs(lab.net, lambda: []))(lab.net, script=str(script), stdin=stdin)
        assert cli.failures == 0  # the line ran without an error
    finally:
        pinger.kill()
        pinger.wait(timeout=5)
    assert sorted(os.listdir(tmp_path)) == ["capture.mn", "verb.pcapng"]
    rows = tshark_fields(path, "frame.interface_name", "vxlan.vni", "icmp.type")
    assert len(rows) == 4 and {r[0] for r in rows} <= {"pod1:eth0", "node2:eth0"}, rows
    assert any(r[0] == "pod1:eth0" and r[1] == "" for r in rows), rows  # pod1 sees the plain ICMP


@pytest.mark.parametrize("decode", [True, False])
def test_lines_without_w_name_the_interface_and_decode_vxlan_when_asked(lab, decode):
    proc = start_capture(lab, "node1:eth0", "pod1:eth0", "--filter", "icmp or udp", "--count", "4",
                         *(["--decode-vxlan"] if decode else []), stdout=subprocess.PIPE)
    ping_marked(lab, count=2)
    try:
        out, err = proc.communicate(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0, err
    lines = out.decode().splitlines()
    assert len(lines) == 4, lines
    assert any(" pod1:eth0 " in ln and "VXLAN" not in ln and "ICMP" in ln and "echo-request" in ln for ln in lines), lines
    tunnel = [ln for ln in lines if " node1:eth0 " in ln]
    assert tunnel, lines
    if decode:  # the lab's port (4799, which scapy does not know) decoded: the inner ping
        assert any("VXLAN" in ln and "echo-request" in ln for ln in tunnel), lines
    else:
        assert all(f":{PORT}" in ln and "VXLAN" not in ln for ln in tunnel), lines


@pytest.mark.parametrize("args, words", [
    (["nodeX:eth0"], "no host 'nodeX'"),
    (["node1:eth9"], "no interface 'eth9'"),
    (["node1:eth0", "--filter", "udp portx 4789"], "--filter"),
    (["node1:eth0", "-w", "/proc/capture.pcapng"], "/proc"),
    (["node1:eth0", "-w", "{tmp}/missing/capture.pcapng"], "does not exist"),
])
def test_bad_input_is_one_line_exit_2_and_no_file(lab, tmp_path, args, words):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    written = str(tmp_path / "c.pcapng")
    r = subprocess.run(LAB + ["--name", lab.name, *args] + ([] if "-w" in args else ["-w", written]),
                       capture_output=True, text=True, timeout=DEADLINE_S)
    assert r.returncode == 2, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lab: error:") and words in lines[0], r.stderr
    assert os.listdir(tmp_path) == []
