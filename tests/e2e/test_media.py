"""Post media saved as files, streams assembled with ffmpeg, the JSON index: real Chromium.

Most tests give the capture a post whose media list they choose (`_WithMedia` below sets
`state.post.media` after the real post step), so what is asserted does not depend on what
an extractor finds; the last one goes through `collector capture` with the real extractor.
HLS and DASH streams are made with ffmpeg at test time and served by the fixture server.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from collector.browser import ARTIFACTS
from collector.browser.media import MEDIA_SCRATCH
from collector.browser.session import CaptureSession
from collector.evidence.bundle.layout import MEDIA_ROLE
from collector.evidence.model import BrowserSettings, CaptureRecord, StepStatus
from collector.evidence.post import MediaItem, PlatformId, Post
from fixtures.server import DEFAULT_SITE_DIR, FixtureServer
from fixtures.streams import HLS_SEGMENTS, STREAM_SECONDS, make_dash, make_hls
from tests.helpers import Cli

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
WARCIO = REPO / ".venv" / "bin" / "warcio"
BAGIT = REPO / ".venv-tools" / "bin" / "bagit.py"
FFPROBE = "/usr/bin/ffprobe"
CHROMIUM = (
    "/usr/lib/chromium/chromium"
    if Path("/usr/lib/chromium/chromium").exists()
    else "/usr/bin/chromium"
)
HERMETIC = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
PHOTO = (DEFAULT_SITE_DIR / "media" / "photo1.png").read_bytes()


class _WithMedia(CaptureSession):
    """A capture whose post has the media list a test gives (test-only)."""

    def __init__(self, *args: Any, media: list[MediaItem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._given = media

    async def _post(self) -> None:
        await super()._post()
        post = self.state.post or Post(platform=PlatformId(evidence="test"), extractor="test")
        post.media = [item.model_copy() for item in self._given]
        self.state.post = post


def settings(**overrides: Any) -> BrowserSettings:
    values: dict[str, Any] = {
        "executable_path": CHROMIUM,
        "navigation_timeout_s": 10.0,
        "settle_timeout_s": 2.0,
        "scroll_max_time_s": 8.0,
        "scroll_idle_ms": 400,
        "total_timeout_s": 60.0,
        "block_private_network": False,
        "host_resolver_rules": HERMETIC,
    }
    values.update(overrides)
    return BrowserSettings(**values)


def capture_with(
    url: str, workdir: Path, media: list[MediaItem], **overrides: Any
) -> CaptureRecord:
    session = _WithMedia(url, settings(**overrides), workdir, media=media)
    return asyncio.run(session.run())


def item(url: str, kind: str = "image") -> MediaItem:
    return MediaItem(kind=kind, url=url, source="test")  # type: ignore[arg-type]


def media_of(record: CaptureRecord) -> list[MediaItem]:
    assert record.post is not None
    return record.post.media


def step_detail(record: CaptureRecord, name: str) -> str:
    return next(s.detail for s in record.steps if s.name == name)


def warc(path: Path) -> list[dict[str, Any]]:
    out = []
    with path.open("rb") as handle:
        for rec in ArchiveIterator(handle):
            http = rec.http_headers
            out.append(
                {
                    "type": rec.rec_type,
                    "uri": rec.rec_headers.get_header("WARC-Target-URI"),
                    "id": rec.rec_headers.get_header("WARC-Record-ID"),
                    "payload_digest": rec.rec_headers.get_header("WARC-Payload-Digest"),
                    "status": http.get_statuscode()
                    if http and rec.rec_type == "response"
                    else None,
                    "headers": dict(http.headers) if http else {},
                    "body": rec.content_stream().read(),
                }
            )
    return out


def sha256_b32(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode()


def probe(path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [FFPROBE, "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout))


def assert_files(workdir: Path, record: CaptureRecord) -> None:
    """The work directory holds exactly the recorded artifacts: no scratch left behind."""
    files = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*") if p.is_file())
    assert files == sorted(record.artifacts)
    assert not (workdir / MEDIA_SCRATCH).exists()


@pytest.fixture(scope="module")
def streams(site: FixtureServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HLS and DASH made now with ffmpeg, served at /generated/streams/ (the pages expect it)."""
    root = tmp_path_factory.mktemp("streams")
    make_hls(root / "hls")
    make_dash(root / "dash")
    site.mount("streams", root)
    return root


# ------------------------------------------------------------------ images and the JSON index


def test_image_the_page_loaded_is_copied_from_the_warc_and_json_is_indexed(
    site: FixtureServer, tmp_path: Path
) -> None:
    start = time.monotonic()
    record = capture_with(
        site.http_url("/mastodon/status.html"),
        tmp_path,
        [item("/media/photo1.png")],
        platform_json_max=3,
    )
    seconds = time.monotonic() - start
    (saved,) = media_of(record)
    assert saved.artifact == "media/001-photo1.png" and saved.obtained == "network-record"
    assert (tmp_path / saved.artifact).read_bytes() == PHOTO
    assert (saved.sha256, saved.size, saved.content_type, saved.skipped) == (
        hashlib.sha256(PHOTO).hexdigest(),
        len(PHOTO),
        "image/png",
        None,
    )
    assert record.artifacts == [*ARTIFACTS, "media/001-photo1.png"]
    assert_files(tmp_path, record)
    records = warc(tmp_path / "traffic.warc.gz")
    photo = [r for r in records if r["type"] == "response" and r["uri"].endswith("/photo1.png")]
    assert len(photo) == 1 and photo[0]["payload_digest"] == sha256_b32(PHOTO)
    assert "tool-fetch" not in records[0]["body"].decode()  # nothing fetched by the tool
    # The JSON index: the first 3 of the 4 thread pages, each pointing at its WARC record.
    index = record.platform_json
    assert [j.url.rsplit("=", 1)[1] for j in index] == ["1", "2", "3"]
    assert record.platform_json_omitted == 1
    assert "platform_json_max=3" in step_detail(record, "warc")
    by_id = {r["id"]: r for r in records}
    for entry in index:
        stored = by_id[entry.warc_record_id]
        assert stored["type"] == "response" and stored["uri"] == entry.url
        assert entry.sha256 == hashlib.sha256(stored["body"]).hexdigest()
        assert entry.size == len(stored["body"]) and json.loads(stored["body"])["page"]
        assert (entry.method, entry.status, entry.resource_type) == ("GET", 200, "fetch")
        assert entry.content_type == "application/json"
    assert seconds < 30, seconds


def test_media_the_page_did_not_load_is_fetched_hop_by_hop_and_archived(
    site: FixtureServer, tmp_path: Path
) -> None:
    before = len(site.requests)
    record = capture_with(site.http_url("/login-wall.html"), tmp_path, [item("/m/photo1")])
    (saved,) = media_of(record)
    assert saved.obtained == "fetched" and saved.artifact == "media/001-photo1.png"
    assert (tmp_path / saved.artifact).read_bytes() == PHOTO
    assert saved.sha256 == hashlib.sha256(PHOTO).hexdigest()
    seen = site.requests[before:]
    assert ("GET", "/m/photo1") in seen and ("GET", "/media/photo1.png") in seen
    records = warc(tmp_path / "traffic.warc.gz")
    hop = next(r for r in records if r["type"] == "response" and r["uri"].endswith("/m/photo1"))
    assert hop["status"] == "302" and hop["headers"]["Location"] == "/media/photo1.png"
    final = next(
        r for r in records if r["type"] == "response" and r["uri"].endswith("/media/photo1.png")
    )
    assert final["status"] == "200" and final["body"] == PHOTO
    request = next(
        r for r in records if r["type"] == "request" and r["uri"].endswith("/media/photo1.png")
    )
    assert request["headers"]["User-Agent"] == record.browser.user_agent
    assert request["headers"]["Accept-Encoding"] == "identity"
    assert request["headers"]["Range"] == "bytes=0-200000000"  # media_max_item_bytes
    assert request["headers"]["Referer"] == site.http_url("/login-wall.html")
    info = records[0]["body"].decode()
    assert info.count("tool-fetch: ") == 2 and site.http_url("/m/photo1") in info
    # The tool's exchanges count as traffic like the page's: the WARC stays consistent.
    assert 2 * record.network.responses == record.network.warc_records - 1 == len(records) - 1
    check = subprocess.run(
        [WARCIO, "check", tmp_path / "traffic.warc.gz"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    assert "2 request(s) made by the tool" in step_detail(record, "media")
    assert_files(tmp_path, record)


def test_tool_fetch_obeys_the_private_network_rule(site: FixtureServer, tmp_path: Path) -> None:
    before = len(site.requests)
    private = site.http_url("/media/photo1.png")  # 127.0.0.1: loopback, not the allowed origin
    record = capture_with(
        f"http://public.test:{site.http_port}/login-wall.html",
        tmp_path,
        [item(private)],
        block_private_network=True,
        allowed_hosts=[f"public.test:{site.http_port}"],
        host_resolver_rules=f"MAP public.test 127.0.0.1, {HERMETIC}",
    )
    (skipped,) = media_of(record)
    assert skipped.artifact is None and skipped.obtained is None
    assert skipped.skipped is not None and "refused by the egress point" in skipped.skipped
    assert "loopback" in skipped.skipped
    assert ("GET", "/media/photo1.png") not in site.requests[before:]  # nothing left the tool
    blocked = [c.detail for c in record.changes if c.kind == "request-blocked"]
    assert blocked == [f"GET {private} (tool): 127.0.0.1:{site.http_port}: loopback address"]
    assert record.network.blocked == 1
    assert "skipped: refused by the egress point" in step_detail(record, "media")
    assert_files(tmp_path, record)


def test_caps_and_unusable_items_are_skipped_with_their_reason(
    site: FixtureServer, tmp_path: Path
) -> None:
    given = [
        item("/media/photo1.png"),  # 3187 bytes: over the per-item cap
        item("/media/avatar-1.png"),  # 323 bytes: saved
        item("/media/avatar-1.png#again"),  # the same file again
        item("/media/avatar-2.png"),  # 318 bytes: would pass the total cap
        item("data:image/png;base64,iVBORw0KGgo="),
        item("/media/favicon.png"),  # 153 bytes: saved, the second item
        item("/media/avatar-3.png"),  # the item cap is reached
    ]
    record = capture_with(
        site.http_url("/mastodon/status.html"),
        tmp_path,
        given,
        media_max_items=2,
        media_max_item_bytes=3000,
        media_max_total_bytes=500,
    )
    items = media_of(record)
    saved = [i.artifact for i in items]
    assert saved == [
        None,
        "media/002-avatar-1.png",
        None,
        None,
        None,
        "media/006-favicon.png",
        None,
    ]
    reasons = [i.skipped or "" for i in items]
    assert "media_max_item_bytes=3000" in reasons[0]
    assert reasons[2] == "same URL as an earlier item"
    assert "media_max_total_bytes=500" in reasons[3]
    assert "not an http(s) resource" in reasons[4]
    assert "media_max_items=2" in reasons[6]
    detail = step_detail(record, "media")
    for position in (1, 3, 4, 5, 7):
        reason = reasons[position - 1]
        assert f"#{position} image" in detail and f"skipped: {reason}" in detail
    assert "2 of 7 item(s) saved, 5 skipped" in detail
    assert_files(tmp_path, record)


# ------------------------------------------------------------------ streams


def test_hls_stream_is_assembled_from_the_segments_the_page_loaded(
    site: FixtureServer, streams: Path, tmp_path: Path
) -> None:
    start = time.monotonic()
    master = "/generated/streams/hls/master.m3u8"
    record = capture_with(site.http_url("/streaming/hls.html"), tmp_path, [item(master, "stream")])
    seconds = time.monotonic() - start
    (saved,) = media_of(record)
    assert saved.artifact == "media/001-master.mp4", saved.skipped
    output = tmp_path / saved.artifact
    assert saved.sha256 == hashlib.sha256(output.read_bytes()).hexdigest()
    assert saved.content_type == "video/mp4" and saved.size == output.stat().st_size
    info = probe(output)
    assert abs(float(info["format"]["duration"]) - STREAM_SECONDS) < 0.3
    assert sorted(s["codec_name"] for s in info["streams"]) == ["aac", "h264"]
    (assembly,) = record.streams
    assert assembly.format == "hls" and assembly.url == site.http_url(master)
    assert assembly.playlists == [site.http_url("/generated/streams/hls/stream.m3u8")]
    assert (assembly.segments_listed, assembly.segments_used, assembly.missing) == (
        HLS_SEGMENTS,
        HLS_SEGMENTS,
        [],
    )
    assert assembly.note.startswith("complete")
    assert (assembly.artifact, assembly.sha256) == (saved.artifact, saved.sha256)
    assert (assembly.ffmpeg_version or "").startswith("ffmpeg version")
    command = assembly.ffmpeg_command
    assert command[command.index("-protocol_whitelist") + 1] == "file"
    assert command[command.index("-c") : command.index("-c") + 2] == ["-c", "copy"]
    assert not any(str(tmp_path) in part for part in command)
    assert "<scratch>/input-0/local.m3u8" in command
    # The segments are in the WARC exactly as served.
    records = warc(tmp_path / "traffic.warc.gz")
    for n in range(HLS_SEGMENTS):
        body = (streams / "hls" / f"seg{n:03d}.ts").read_bytes()
        assert any(
            r["type"] == "response" and r["uri"].endswith(f"/seg{n:03d}.ts") and r["body"] == body
            for r in records
        )
    assert_files(tmp_path, record)
    assert seconds < 30, seconds


def test_dash_stream_is_assembled_from_its_representations(
    site: FixtureServer, streams: Path, tmp_path: Path
) -> None:
    mpd = "/generated/streams/dash/stream.mpd"
    record = capture_with(site.http_url("/streaming/dash.html"), tmp_path, [item(mpd, "stream")])
    (saved,) = media_of(record)
    assert saved.artifact == "media/001-stream.mp4", saved.skipped
    info = probe(tmp_path / saved.artifact)
    assert abs(float(info["format"]["duration"]) - STREAM_SECONDS) < 0.3
    assert sorted(s["codec_type"] for s in info["streams"]) == ["audio", "video"]
    (assembly,) = record.streams
    assert assembly.format == "dash" and assembly.segments_used == assembly.segments_listed == 6
    assert [p.rsplit("#", 1)[1] for p in assembly.playlists] == ["video/0", "audio/1"]
    assert assembly.ffmpeg_command.count("-protocol_whitelist") == 2
    assert_files(tmp_path, record)


def test_partly_loaded_stream_is_assembled_and_says_what_is_missing(
    site: FixtureServer, streams: Path, tmp_path: Path
) -> None:
    master = "/generated/streams/hls/master.m3u8"
    record = capture_with(
        site.http_url("/streaming/hls.html?limit=2"), tmp_path, [item(master, "stream")]
    )
    (saved,) = media_of(record)
    assert saved.artifact == "media/001-master.mp4", saved.skipped
    assert abs(float(probe(tmp_path / saved.artifact)["format"]["duration"]) - 2) < 0.3
    (assembly,) = record.streams
    assert (assembly.segments_listed, assembly.segments_used) == (3, 2)
    assert assembly.missing == [site.http_url("/generated/streams/hls/seg002.ts")]
    assert assembly.note.startswith("partial: segments 1-2 of 3")


def test_streams_without_ffmpeg_or_not_loaded_are_skipped_not_fetched(
    site: FixtureServer, streams: Path, tmp_path: Path
) -> None:
    before = len(site.requests)
    record = capture_with(
        site.http_url("/streaming/hls.html"),
        tmp_path,
        [
            item("/generated/streams/hls/master.m3u8", "stream"),
            item("/generated/streams/dash/stream.mpd", "video"),  # a stream, whatever its kind
        ],
        ffmpeg_path="/nonexistent/ffmpeg",
    )
    hls, dash = media_of(record)
    assert hls.artifact is None and "ffmpeg not installed (/nonexistent/ffmpeg not found)" in (
        hls.skipped or ""
    )
    assert record.streams[0].note == "ffmpeg not installed (/nonexistent/ffmpeg not found)"
    assert dash.artifact is None and "never fetched" in (dash.skipped or "")
    assert ("GET", "/generated/streams/dash/stream.mpd") not in site.requests[before:]
    assert all(s.status is not StepStatus.failed for s in record.steps)
    assert record.artifacts == list(ARTIFACTS)
    assert_files(tmp_path, record)


# ------------------------------------------------------------------ through `collector capture`


def test_capture_seals_post_media_into_the_bundle(store: Cli, site: FixtureServer) -> None:
    auth_id = store.approved([site.http_url("/*")])
    result = store.json(
        "capture", site.http_url("/mastodon/status.html"), "--auth", auth_id, as_user="alice"
    )
    bundle = Path(result["path"])
    metadata = json.loads((bundle / "data" / "metadata.json").read_text())
    media = [m for m in metadata["capture"]["post"]["media"] if m["artifact"]]
    assert media, metadata["capture"]["post"]["media"]
    artifacts = {a["path"]: a for a in metadata["artifacts"]}
    for entry in media:
        path = bundle / "data" / entry["artifact"]
        assert entry["artifact"].startswith("media/") and path.is_file()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        described = artifacts[entry["artifact"]]
        assert entry["sha256"] == described["sha256"] == digest
        assert described["role"] == MEDIA_ROLE and described["size"] == entry["size"]
    photo = next(a for a in artifacts.values() if a["path"].endswith("-photo1.png"))
    assert (photo["mime_type"], photo["width"], photo["height"]) == ("image/png", 600, 400)
    assert (
        f"{photo['sha256']}  data/{photo['path']}" in (bundle / "manifest-sha256.txt").read_text()
    )
    assert metadata["capture"]["platform_json"], "the thread's JSON pages are indexed"
    verify = store.run("verify", result["bundle_id"])
    assert verify.returncode == 0 and "VERIFIED" in verify.stdout, verify.stdout + verify.stderr
    bagit = subprocess.run([BAGIT, "--validate", bundle], capture_output=True, text=True)
    assert bagit.returncode == 0, bagit.stderr
