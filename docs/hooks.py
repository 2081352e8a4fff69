"""MkDocs hooks (mkdocs.yml: hooks): before the pages are collected, write what is generated from the code.

- docs/reference/*.md from the code's parsers and tables (docs/gen_reference.py);
- docs/img/*.svg, pictures of labs drawn by `lab draw` (Graphviz's `dot`, no root, nothing built);
- the "Guides" section of the nav from the docs/guide/*.md files present, so a guide page that is added or
  missing never breaks the nav.
"""

from __future__ import annotations

import filecmp
import os
import sys
from typing import List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gen_reference  # noqa: E402

PICTURES = {"openshift.svg": ["openshift", "--nodes", "2", "--pods-per-node", "2"],
            "openshift-pipeline.svg": ["openshift", "--what", "pipeline", "--node", "node1"],
            "flannel.svg": ["flannel", "--backend", "vxlan"]}


def draw_pictures(img_dir: str) -> None:
    import contextlib
    import io

    from lab.front import draw
    os.makedirs(img_dir, exist_ok=True)
    for name, args in PICTURES.items():
        path, fresh = os.path.join(img_dir, name), os.path.join(img_dir, f".new-{name}")
        with gen_reference.neutral_environment(), contextlib.redirect_stdout(io.StringIO()):  # its "wrote FILE"
            code = draw.main([*args, "-o", fresh])
        if code != 0:
            raise RuntimeError(f"lab draw {' '.join(args)} failed ({code}); is Graphviz (dot) installed?")
        if os.path.exists(path) and filecmp.cmp(path, fresh, shallow=False):
            os.unlink(fresh)  # unchanged: left alone, so `mkdocs serve` does not rebuild in a loop
        else:
            os.replace(fresh, path)


def title_of(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# "):
                return line[2:].strip().replace("`", "")
    return os.path.splitext(os.path.basename(path))[0]


def guide_nav(docs_dir: str) -> List[dict]:
    guide = os.path.join(docs_dir, "guide")
    names = sorted(n for n in os.listdir(guide) if n.endswith(".md")) if os.path.isdir(guide) else []
    return [{title_of(os.path.join(guide, n)): f"guide/{n}"} for n in names]


def on_config(config, **_kwargs):
    docs_dir = config["docs_dir"]
    gen_reference.write(os.path.join(docs_dir, "reference"))
    draw_pictures(os.path.join(docs_dir, "img"))
    nav = []
    for item in config["nav"] or []:
        if isinstance(item, dict) and "Guides" in item:
            pages = guide_nav(docs_dir)
            if pages:
                nav.append({"Guides": pages})
        else:
            nav.append(item)
    config["nav"] = nav
    return config
