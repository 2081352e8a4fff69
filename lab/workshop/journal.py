"""What happened to a workshop lab besides the student's own work: hints shown, answers typed, resets,
reference solutions applied, faults injected or repaired, stages reached, each with its time. Kept in the
lab's run directory (0600, one JSON object a line, appended), shown by `check`, JSON, JUnit and the report."""

from __future__ import annotations

import json
import os
import time
from typing import Dict, List

from lab import paths

JOURNAL = "workshop-journal.jsonl"
# the events the summary counts (every event is kept in the journal)
COUNTED = ("hint", "reset", "solve", "fault-inject", "fault-repair", "fault-status", "answer", "stage")
# the teacher's `lab fault ...` on a workshop lab (the exercise's own setup and reset are not counted)
FAULT_COMMANDS = ("fault-inject", "fault-repair", "fault-status")


def journal_path(name: str) -> str:
    return os.path.join(paths.run_dir(name), JOURNAL)


def note(name: str, event: str, **fields) -> None:
    """Append one event (`hint`, `reset`, `solve`, `fault-inject`, `fault-repair`, ...) with the time and who
    asked (the process's own user and, from a terminal, its tty)."""
    if not os.path.isdir(paths.run_dir(name)):
        return
    entry = {"time": round(time.time(), 3), "event": event, "uid": os.getuid(), "pid": os.getpid(), **fields}
    try:
        entry["tty"] = os.ttyname(0)
    except OSError:
        pass
    path = journal_path(name)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode())
    finally:
        os.close(fd)


def read_lines(path: str) -> List[dict]:
    """The JSON objects of a file of one a line (a journal, the report's kept rows); a torn line is skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def events(name: str) -> List[dict]:
    return read_lines(journal_path(name))


def summary(name: str) -> Dict[str, int]:
    """How many of each counted event the lab's journal holds: {'hint': 2, 'reset': 1, 'solve': 0, ...}."""
    counts = {e: 0 for e in COUNTED}
    for e in events(name):
        if e.get("event") in counts:
            counts[e["event"]] += 1
    return counts


def teacher_faults(counts: Dict[str, int]) -> int:
    return sum(counts.get(e, 0) for e in FAULT_COMMANDS)
