"""Walk-throughs the docs print and tests type "as printed": a test takes each line through printed(), which
fails when docs/PAGE no longer prints it, so the page and the test cannot drift apart.
tests/unit/test_docs_walkthroughs.py checks every printed() of the suite without root."""

import os
import re
from functools import lru_cache
from typing import List

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
PROMPT = "sdnlab> "


@lru_cache(maxsize=None)
def cli_lines(page: str) -> List[str]:
    """The CLI lines of a page's code blocks: after the `sdnlab> ` prompt, a trailing `   # comment` cut off."""
    out, in_block = [], False
    with open(os.path.join(DOCS, page), encoding="utf-8") as f:
        for line in f:
            if line.lstrip().startswith("```"):
                in_block = not in_block
            elif in_block and line.startswith(PROMPT):
                out.append(re.sub(r"\s{2,}#.*$", "", line[len(PROMPT):].rstrip("\n")).rstrip())
    return out


def printed(page: str, line: str) -> str:
    """line, as docs/PAGE prints it in the lab's CLI; an AssertionError naming both if it does not."""
    assert line in cli_lines(page), f"docs/{page} no longer prints the CLI line {line!r}: {cli_lines(page)}"
    return line
