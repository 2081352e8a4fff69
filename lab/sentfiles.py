"""Files a request from another shell names (`lab oc apply -f FILE`): read by the client, sent with the request.

The lab's process never opens a path a client names: a FIFO with no writer would hold the lab, and root would
read for the client what the client may not read itself. The client reads every `-f`/`--filename` path (a
directory: its manifest files) and sends {path: {"text": ...} | {"dir": [names]} | {"error": strerror}}; while
the lab serves that request, readers ask here (isdir, listdir, open_text) instead of the file system.
"""

from __future__ import annotations

import io
import os
import shlex
import stat
import threading
from contextlib import contextmanager
from typing import IO, Dict, Iterator, List, Optional, Tuple

FLAGS = ("-f", "--filename")
SUFFIXES = (".yaml", ".yml", ".json")  # the files of a directory that are manifests

Files = Dict[str, Dict[str, object]]

_serving = threading.local()  # .files while a request from another shell is served by this thread


# -- the client


def collect(line: str) -> Tuple[str, Files]:
    """The line with its `-f` paths made absolute, and what those paths hold, read by this process."""
    try:
        words = shlex.split(line)
    except ValueError:
        return line, {}  # the lab refuses the line itself; nothing to read
    out: List[str] = []
    files: Files = {}
    after_f = False
    for word in words:
        if after_f:
            word = os.path.abspath(word)
            _read_into(files, word)
        elif word.startswith(tuple(f"{flag}=" for flag in FLAGS)):
            flag, path = word.split("=", 1)
            word = f"{flag}={os.path.abspath(path)}"
            _read_into(files, os.path.abspath(path))
        after_f = word in FLAGS
        out.append(word)
    return shlex.join(out), files


def _read_into(files: Files, path: str) -> None:
    try:
        if stat.S_ISDIR(os.stat(path).st_mode):
            names = sorted(n for n in os.listdir(path) if n.endswith(SUFFIXES))
            files[path] = {"dir": names}
            for n in names:
                _read_into(files, os.path.join(path, n))
            return
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        files[path] = {"error": exc.strerror or str(exc)}
        return
    try:
        files[path] = {"text": data.decode()}
    except UnicodeDecodeError as exc:
        files[path] = {"error": f"not UTF-8 text (byte {exc.start})"}


# -- the lab


def check(files: object) -> None:
    """A request's files as the client sends them, or ValueError."""
    if not isinstance(files, dict):
        raise ValueError("files must be an object")
    for path, entry in files.items():
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ValueError(f"files[{path!r}] must be an object with one of text, dir, error")
        (kind, value), = entry.items()
        if kind == "dir":
            if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
                raise ValueError(f"files[{path!r}].dir must be a list of names")
        elif kind not in ("text", "error") or not isinstance(value, str):
            raise ValueError(f"files[{path!r}] must be an object with one of text, dir, error")


@contextmanager
def serving(files: Files) -> Iterator[None]:
    """While a request from another shell runs: paths are what its client sent, nothing else."""
    _serving.files = files
    try:
        yield
    finally:
        _serving.files = None


def _sent(path: str) -> Optional[Dict[str, object]]:
    files = getattr(_serving, "files", None)
    if files is None:
        return None
    entry = files.get(os.path.abspath(path))
    if entry is None:
        raise OSError(2, "not sent by the client (the lab reads only the files `lab oc` sends)")
    return entry


def isdir(path: str) -> bool:
    try:
        entry = _sent(path)
    except OSError:
        return False
    return os.path.isdir(path) if entry is None else "dir" in entry


def listdir(path: str) -> List[str]:
    entry = _sent(path)
    if entry is None:
        return os.listdir(path)
    return list(entry["dir"]) if "dir" in entry else []  # type: ignore[call-overload]


def open_text(path: str) -> IO[str]:
    """The file to read: the client's copy while serving a request from another shell, else the file."""
    entry = _sent(path)
    if entry is None:
        return open(path, encoding="utf-8")
    if "error" in entry:
        raise OSError(5, str(entry["error"]))
    if "dir" in entry:
        raise OSError(21, "Is a directory")
    return io.StringIO(str(entry["text"]))
