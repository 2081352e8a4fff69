"""The docs/ scripts (not a package: MkDocs loads docs/hooks.py by path) imported for the tests."""

import importlib.util
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(REPO, "docs")


def load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    if DOCS not in sys.path:
        sys.path.insert(0, DOCS)  # hooks.py imports gen_reference by name, as MkDocs runs it
    spec = importlib.util.spec_from_file_location(name, os.path.join(DOCS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
