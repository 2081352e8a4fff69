"""The documentation site built as CI builds it (`mkdocs build --strict`: a warning fails), then read in a real
headless Chromium (Debian's `chromium`, docs/browser_check.py): every page renders content with no console
error, every internal link reaches a built page and anchor, every image loads. Root-free, about 15 s."""

import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from docs_modules import DOCS, REPO, load

check = load("browser_check")
MKDOCS = os.path.join(os.path.dirname(sys.executable), "mkdocs")


def build(config_dir: str, site: str) -> subprocess.CompletedProcess:
    return subprocess.run([MKDOCS, "build", "--strict", "-f", os.path.join(config_dir, "mkdocs.yml"), "-d", site],
                          capture_output=True, text=True, timeout=180, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not os.path.exists(MKDOCS):
        pytest.skip(f"no {MKDOCS}: .venv/bin/pip install -r docs/requirements.txt")
    if check.chromium() is None:
        pytest.skip("no Chromium: apt-get install chromium")
    out = str(tmp_path_factory.mktemp("site"))
    start = time.monotonic()
    r = build(REPO, out)
    print(f"mkdocs build --strict: {time.monotonic() - start:.1f} s")
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def test_every_page_renders_its_links_resolve_its_images_load(site):
    start = time.monotonic()
    problems, seen = check.check_site(site)
    print(f"{len(seen)} pages in Chromium: {time.monotonic() - start:.1f} s")
    assert problems == []
    assert sorted(seen) == check.pages_of(site) and len(seen) >= 20
    # the pages the nav promises are there, with what makes them (the generated reference, the pictures)
    for page in ("/", "/tutorial/cli/", "/workshops/", "/reference/commands/", "/reference/cli/",
                 "/reference/faults/", "/reference/exercises/", "/reference/topologies/"):
        assert seen[page]["text"] > 200, page
    assert [i["width"] > 0 for i in seen["/"]["images"]] == [True], seen["/"]["images"]  # the default lab's picture
    internal = [h for p in seen.values() for h in p["links"] if h.startswith("http://127.0.0.1")]
    assert len(internal) > 200  # the links were there to be followed


def test_the_check_sees_a_broken_page(site, tmp_path):
    """The browser check is not blind: a dead link, a missing anchor, a missing image and a script error
    planted in a copy of the built home page are each reported."""
    broken = str(tmp_path / "site")
    shutil.copytree(site, broken)
    index = os.path.join(broken, "index.html")
    with open(index, encoding="utf-8") as f:
        text = f.read()
    planted = ('<a href="no-such-page/">x</a><a href="reference/cli/#no-such-anchor">y</a>'
               '<img src="img/no-such.svg" alt="z"><script>throw new Error("planted")</script>')
    text = text.replace("</article>", planted + "</article>", 1)
    with open(index, "w", encoding="utf-8") as f:
        f.write(text)
    problems, _ = check.check_site(broken)
    home = [p for p in problems if p.startswith("/: ")]
    assert any(re.search(r"link \S+/no-such-page/ leads to no built page", p) for p in home), problems
    assert any("no anchor #no-such-anchor in reference/cli/index.html" in p for p in home), problems
    assert any(re.search(r"image \S+/img/no-such.svg did not load", p) for p in home), problems
    assert any("planted" in p for p in home), problems
    assert len(problems) == len(home), problems  # the other pages are untouched


def test_a_warning_fails_the_build(site, tmp_path):
    """--strict: a page linking to a page that does not exist stops the build."""
    shutil.copy(os.path.join(REPO, "mkdocs.yml"), tmp_path)
    shutil.copytree(DOCS, tmp_path / "docs", ignore=shutil.ignore_patterns("reference", "img", "__pycache__"))
    with open(tmp_path / "docs" / "workshops.md", "a") as f:
        f.write("\nSee [the missing page](no-such-page.md).\n")
    r = build(str(tmp_path), str(tmp_path / "site"))
    assert r.returncode != 0 and "no-such-page.md" in r.stdout + r.stderr, r.stdout + r.stderr
