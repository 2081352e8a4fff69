"""Every bad manifest of manifest_cases.py is refused as the API server would refuse it, before anything changes:
one BadInput line naming the field, through both ways in (the lab's bring-up model, `lab run openshift -f`, and
`oc create|apply -f` on a running cluster's model, which stays as it was)."""

import pytest
from manifest_cases import APPLY_TAKES, base_file, cases

from lab.errors import BadInput
from lab.planes.openshift.api import apistate
from lab.planes.openshift.oc import command as occmd

CASES = cases()


def bring_up(path: str):
    """The model `lab run openshift --plugin networkpolicy -f PATH` builds (pure: no lab)."""
    import topologies
    from lab.front.pytest_plugin import topology_args
    topology = topologies.load("openshift")
    return topology.model(topology_args(topology, plugin="networkpolicy", nodes=2, pods_per_node=1, filename=[path]))


def model_state(c) -> tuple:
    return (apistate.snapshot(c), list(c.hostsubnets), list(c.netnamespaces), list(c.policies),
            list(c.egress_policies), list(c.namespaces))


def test_there_are_at_least_100_cases_and_the_base_documents_are_accepted(tmp_path):
    assert len(CASES) >= 100 and len({case_id for case_id, _t, _w in CASES}) == len(CASES)
    path = tmp_path / "base.yaml"
    path.write_bytes(base_file())
    c = bring_up(str(path))
    assert {p.name for p in c.pods} >= {"a", "web-1", "web-2"} and {s.name for s in c.services} == {"s", "np"}
    assert [p.name for p in c.policies] == ["p"] and [p.name for p in c.egress_policies] == ["e"]
    assert c.netnamespace("p1").egress_ips == ("172.16.1.100",)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    out = occmd.run(bring_up(str(empty)), f"apply -f {path}")
    assert out.cluster is not None and any(p.name == "a" for p in out.cluster.pods)


def _one_line(exc: pytest.ExceptionInfo, words: str, path) -> str:
    text = str(exc.value)
    assert "\n" not in text and "\r" not in text, text
    assert words in text, f"{words!r} not in {text!r}"
    return text


@pytest.mark.parametrize("case_id, text, words", CASES, ids=[c[0] for c in CASES])
def test_refused_at_bring_up(tmp_path, case_id, text, words):
    path = tmp_path / "bad.yaml"
    path.write_bytes(text)
    with pytest.raises(BadInput) as exc:
        bring_up(str(path))
    assert _one_line(exc, words, path).startswith(f"{path}: ")


@pytest.mark.parametrize("case_id, text, words", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("verb", ["apply", "create"])
def test_refused_by_oc_on_a_running_cluster_which_stays_as_it_was(tmp_path, case_id, text, words, verb):
    if verb == "apply" and case_id in APPLY_TAKES:
        text += b"---\napiVersion: v1\nkind: Frob\n"  # the same object applied twice is no refusal: add one
        words = "unknown kind 'Frob'"
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    cluster = bring_up(str(empty))
    before = model_state(cluster)
    path = tmp_path / "bad.yaml"
    path.write_bytes(text)
    with pytest.raises(BadInput) as exc:
        occmd.run(cluster, f"{verb} -f {path}")
    _one_line(exc, words, path)
    assert model_state(cluster) == before
