"""Assembling a stream: the recorded segments copied out of the WARC, ffmpeg run on local files only."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from collector.browser.streams.dash import Representation, parse_mpd
from collector.browser.streams.formats import (
    COPY_CHUNK,
    FFMPEG_VERSION_TIMEOUT_S,
    MANIFEST_MAX_BYTES,
    MISSING_SHOWN,
    SCRATCH_MARK,
    BodySource,
    StreamError,
    StreamFormat,
)
from collector.browser.streams.hls import (
    MasterPlaylist,
    MediaPlaylist,
    leading_run,
    local_playlist,
    parse_hls,
)
from collector.browser.traffic_index import BodyLocation
from collector.evidence.model import StreamAssembly

# --------------------------------------------------------------------------- assembling


@dataclass
class Assembled:
    record: StreamAssembly
    output: Path | None  # the assembled file in the scratch directory
    used_bytes: int


class Assembler:
    """Assembles one stream into `scratch` with ffmpeg; see the module docstring."""

    def __init__(
        self, source: BodySource, ffmpeg: str, scratch: Path, max_bytes: int, timeout_s: float
    ) -> None:
        self.source = source
        self.ffmpeg = ffmpeg
        self.scratch = scratch
        self.max_bytes = max_bytes
        self.ends_at = time.monotonic() + timeout_s
        self.encrypted = False
        self.used = 0  # bytes copied into the scratch directory, bounded by max_bytes
        self.base = ""

    async def assemble(
        self, url: str, fmt: StreamFormat, manifest: BodyLocation, shown: str | None = None
    ) -> Assembled:
        """Assemble the stream whose manifest `url` is at `manifest`; `shown` is the URL as
        recorded (redacted under an alias), `url` the one relative references resolve against."""
        self.base = manifest.source_url or url  # after redirects, as a player resolves
        record = StreamAssembly(url=shown or url, format=fmt)
        try:
            version = await ffmpeg_version(self.ffmpeg)
            record.ffmpeg_version = version
            self.scratch.mkdir(parents=True, exist_ok=False)
            data = await asyncio.to_thread(self._read, manifest, MANIFEST_MAX_BYTES)
            if fmt == "hls":
                inputs, used = await self._hls(record, data.decode("utf-8", "replace"), manifest)
            else:
                inputs, used = await self._dash(record, data, manifest)
            output = await self._ffmpeg(record, inputs)
        except StreamError as exc:
            record.note = str(exc)
            return Assembled(record, None, 0)
        return Assembled(record, output, used)

    # ------------------------------------------------------------------ HLS

    async def _hls(
        self, record: StreamAssembly, text: str, manifest: BodyLocation
    ) -> tuple[list[Path], int]:
        parsed = parse_hls(text, self.base)
        playlists: list[tuple[str, MediaPlaylist]] = []
        if isinstance(parsed, MasterPlaylist):
            for uri in self._pick_variant(parsed):
                location = self._complete(uri)
                assert location is not None
                body = await asyncio.to_thread(self._read, location, MANIFEST_MAX_BYTES)
                media = parse_hls(body.decode("utf-8", "replace"), location.source_url)
                if isinstance(media, MasterPlaylist):
                    raise StreamError("a variant playlist is itself a master playlist")
                playlists.append((uri, media))
        else:
            playlists.append((self.base, parsed))
        inputs: list[Path] = []
        used = 0
        notes: list[str] = []
        for number, (uri, media) in enumerate(playlists):
            path, size, note = await self._hls_input(record, number, uri, media)
            inputs.append(path)
            used += size
            notes.append(note)
        record.note = "; ".join(notes)
        return inputs, used

    def _pick_variant(self, master: MasterPlaylist) -> list[str]:
        """The loaded variant with the highest bandwidth, and its loaded audio rendition."""
        loaded = [v for v in master.variants if self._complete(v.uri) is not None]
        if not loaded:
            raise StreamError(
                f"the page loaded none of the {len(master.variants)} variant playlist(s)"
            )
        variant = max(loaded, key=lambda v: v.bandwidth)
        chosen = [variant.uri]
        audio = [
            r
            for r in master.renditions
            if r.group == variant.audio_group and self._complete(r.uri) is not None
        ]
        if audio:
            chosen.append(max(audio, key=lambda r: r.default).uri)
        return chosen

    async def _hls_input(
        self, record: StreamAssembly, number: int, uri: str, media: MediaPlaylist
    ) -> tuple[Path, int, str]:
        record.playlists.append(uri)
        segments = media.segments
        if any(s.byterange for s in segments):
            raise StreamError("byte-range HLS segments are not assembled")
        recorded = {s.uri for s in segments if self._complete(s.uri) is not None}
        start, end = leading_run((s.uri for s in segments), recorded)
        record.segments_listed += len(segments)
        if start == end:
            raise StreamError(f"the page loaded none of the {len(segments)} segment(s)")
        used = segments[start:end]
        record.segments_used += len(used)
        record.missing += [s.uri for s in segments if s.uri not in recorded][
            : max(0, MISSING_SHOWN - len(record.missing))
        ]
        directory = self.scratch / f"input-{number}"
        directory.mkdir()
        names: dict[str, str] = {}
        size = 0
        extras = [u for u in dict.fromkeys(s.map_uri for s in used) if u]
        keys = [k.uri for k in dict.fromkeys(s.key for s in used) if k is not None and k.uri]
        for index, extra in enumerate(extras, 1):
            size += await self._copy_to(extra, directory, f"init-{index}.mp4", names)
        for index, key_uri in enumerate(keys, 1):
            size += await self._copy_to(key_uri, directory, f"key-{index}.key", names)
        for index, segment in enumerate(used, 1):
            size += await self._copy_to(segment.uri, directory, f"seg-{index:05d}", names)
        playlist = directory / "local.m3u8"
        playlist.write_text(local_playlist(media, used, names), encoding="utf-8")
        self.encrypted = self.encrypted or bool(keys)
        listed = len(segments)
        if end - start == listed:
            note = f"complete: all {listed} segment(s) of {uri}"
        else:
            note = (
                f"partial: segments {start + 1}-{end} of {listed} of {uri} "
                "(only these were loaded by the page, in an unbroken run)"
            )
        if keys:
            note += "; AES-128, decrypted with the key the page loaded"
        return playlist, size, note

    # ------------------------------------------------------------------ DASH

    async def _dash(
        self, record: StreamAssembly, data: bytes, manifest: BodyLocation
    ) -> tuple[list[Path], int]:
        groups = parse_mpd(data, self.base)
        inputs: list[Path] = []
        used = 0
        notes = []
        for group in groups:
            choice = self._pick_representation(group)
            if choice is None:
                continue
            rep, start, end = choice
            record.playlists.append(f"{record.url}#{rep.content}/{rep.id}")
            record.segments_listed += len(rep.segments)
            record.segments_used += end - start
            recorded = {u for u in rep.segments if self._complete(u) is not None}
            record.missing += [u for u in rep.segments if u not in recorded][
                : max(0, MISSING_SHOWN - len(record.missing))
            ]
            track = self.scratch / f"track-{len(inputs)}.{rep.container}"
            parts = ([rep.init] if rep.init else []) + rep.segments[start:end]
            used += await asyncio.to_thread(self._concatenate, parts, track)
            inputs.append(track)
            listed = len(rep.segments)
            notes.append(
                f"{rep.content} {rep.id!r}: "
                + (
                    f"complete, {listed} segment(s)"
                    if end - start == listed
                    else f"partial, segments {start + 1}-{end} of {listed}"
                )
            )
        if not inputs:
            raise StreamError("the page loaded no segments of any representation")
        record.note = "; ".join(notes)
        return inputs, used

    def _pick_representation(
        self, group: list[Representation]
    ) -> tuple[Representation, int, int] | None:
        best: tuple[int, int, Representation, int, int] | None = None
        for rep in group:
            if rep.content not in ("video", "audio"):
                continue
            if rep.init is not None and self._complete(rep.init) is None:
                continue
            recorded = {u for u in rep.segments if self._complete(u) is not None}
            start, end = leading_run(rep.segments, recorded)
            if end > start and (best is None or (end - start, rep.bandwidth) > best[:2]):
                best = (end - start, rep.bandwidth, rep, start, end)
        return None if best is None else (best[2], best[3], best[4])

    # ------------------------------------------------------------------ files

    def _complete(self, url: str) -> BodyLocation | None:
        location = self.source.location(url)
        return location if location is not None and location.complete else None

    def _read(self, location: BodyLocation, limit: int) -> bytes:
        if location.size > limit:
            raise StreamError(f"manifest larger than {limit} bytes")
        with self.source.payload(location) as stream:
            return stream.read(limit + 1)[:limit]

    async def _copy_to(self, url: str, directory: Path, stem: str, names: dict[str, str]) -> int:
        location = self._complete(url)
        if location is None:
            raise StreamError("a key or initialization segment was not loaded by the page")
        if url in names:
            return 0
        name = (
            stem
            if "." in stem
            else f"{stem}.{await asyncio.to_thread(self._segment_ext, location)}"
        )
        size = await asyncio.to_thread(self._concatenate, [url], directory / name)
        names[url] = name
        return size

    def _segment_ext(self, location: BodyLocation) -> str:
        with self.source.payload(location) as stream:
            head = stream.read(512)
        if head[:1] == b"\x47" and (len(head) < 189 or head[188:189] == b"\x47"):
            return "ts"
        if head[4:8] in (b"ftyp", b"styp", b"moof", b"sidx", b"moov"):
            return "m4s"
        if head[:2] in (b"\xff\xf1", b"\xff\xf9"):
            return "aac"
        if head[:3] == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3"):
            return "mp3"
        return "ts"

    def _concatenate(self, urls: list[str], target: Path) -> int:
        """Copy the recorded bodies of `urls`, in order, into `target`; bytes written."""
        written = 0
        with target.open("xb") as out:
            for url in urls:
                location = self._complete(url)
                if location is None:
                    raise StreamError("a segment was not loaded by the page")
                written += location.size
                self.used += location.size
                if self.used > self.max_bytes:
                    raise StreamError(
                        f"the segments pass the {self.max_bytes} bytes the media limits leave"
                    )
                with self.source.payload(location) as stream:
                    shutil.copyfileobj(stream, out, COPY_CHUNK)
        return written

    # ------------------------------------------------------------------ ffmpeg

    async def _ffmpeg(self, record: StreamAssembly, inputs: list[Path]) -> Path:
        protocols = "file,crypto" if self.encrypted else "file"
        command = [self.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"]
        for path in inputs:
            command += ["-protocol_whitelist", protocols, "-i", str(path)]
        for index in range(len(inputs)):
            command += ["-map", f"{index}:v?", "-map", f"{index}:a?"]
        webm = any(p.suffix == ".webm" for p in inputs)
        output = self.scratch / ("stream.mkv" if webm else "stream.mp4")
        command += ["-c", "copy", "-map_metadata", "-1", "-fflags", "+bitexact"]
        command += ["-f", "matroska" if webm else "mp4", str(output)]
        record.ffmpeg_command = [part.replace(str(self.scratch), SCRATCH_MARK) for part in command]
        left = self.ends_at - time.monotonic()
        if left <= 0:
            raise StreamError("no time left to run ffmpeg")
        code, errors = await run(command, self.scratch, left)
        if code != 0 or not output.is_file() or output.stat().st_size == 0:
            errors = errors.replace(str(self.scratch), SCRATCH_MARK)
            raise StreamError(f"ffmpeg failed (exit {code}): {errors[:300]}")
        return output


async def run(command: list[str], cwd: Path, timeout_s: float) -> tuple[int, str]:
    """Run a command without a shell or stdin, killed after `timeout_s`; (exit code, stderr)."""
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise StreamError(f"ffmpeg not available ({command[0]}: {exc.strerror or exc})") from exc
    try:
        out, err = await asyncio.wait_for(process.communicate(), max(0.1, timeout_s))
    except TimeoutError as exc:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise StreamError(f"ffmpeg did not finish within {timeout_s:.1f}s") from exc
    text = (err or out).decode("utf-8", "replace")
    return process.returncode or 0, " ".join(text.split())


async def ffmpeg_version(ffmpeg: str) -> str:
    """The first line of `ffmpeg -version`; StreamError when ffmpeg is missing or broken."""
    if not Path(ffmpeg).is_file() and shutil.which(ffmpeg) is None:
        raise StreamError(f"ffmpeg not installed ({ffmpeg} not found)")
    try:
        process = await asyncio.create_subprocess_exec(
            ffmpeg,
            "-version",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(process.communicate(), FFMPEG_VERSION_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise StreamError(f"ffmpeg not usable ({ffmpeg}: {exc})") from exc
    first = out.decode("utf-8", "replace").strip().splitlines()
    if process.returncode != 0 or not first:
        raise StreamError(f"ffmpeg not usable ({ffmpeg} -version failed)")
    return first[0][:200]
