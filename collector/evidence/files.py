"""Reading files that come from outside: only regular files, never more than a bound.

A FIFO, a device (`/dev/zero`) or a socket named as an input would block or never end; a
symlink inside a bundle could make a verifier read outside it. Inputs the user names may be
symlinks to a regular file (users link their files); files inside a bundle or an export may
not be links at all.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from collector.errors import UsageError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


class BadInputFile(UsageError):
    """A path that is not a regular file (or is larger than allowed)."""


def kind(mode: int) -> str:
    """What a file's mode says it is, in words."""
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, "a regular file"),
    ):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"


def size_text(size: int) -> str:
    """A limit as people read it: 64 MiB, 1 GiB, 512 KiB."""
    return f"{size // GIB} GiB" if size >= GIB else f"{size // MIB} MiB" if size >= MIB else f"{size // KIB} KiB"


def open_regular(path: Path, what: str, *, follow: bool) -> int:
    """An fd on `path` for reading, refused unless it is a regular file (a symlink is refused
    unless `follow`). Opened without blocking, so a FIFO cannot hang the open."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise BadInputFile(f"{what} {path}: no such file") from exc
    except OSError as exc:
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            raise BadInputFile(f"{what} {path}: cannot be read ({exc.strerror or exc})") from exc
        raise BadInputFile(f"{what} {path} is {kind(mode)}, not a regular file") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise BadInputFile(f"{what} {path} is {kind(mode)}, not a regular file")
    os.set_blocking(fd, True)
    return fd


def read_regular(path: Path, what: str, max_bytes: int, *, follow: bool = True) -> bytes:
    """The whole of a regular file of at most `max_bytes`; a one-line UsageError otherwise."""
    fd = open_regular(path, what, follow=follow)
    with os.fdopen(fd, "rb") as handle:
        if os.fstat(handle.fileno()).st_size > max_bytes:
            raise BadInputFile(f"{what} {path} is larger than {size_text(max_bytes)}")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadInputFile(f"{what} {path} is larger than {size_text(max_bytes)}")
    return data


def read_text(path: Path, what: str, max_bytes: int, *, follow: bool = True) -> str:
    data = read_regular(path, what, max_bytes, follow=follow)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInputFile(f"{what} {path} is not UTF-8 text") from exc
