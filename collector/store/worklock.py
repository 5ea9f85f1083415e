"""Which captures are still running: each holds a lock file in `work/` while it runs.

A capture takes `work/<bundle-id>.lock` (an advisory `flock`, released by the operating
system when its process ends, however it ends) from before its browser starts until its
bundle is recorded. Recovery leaves alone anything whose lock is held, so one command never
tidies away another's capture in progress.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

SUFFIX = ".lock"


def lock_path(work_dir: Path, bundle_id: str) -> Path:
    return work_dir / f"{bundle_id}{SUFFIX}"


@contextlib.contextmanager
def capture_lock(work_dir: Path, bundle_id: str) -> Iterator[None]:
    """Hold the lock of one capture for the duration of the block."""
    path = lock_path(work_dir, bundle_id)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


@contextlib.contextmanager
def try_lock(work_dir: Path, bundle_id: str) -> Iterator[bool]:
    """Take the lock of one bundle if no other process holds it: yields whether it was taken
    (a flush skips a bundle whose capture, or another flush, is still at work on it)."""
    path = lock_path(work_dir, bundle_id)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
    finally:
        os.close(fd)


def held(work_dir: Path, bundle_id: str) -> bool:
    """Is the capture of `bundle_id` running now (its lock held by a live process)?"""
    path = lock_path(work_dir, bundle_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
