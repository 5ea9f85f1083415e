"""Writing exhibit files: whole or not at all, and never over an existing file."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from collector.errors import UsageError


def write_new(dst: Path, data: bytes) -> None:
    """Write `data` to `dst` through a temporary file beside it, synced, then linked into
    place; a file already at `dst` (even one that appears meanwhile) is never overwritten."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, dst)  # fails if dst appeared meanwhile
    except FileExistsError:
        raise UsageError(f"will not overwrite {dst}: it already exists") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_new_sha256(dst: Path, data: bytes) -> str:
    """`write_new`, returning the SHA-256 of what was written."""
    write_new(dst, data)
    return hashlib.sha256(data).hexdigest()
