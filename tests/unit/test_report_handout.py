"""Handout pictures (lab.workshop.handout): each drawn from the exercise's own lab, its fault marked where
the fault is; no two exercises with different faults share a picture."""

import itertools
import shutil
import xml.etree.ElementTree as ET

import pytest

from lab.front import cli
from lab.workshop.catalogue import CATALOGUE
from lab.workshop.handout import PLACES, injected_faults, marks

SVG = "{http://www.w3.org/2000/svg}"
RED = "#cd0000"  # Graphviz's red3


def needs_dot():
    if not shutil.which("dot"):
        pytest.skip("graphviz (dot) is not installed")


def shapes(svg_file):
    """Graphviz SVG: title -> the element's shape strokes, and its texts."""
    root = ET.parse(svg_file).getroot()
    out = {}
    for g in root.iter(f"{SVG}g"):
        title = g.find(f"{SVG}title")
        if title is None or g.get("class") not in ("node", "edge"):
            continue
        strokes = {el.get("stroke") for el in g if el.tag in (f"{SVG}polygon", f"{SVG}ellipse", f"{SVG}path")}
        out[title.text] = (strokes, " ".join(t.text or "" for t in g.iter(f"{SVG}text")))
    return out


def untitle(svg: bytes) -> bytes:
    """The picture without its title (the graph's own label, which names the exercise)."""
    root = ET.fromstring(svg)
    graph = root.find(f"{SVG}g")
    for t in graph.findall(f"{SVG}text"):
        t.text = ""
    return ET.tostring(root)


def test_every_fault_the_exercises_inject_has_a_place():
    faulted = {ex.id: injected_faults(ex) for ex in CATALOGUE.values()}
    assert sum(bool(f) for f in faulted.values()) >= 10
    assert all(name in PLACES for found in faulted.values() for name, _a in found)


def test_no_two_exercises_with_different_faults_share_a_picture(tmp_path):
    needs_dot()
    assert cli.main(["workshop", "handout", "-o", str(tmp_path)]) == 0
    pictures = {ex: (tmp_path / f"{ex}.svg").read_bytes() for ex in CATALOGUE}
    faults = {ex.id: tuple(marks(ex)) for ex in CATALOGUE.values()}
    for a, b in itertools.combinations(CATALOGUE, 2):
        if faults[a] != faults[b]:
            assert pictures[a] != pictures[b], (a, b)
    # and with the titles taken out, the faults alone still tell them apart
    untitled = {ex: untitle(pictures[ex]) for ex in CATALOGUE}
    with_faults = [ex for ex in CATALOGUE if faults[ex]]
    for a, b in itertools.combinations(with_faults, 2):
        if faults[a] != faults[b] and CATALOGUE[a].topology == CATALOGUE[b].topology:
            assert untitled[a] != untitled[b], (a, b)


@pytest.mark.parametrize("ex_id, target, words", [
    ("flow-90", "node1:br0", "table 90"),
    ("forged-tun-src", "node2:br0", "table 10"),
    ("masquerade", "node1:eth0", "MASQUERADE"),
    ("mtu", "node1:tun0", "MTU 1500"),
    ("stale-arp", "pod1", "neighbour"),
    ("node-route", "node1:eth0", "no route to pod2"),
    ("flannel-fdb", "node1:flannel.1", "FDB"),
    ("egress-node-down", "node2:eth0", "unplugged"),
    ("service-endpoints-by-label", "web", "run=web"),
    ("etcd-restore", "etcd", "lease deleted"),
])
def test_the_faults_place_is_marked(tmp_path, ex_id, target, words):
    needs_dot()
    assert cli.main(["workshop", "handout", ex_id, "-o", str(tmp_path)]) == 0
    drawn = shapes(tmp_path / f"{ex_id}.svg")
    assert RED in drawn[target][0], drawn[target]  # the faulty place itself drawn in red
    note = next(t for t in drawn if t.startswith("fault:1") and "->" not in t and "&#45;" not in t)
    assert words in drawn[note][1] and drawn[note][1].startswith("fault:")
    assert f"fault:1->{target}" in drawn  # the note points at it
    others = [t for t, (strokes, _x) in drawn.items() if RED in strokes and t not in (target, note)]
    assert others == [f"fault:1->{target}"]  # nothing else is marked


def test_a_start_to_build_is_marked_as_missing(tmp_path):
    needs_dot()
    assert cli.main(["workshop", "handout", "vxlan-by-hand", "-o", str(tmp_path)]) == 0
    drawn = shapes(tmp_path / "vxlan-by-hand.svg")
    for i, host in enumerate(("host1", "host2"), 1):
        assert RED in drawn[f"{host}:vxlan20"][0] and f"fault:{i}->{host}:vxlan20" in drawn
        assert drawn[f"fault:{i}"][1].startswith(f"missing: {host}'s vxlan20")


def test_marks_in_chinese():
    (m,) = marks(CATALOGUE["flow-90"], "zh")
    assert (m.host, m.device) == ("node1", "br0") and m.label.startswith("故障：") and "表 90" in m.label


def test_an_exercise_without_a_fault_is_drawn_unmarked(tmp_path):
    needs_dot()
    assert marks(CATALOGUE["veth-port"]) == []
    assert cli.main(["workshop", "handout", "veth-port", "-o", str(tmp_path)]) == 0
    assert not any(RED in s for s, _t in shapes(tmp_path / "veth-port.svg").values())
