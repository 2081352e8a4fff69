"""The suite runs in pytest's default import mode, where two test modules of one basename in different
folders clash ("import file mismatch") and one of them never runs."""

import collections
import os

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_test_module_has_a_basename_of_its_own():
    seen = collections.defaultdict(list)
    for folder, _dirs, files in os.walk(TESTS):
        for f in files:
            if f.startswith("test_") and f.endswith(".py"):
                seen[f].append(os.path.relpath(os.path.join(folder, f), TESTS))
    assert not {name: where for name, where in seen.items() if len(where) > 1}
