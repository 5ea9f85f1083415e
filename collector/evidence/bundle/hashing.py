"""Streaming file digests: SHA-256 and SHA-512 in one read, memory flat for any size."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from collector.evidence import files

CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class Digests:
    size: int
    sha256: str
    sha512: str


def digest_file(path: Path) -> Digests:
    """Read the file once, hashing as it goes (`digest_chunks`).

    Only a regular file is read (not a link, FIFO or device: `files.BadInputFile`).
    """
    fd = files.open_regular(path, "file", follow=False)
    with os.fdopen(fd, "rb") as handle:
        return digest_chunks(iter(lambda: handle.read(CHUNK), b""))


def digest_chunks(chunks: Iterable[bytes]) -> Digests:
    """SHA-256 and SHA-512 of a stream of chunks (a file, an object read from a bucket), on
    two threads: hashlib releases the GIL on large buffers, so on two cores the two digests
    run side by side while the next chunk is read. Memory stays flat for any size."""
    h256, h512 = hashlib.sha256(), hashlib.sha512()
    size = 0
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for chunk in chunks:
            if pending is not None:
                pending.result()
            size += len(chunk)
            pending = pool.submit(h512.update, chunk)
            h256.update(chunk)
        if pending is not None:
            pending.result()
    return Digests(size=size, sha256=h256.hexdigest(), sha512=h512.hexdigest())


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
