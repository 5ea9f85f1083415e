"""Streamed video (HLS, DASH) put together from the segments the page loaded.

The segments stay in the WARC as the browser received them. This module reads the
manifest and the segments back from the WARC, writes them to a scratch directory under
names of its own, and has ffmpeg copy them (no re-encoding) into one playable file:

- HLS: a new media playlist is written from the parsed one, keeping only the tags ffmpeg
  needs, with every URI replaced by a local file name and `#EXT-X-ENDLIST` added (so
  ffmpeg never waits for a live playlist to grow);
- DASH: for each adaptation set the representation the page loaded most of is chosen, and
  its initialization segment and media segments are concatenated into one track file.

Nothing from the web reaches a path or a command line: file names are ours, the playlist
is rebuilt from parsed values with strict character sets, and ffmpeg runs with
`-protocol_whitelist file` (plus `crypto` for AES-128 HLS), so it can open local files only.
Only segments the page itself loaded are used, never fetched: the first unbroken run of
recorded segments in playlist order. What was left out is recorded (`StreamAssembly`).

Modules: `formats` (detection and limits), `hls`, `dash`, `assemble` (segments and ffmpeg).
"""

from __future__ import annotations

from collector.browser.streams.assemble import Assembled, Assembler, ffmpeg_version
from collector.browser.streams.dash import expand_template, parse_duration, parse_mpd
from collector.browser.streams.formats import MANIFEST_MAX_BYTES, StreamError, stream_format
from collector.browser.streams.hls import (
    MasterPlaylist,
    MediaPlaylist,
    leading_run,
    local_playlist,
    parse_hls,
)

__all__ = [
    "MANIFEST_MAX_BYTES",
    "Assembled",
    "Assembler",
    "MasterPlaylist",
    "MediaPlaylist",
    "StreamError",
    "expand_template",
    "ffmpeg_version",
    "leading_run",
    "local_playlist",
    "parse_duration",
    "parse_hls",
    "parse_mpd",
    "stream_format",
]
