"""Every CLI line a real-kernel test types "as printed" (docs_printed.printed) is still printed by its docs page:
checked here from the tests' source, without root, so a docs edit that breaks a walk-through fails at once."""

import ast
import glob
import os

from docs_printed import cli_lines, printed

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def module_strings(tree: ast.Module) -> dict:
    """Module-level NAME = "text" (and A, B = "x", "y") assignments."""
    names = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    continue
                if isinstance(target, ast.Name) and isinstance(value, str):
                    names[target.id] = value
                elif isinstance(target, ast.Tuple) and isinstance(value, tuple):
                    names.update({t.id: v for t, v in zip(target.elts, value, strict=True) if isinstance(t, ast.Name)})
    return names


def printed_calls():
    for path in sorted(glob.glob(os.path.join(TESTS, "**", "test_*.py"), recursive=True)):
        if os.path.samefile(path, __file__):
            continue  # this module's own printed() of a line no page prints
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        names = module_strings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "printed":
                page, line = node.args
                while isinstance(line, ast.Call):  # printed(A, printed(B, "line")): printed by both pages
                    line = line.args[1]
                page_text = names[page.id] if isinstance(page, ast.Name) else ast.literal_eval(page)
                yield os.path.relpath(path, TESTS), page_text, ast.literal_eval(line)


def test_every_line_the_tests_type_is_printed_by_its_page():
    calls = list(printed_calls())
    assert len(calls) >= 30 and {page for _f, page, _l in calls} >= {
        "tutorial/cli.md", "tutorial/live-changes.md", "tutorial/egress.md", "planes/flannel.md", "index.md",
        "../README.md"}
    missing = [(f, page, line) for f, page, line in calls if line not in cli_lines(page)]
    assert missing == []


def test_printed_reads_the_page_and_cuts_comments():
    assert printed("tutorial/cli.md", "pod1 traceroute -n pod3") == "pod1 traceroute -n pod3"  # comment cut
    assert "pod1 traceroute -n pod3                         # one hop" not in cli_lines("tutorial/cli.md")
    try:
        printed("tutorial/cli.md", "pod1 traceroute -n pod4")
    except AssertionError as exc:
        assert "docs/tutorial/cli.md no longer prints" in str(exc)
    else:
        raise AssertionError("a line the page does not print passed")
