"""Files the user names with -o: checked before any work, written whole or not at all.

A picture or a handout page is written to a temporary file beside the target and renamed over it,
so a full disk or a bad place gives one line and exit 2, never a half file or a false "wrote".
"""

import os
import tempfile
from typing import Optional, Tuple

from lab.errors import BadInput
from lab.validate import check_writable_file

# filesystems that hold kernel objects, not a user's files
PSEUDO_FS = frozenset({"devtmpfs", "proc", "sysfs", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs",
                       "configfs", "devpts", "mqueue", "bpf", "pstore", "efivarfs", "hugetlbfs", "fusectl"})

KERNEL_DIRS = frozenset({"/dev", "/proc", "/sys"})  # whatever a container mounts there


def _mount_of(path: str) -> Tuple[str, str]:
    """The mount point and filesystem type holding an existing path (longest mount-point prefix)."""
    real = os.path.realpath(path)
    best = ("/", "")
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4].replace("\\040", " ")
            fstype = fields[fields.index("-") + 1]
            inside = real == point or real.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best[0]):
                best = (point, fstype)
    return best


def check_dir(directory: str, flag: str = "-o", shown: str = "") -> str:
    """An existing, writable directory on a real filesystem; its absolute path. `shown` is what the
    user typed, when directory is where it leads."""
    directory = directory or "."
    shown = shown or directory
    if not os.path.exists(directory):
        raise BadInput(f"{flag} {shown}: no such directory {directory}")
    if not os.path.isdir(directory):
        raise BadInput(f"{flag} {shown}: {directory} is not a directory")
    point, fstype = _mount_of(directory)
    if fstype in PSEUDO_FS or point in KERNEL_DIRS:
        raise BadInput(f"{flag} {shown}: {point} is a {fstype} filesystem (kernel objects, not files): "
                       "choose a directory for your files")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BadInput(f"{flag} {shown}: {directory} is not writable")
    return os.path.abspath(directory)


def check_file(path: str, flag: str = "-o", suffixes: Optional[Tuple[str, ...]] = None) -> str:
    """A file the lab may create or replace: a regular file in a writable directory on a real filesystem."""
    if path and suffixes and not path.lower().endswith(suffixes):
        raise BadInput(f"{flag} {path!r}: the file name ends in {' or '.join(suffixes)}")
    check_writable_file(path, flag)
    check_dir(os.path.dirname(os.path.abspath(path)), flag, shown=path)
    return path


def write(path: str, data: bytes, flag: str = "-o", mode: int = 0o644) -> str:
    """Write all of data to path, or leave path as it was and say why in one line. A symlink is written
    through, as the shell's `>` does: its target gets the data and the link stays a link."""
    shown = path
    if os.path.islink(path):
        path = os.path.realpath(path)
    check_file(path, flag)
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise BadInput(f"{flag} {shown}: {exc.strerror or exc}") from None
    return shown
