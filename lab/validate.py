"""(placeholder, replaced by the validation module) Paths checked before anything exists."""

import os

from lab.errors import BadInput


def check_writable_file(path: str, what: str) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise BadInput(f"{what} {path}: is a directory")
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise BadInput(f"{what} {path}: cannot write there")


def check_readable_file(path: str, what: str) -> None:
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise BadInput(f"{what} {path}: not a readable file")
