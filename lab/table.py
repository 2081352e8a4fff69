"""Columns as kubectl/oc print them: left-aligned, padded with three spaces, measured in terminal columns
(a Chinese character takes two: east_asian_width W or F)."""

import unicodedata
from typing import List, Sequence


def width(text: str) -> int:
    """How many terminal columns text takes."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def format_table(headers: Sequence[str], rows: List[Sequence[object]]) -> str:
    cells = [list(map(str, headers))] + [[str(c) for c in r] for r in rows]
    widths = [max(width(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["   ".join(pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)
