"""The suite runs in pytest's default import mode, where two test modules of one basename in different
folders clash ("import file mismatch") and one of them never runs."""

import ast
import collections
import os
import re

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_test_module_has_a_basename_of_its_own():
    seen = collections.defaultdict(list)
    for folder, _dirs, files in os.walk(TESTS):
        for f in files:
            if f.startswith("test_") and f.endswith(".py"):
                seen[f].append(os.path.relpath(os.path.join(folder, f), TESTS))
    assert not {name: where for name, where in seen.items() if len(where) > 1}



def _marks(node) -> set:
    """The `root`/`rootless` marks an AST node (a module's `pytestmark`, a function's decorators) names."""
    return set(re.findall(r"pytest\.mark\.(root|rootless)\b", ast.unparse(node)))


def test_every_real_kernel_test_says_whether_it_needs_root():
    """A test of tests/[0-9]* without the `root` marker runs its lab without root and fails somewhere in the
    bring-up (or passes by testing nothing): each carries it, from its module's `pytestmark` or its own
    decorator, or `rootless` when it stops before root is needed on purpose."""
    unmarked = []
    for folder in sorted(os.listdir(TESTS)):
        if not folder[:1].isdigit():
            continue
        for f in sorted(os.listdir(os.path.join(TESTS, folder))):
            if not (f.startswith("test_") and f.endswith(".py")):
                continue
            with open(os.path.join(TESTS, folder, f)) as text:
                tree = ast.parse(text.read())
            module = set().union(*[_marks(n) for n in tree.body if isinstance(n, ast.Assign)
                                   and any(getattr(t, "id", "") == "pytestmark" for t in n.targets)])
            for n in tree.body:
                if isinstance(n, ast.FunctionDef) and n.name.startswith("test_"):
                    if not module | set().union(*[_marks(d) for d in n.decorator_list]):
                        unmarked.append(f"{folder}/{f}::{n.name}")
    assert not unmarked, f"tests without the root (or rootless) marker: {unmarked}"
