"""Pure parts of saving post media: hostile names, sniffed extensions, caps, the JSON index."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.browser.media import (
    Budget,
    entity_size,
    extension_for,
    is_mpeg_ts,
    media_name,
    orphans,
    referer_for,
    safe_stem,
    sniff,
)
from collector.browser.traffic_index import TrafficIndex, is_complete, is_json_type, looks_like_json
from collector.browser.warc import Exchange, Written
from collector.evidence.bundle.layout import MEDIA_ROLE, artifact_role
from collector.evidence.model import BrowserSettings

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


@pytest.mark.parametrize(
    ("url", "stem"),
    [
        ("https://cdn.example/media/photo1.png", "photo1"),
        ("https://cdn.example/a/../../etc/passwd", "passwd"),
        ("https://cdn.example/%2e%2e%2f%2e%2e%2fetc%2fshadow.jpg", "etc-shadow"),
        ("https://cdn.example/x/..%2F..%2Fboot.ini", "boot"),
        ("https://cdn.example/.htaccess", "htaccess"),
        ("https://cdn.example/-rf%20--no-preserve-root.mp4", "rf-no-preserve-root"),
        ("https://cdn.example/ph%C3%B6to%20caf%C3%A9.jpg?sig=abc#frag", "photo-cafe"),
        ("https://cdn.example/%E4%B8%AD%E6%96%87.png", "image"),
        ("https://cdn.example/", "image"),
        ("https://cdn.example/a%00b.png", "a-b"),
        ("https://cdn.example/CON", "CON"),
        ("https://cdn.example/" + "a" * 300 + ".png", "a" * 60),
        ("https://cdn.example/name.with.dots.tar.gz", "name-with-dots-tar"),
        ("https://cdn.example/$(reboot);`id`|x.png", "reboot-id-x"),
    ],
)
def test_file_names_from_the_web_become_safe_slugs(url: str, stem: str) -> None:
    assert safe_stem(url, "image") == stem


def test_media_name_is_numbered_under_media_and_has_a_role() -> None:
    name = media_name(7, "https://x.example/a/../<script>.jpeg", "image", "image/jpeg")
    assert name == "media/007-script.jpg"
    assert artifact_role(name) == MEDIA_ROLE
    assert artifact_role("media/../metadata.json") == "artifact"
    assert Path(name).parts == ("media", "007-script.jpg")


@pytest.mark.parametrize(
    ("mime", "ext"),
    [
        ("image/jpeg", "jpg"),
        ("image/png", "png"),
        ("video/mp4", "mp4"),
        ("video/mp2t", "ts"),
        ("audio/mpeg", "mp3"),
        ("image/svg+xml", "svg"),
        ("application/pdf", "pdf"),
        ("application/x-nonsense-type", "bin"),
        ("text/html; charset=utf-8", "html"),
    ],
)
def test_extension_comes_from_the_sniffed_type(mime: str, ext: str) -> None:
    assert extension_for(mime) == ext


def test_sniffing_ignores_what_the_url_claims() -> None:
    assert sniff(PNG + b"\x00" * 64) == "image/png"
    assert sniff(b"<html><body>not an image</body></html>") == "text/html"
    ts = b"".join(b"\x47" + bytes(187) for _ in range(5))
    assert is_mpeg_ts(ts) and sniff(ts) == "video/mp2t"
    assert not is_mpeg_ts(b"\x47" + bytes(100))
    assert sniff(b"") == "application/x-empty"


def test_referer_follows_the_browser_default_policy() -> None:
    page = "https://social.example/@a/1?x=1#top"
    assert referer_for(page, "https://social.example/m.png") == "https://social.example/@a/1?x=1"
    assert referer_for(page, "https://cdn.example/m.png") == "https://social.example/"
    assert referer_for(page, "http://cdn.example/m.png") == ""


def test_caps_refuse_with_the_setting_named() -> None:
    settings = BrowserSettings(
        media_max_items=2, media_max_item_bytes=100, media_max_total_bytes=150
    )
    budget = Budget.of(settings, 60.0)
    assert budget.refusal(100) is None
    assert "media_max_item_bytes=100" in (budget.refusal(101) or "")
    budget.take(100)
    assert "media_max_total_bytes=150" in (budget.refusal(51) or "")
    assert budget.refusal(50) is None and budget.refusal(None) is None
    budget.take(50)
    assert "media_max_items=2" in (budget.refusal(1) or "")
    expired = Budget.of(settings, 0.0)
    assert "no time left" in (expired.refusal(1) or "")
    assert expired.ends_at <= time.monotonic()


def test_entity_size_from_content_range() -> None:
    assert entity_size([("Content-Range", "bytes 0-99/3187")]) == 3187
    assert entity_size([("content-range", "bytes 0-99/*")]) is None
    assert entity_size([]) is None


def test_orphans_are_files_under_media_no_artifact_names(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "001-a.png").write_bytes(b"a")
    (tmp_path / "media" / ".002-b.part").write_bytes(b"b")
    assert orphans(tmp_path, ["media/001-a.png"]) == [tmp_path / "media" / ".002-b.part"]
    assert orphans(tmp_path / "none", []) == []


# ------------------------------------------------------------------ the traffic index


@pytest.mark.parametrize(
    ("content_type", "json"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        ("text/json", True),
        ("application/activity+json", True),
        ("application/ld+json; profile=x", True),
        ("text/html", False),
        ("application/javascript", False),
        (None, False),
    ],
)
def test_json_content_types(content_type: str | None, json: bool) -> None:
    assert is_json_type(content_type) is json


@pytest.mark.parametrize(
    ("body", "json"),
    [
        (b'{"id": "1"}', True),
        (b"\xef\xbb\xbf  [1, 2]", True),
        (b')]}\'\n{"a": 1}', True),
        (b'for (;;);{"payload": 1}', True),
        (b"{not json", False),
        (b"<html>", False),
        (b"", False),
        (b"12", False),
    ],
)
def test_json_bodies(body: bytes, json: bool) -> None:
    assert looks_like_json(body) is json


def test_completeness_of_stored_bodies() -> None:
    assert is_complete(200, [], 10, truncated=False)
    assert not is_complete(200, [], 0, truncated=True)
    assert is_complete(206, [("Content-Range", "bytes 0-9/10")], 10, truncated=False)
    assert not is_complete(206, [("Content-Range", "bytes 0-9/100")], 10, truncated=False)
    assert not is_complete(206, [], 10, truncated=False)
    assert not is_complete(404, [], 10, truncated=False)


def _exchange(url: str, body: bytes, content_type: str, status: int = 200) -> Exchange:
    return Exchange(
        url=url,
        method="GET",
        request_headers=[],
        request_body=None,
        status=status,
        reason="OK",
        response_headers=[("Content-Type", content_type)],
        body=body,
        received_at=datetime(2026, 11, 20, tzinfo=UTC),
        server_ip=None,
    )


def test_index_lists_json_with_digest_and_record_id_up_to_its_cap() -> None:
    index = TrafficIndex(json_max=2)
    api = _exchange("https://x.example/api/1", b'{"a": 1}', "application/json")
    index.add([api.url], api, Written("<urn:uuid:1>", 0), "fetch")
    xhr = _exchange("https://x.example/graphql", b'{"data": {}}', "text/plain")
    index.add([xhr.url], xhr, Written("<urn:uuid:2>", 100), "xhr")
    script = _exchange("https://x.example/app.js", b"[1]", "text/plain")
    index.add([script.url], script, Written("<urn:uuid:3>", 200), "script")  # not xhr/fetch
    extra = _exchange("https://x.example/api/2", b"{}", "application/json")
    index.add([extra.url], extra, Written("<urn:uuid:4>", 300), "fetch")
    assert [(j.url, j.warc_record_id) for j in index.json] == [
        ("https://x.example/api/1", "<urn:uuid:1>"),
        ("https://x.example/graphql", "<urn:uuid:2>"),
    ]
    first = index.json[0]
    assert first.size == 8 and first.resource_type == "fetch" and first.method == "GET"
    assert first.sha256 == hashlib.sha256(b'{"a": 1}').hexdigest()
    assert index.json_omitted == 1


def test_index_follows_redirects_and_prefers_whole_bodies() -> None:
    index = TrafficIndex(json_max=0, locations_max=3)
    partial = _exchange("https://cdn.example/v.mp4", b"xx", "video/mp4", status=206)
    index.add([partial.url], partial, Written("<urn:uuid:1>", 0), "media")
    assert index.location("https://cdn.example/v.mp4#t=3") is not None
    whole = _exchange("https://cdn.example/v.mp4", b"xxxx", "video/mp4")
    index.add(
        ["https://cdn.example/v.mp4", "https://x.example/r"],
        whole,
        Written("<urn:uuid:2>", 9),
        "other",
    )
    found = index.location("https://x.example/r")
    assert found is not None and found.complete and found.offset == 9
    assert index.location("https://cdn.example/v.mp4") == found
    more = _exchange("https://cdn.example/w.mp4", b"x", "video/mp4")
    index.add(
        ["https://a.example/1", "https://a.example/2"], more, Written("<urn:uuid:3>", 20), "other"
    )
    assert index.locations_omitted == 1  # the cap of 3 URLs was reached
