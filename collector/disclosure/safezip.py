"""Extracting a zip from outside (an export, a WACZ package): hostile input, checked entry by
entry (no absolute paths, no `..`, no links, bounded sizes) into a private directory."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from collector.errors import UsageError

MAX_TOTAL_BYTES = 64 * 1024**3
"""The most an export may expand to."""
MAX_RATIO = 100
"""How many times its compressed size a member may expand to, beyond RATIO_FREE_BYTES:
deflate reaches about 1000:1 on repeated bytes; evidence (PNG, gzip WARC, HTML, JSON) stays
far below 100:1."""
RATIO_FREE_BYTES = 1024 * 1024
MAX_ENTRIES = 1_000_000
MAX_NAME = 1024
MAX_DEPTH = 32
CHUNK = 1024 * 1024

def safe_extract(zip_path: Path, target: Path) -> None:
    """Extract a hostile zip into `target`: only plain relative paths, no links, bounded depth
    and name length, and every member streamed with a byte budget checked while it is
    decompressed (its declared size, and `MAX_RATIO` times its compressed size beyond
    `RATIO_FREE_BYTES`), within `MAX_TOTAL_BYTES` in all."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise UsageError(f"{zip_path}: not a readable zip file ({exc})") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise UsageError(f"{zip_path}: more than {MAX_ENTRIES} entries")
        if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
            raise UsageError(f"{zip_path}: uncompressed size is over {MAX_TOTAL_BYTES // 1024**3} GiB")
        written = 0
        for info in infos:
            name = info.filename
            pure = PurePosixPath(name)
            if (
                not name
                or len(name) > MAX_NAME
                or len(pure.parts) > MAX_DEPTH
                or "\\" in name
                or pure.is_absolute()
                or ".." in pure.parts
                or ":" in pure.parts[0]
                or stat.S_ISLNK(info.external_attr >> 16)
            ):
                raise UsageError(f"{zip_path}: unsafe entry {name[:200]!r}")
            budget = min(info.file_size, RATIO_FREE_BYTES + MAX_RATIO * info.compress_size)
            if info.file_size > budget:
                raise UsageError(f"{zip_path}: entry {name[:200]!r} expands implausibly (zip bomb?)")
            destination = target.joinpath(*pure.parts)
            try:
                if info.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, destination.open("xb") as dst:
                    size = 0
                    while chunk := src.read(CHUNK):
                        size += len(chunk)
                        written += len(chunk)
                        if size > budget or written > MAX_TOTAL_BYTES:
                            raise UsageError(f"{zip_path}: entry {name[:200]!r} is larger than "
                                             "it declares (zip bomb?)")  # fmt: skip
                        dst.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError,
                    NotImplementedError, RuntimeError, ValueError) as exc:  # fmt: skip
                why = getattr(exc, "strerror", None) or exc
                raise UsageError(f"{zip_path}: cannot extract {name[:200]!r} ({why})") from exc
