"""The generated reference (docs/gen_reference.py) holds everything the code knows: every `lab` command and
option, every topology's `lab run` options, every CLI verb with its help text, every fault, every exercise.
Adding one to the code without it showing in the docs cannot happen: these tests read the code's own tables."""

import os
import textwrap

import pytest
from docs_modules import load

import topologies
from lab import run
from lab.front import cli
from lab.front.faults import every_fault
from lab.workshop import command as workshop_command
from lab.workshop.catalogue import CATALOGUE

gen = load("gen_reference")


@pytest.fixture(scope="module")
def pages():
    return gen.pages()


def test_every_lab_command_and_workshop_verb_has_a_section(pages):
    text = pages["commands.md"]
    for name in cli.COMMANDS:
        assert f"## `lab {name}`" in text, name
    for verb in workshop_command.VERBS:
        assert f"### `lab workshop {verb}`" in text, verb


def test_every_topology_option_is_listed_with_its_help(pages):
    text = pages["topologies.md"]
    for name in topologies.names():
        section = text.split(f"## `{name}`\n", 1)[1].split("\n## ", 1)[0]
        for action in run.run_parser(topologies.load(name))._actions:
            if "-h" in action.option_strings:
                continue
            for spelling in action.option_strings:
                assert f"`{spelling}" in section or f", {spelling}" in section, (name, spelling)
            if action.help and "%(" not in action.help:
                assert action.help in section, (name, action.help)


def test_defaults_are_a_users_not_the_builders(pages, monkeypatch):
    monkeypatch.setenv("SDNLAB_NAME", "someone")
    assert "someone" not in "".join(gen.pages().values())


def code_verbs():
    """Every CLI verb, from the code itself (not from the generator): every lab's, each topology's, a workshop's."""
    import types

    from lab.front.mncli import generic_verbs
    from lab.workshop.session import cli_verbs
    net = types.SimpleNamespace(name="t", hosts=[])
    verbs = {**generic_verbs(net, lambda: []), **cli_verbs("t")}
    for name in topologies.names():
        topology = topologies.load(name)
        verbs.update(topology.cli_verbs(net, run.from_argv(topology, [])[1]))
    return verbs


def test_every_cli_verb_with_its_help_text(pages):
    text = pages["cli.md"]
    verbs = code_verbs()
    assert {"pingmatrix", "fault", "draw", "trace", "oc", "join", "connect", "task", "hint", "check"} <= set(verbs)
    for verb, (_fn, help_text) in verbs.items():
        assert f"### `{verb}`\n\n```text\n{help_text}\n```" in text, verb
    for verb in ("py", "px", "source", "nodes", "net", "dump", "iperf", "sh", "time"):  # Mininet's, kept
        assert f"- `{verb}`" in text, verb


def test_every_fault_and_every_exercise(pages):
    faults, exercises = pages["faults.md"], pages["exercises.md"]
    for name, (fault, plane_names) in every_fault().items():
        assert f"Planes: {', '.join(plane_names)}. {fault.summary}" in faults, name
        assert f"## `{name}`" in faults and fault.summary in faults and f"lab fault inject {name}" in faults, name
    for ex in CATALOGUE.values():
        assert f"## `{ex.id}`" in exercises and ex.title["en"] in exercises and ex.title["zh"] in exercises, ex.id
    assert f"{len(CATALOGUE)} exercises" in exercises


def test_a_new_cli_verb_shows_up_without_touching_the_docs(monkeypatch):
    from lab.front import mncli
    generic = mncli.generic_verbs
    monkeypatch.setattr(mncli, "generic_verbs", lambda net, endpoints: {
        **generic(net, endpoints), "wobble": (lambda line: None, "wobble <node>: a verb added today")})
    assert "### `wobble`\n\n```text\nwobble <node>: a verb added today\n```" in gen.pages()["cli.md"]


def test_a_front_module_with_a_parser_is_picked_up_by_itself(tmp_path, monkeypatch):
    """A lab/front module exposing parser() (as `lab capture`, `lab diff`, `lab link` do) needs no registration."""
    import lab.front
    (tmp_path / "wobble.py").write_text(textwrap.dedent('''
        import argparse
        def parser():
            p = argparse.ArgumentParser(prog="lab wobble", description="Wobbles a lab's links.")
            p.add_argument("--name", help="the lab's name")
            p.add_argument("--for", dest="seconds", type=float, metavar="SECONDS", help="how long to wobble")
            p.add_argument("links", nargs="+", metavar="HOST:IF", help="the interfaces")
            return p
    '''))
    monkeypatch.setattr(lab.front, "__path__", [*lab.front.__path__, str(tmp_path)])
    text = gen.pages()["commands.md"]
    section = text.split("## `lab wobble`\n", 1)[1]
    assert "Wobbles a lab's links." in section
    for line in ("- `--name NAME`: the lab's name", "- `--for SECONDS`: how long to wobble",
                 "- `HOST:IF [HOST:IF ...]`: the interfaces"):
        assert line in section, section


def test_guide_nav_is_the_guide_files_present(tmp_path):
    hooks = load("hooks")
    assert hooks.guide_nav(str(tmp_path)) == []  # no docs/guide yet: the section is left out, nothing breaks
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "link.md").write_text("# Link impairments\n\ntext\n")
    (tmp_path / "guide" / "capture.md").write_text("no heading\n")
    (tmp_path / "guide" / "notes.txt").write_text("# not a page\n")
    assert hooks.guide_nav(str(tmp_path)) == [{"capture": "guide/capture.md"},
                                              {"Link impairments": "guide/link.md"}]
    config = {"docs_dir": str(tmp_path), "nav": [{"Home": "index.md"}, {"Guides": []}, {"Benchmark": "b.md"}]}
    os.makedirs(tmp_path / "reference")
    os.makedirs(tmp_path / "img")
    nav = hooks.on_config(config)["nav"]
    assert nav[1] == {"Guides": [{"capture": "guide/capture.md"}, {"Link impairments": "guide/link.md"}]}
    assert sorted(os.listdir(tmp_path / "reference")) == sorted(gen.PAGES)
    assert all((tmp_path / "img" / n).stat().st_size > 0 for n in hooks.PICTURES)
