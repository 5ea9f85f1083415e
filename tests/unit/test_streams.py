"""Pure parts of stream assembly: parsing HLS and DASH manifests, rewriting playlists."""

from __future__ import annotations

import pytest

from collector.browser.streams import (
    MasterPlaylist,
    MediaPlaylist,
    StreamError,
    expand_template,
    leading_run,
    local_playlist,
    parse_duration,
    parse_hls,
    parse_mpd,
    stream_format,
)

BASE = "https://video.example/v/1/master.m3u8"

MASTER = """#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",DEFAULT=YES,URI="audio/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,AUDIO="aud"
low/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2400000,CODECS="avc1.4d401f,mp4a.40.2",AUDIO="aud"
https://cdn.example/high/index.m3u8?token=abc
"""

MEDIA = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-PROGRAM-DATE-TIME:2026-11-20T14:03:00Z
#EXTINF:4.0,title with "quotes" and a newline attempt
seg-100.ts
#EXT-X-DISCONTINUITY
#EXTINF:3.5,
../other/seg-101.ts?sig=1
#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example/k1",IV=0x0123456789abcdef0123456789abcdef
#EXTINF:4,
/abs/seg-102.ts
#EXT-X-RENDITION-REPORT:URI="http://169.254.169.254/latest"
#EXTINF:4,
file:///etc/passwd
"""


def test_master_playlist_lists_variants_and_audio_renditions() -> None:
    master = parse_hls(MASTER, BASE)
    assert isinstance(master, MasterPlaylist)
    assert [(v.uri, v.bandwidth, v.audio_group) for v in master.variants] == [
        ("https://video.example/v/1/low/index.m3u8", 800000, "aud"),
        ("https://cdn.example/high/index.m3u8?token=abc", 2400000, "aud"),
    ]
    assert [(r.uri, r.group, r.default) for r in master.renditions] == [
        ("https://video.example/v/1/audio/en.m3u8", "aud", True)
    ]


def test_media_playlist_resolves_uris_and_carries_keys_and_sequence() -> None:
    media = parse_hls(MEDIA, "https://video.example/v/1/low/index.m3u8")
    assert isinstance(media, MediaPlaylist)
    assert media.target_duration == 4 and media.version == 3
    assert [s.uri for s in media.segments] == [
        "https://video.example/v/1/low/seg-100.ts",
        "https://video.example/v/1/other/seg-101.ts?sig=1",
        "https://video.example/abs/seg-102.ts",
        "file:///etc/passwd",
    ]
    assert [s.sequence for s in media.segments] == [100, 101, 102, 103]
    assert [s.discontinuity for s in media.segments] == [False, True, False, False]
    assert media.segments[0].key is None and media.segments[2].key is not None
    assert media.segments[3].key == media.segments[2].key  # a key applies until changed


def test_local_playlist_is_rebuilt_from_parsed_values_only() -> None:
    media = parse_hls(MEDIA, "https://video.example/v/1/low/index.m3u8")
    assert isinstance(media, MediaPlaylist)
    used = media.segments[1:3]
    names = {s.uri: f"seg-{i:05d}.ts" for i, s in enumerate(used, 1)}
    names["https://keys.example/k1"] = "key-1.key"
    text = local_playlist(media, used, names)
    assert text.splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:4",
        "#EXT-X-MEDIA-SEQUENCE:101",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXTINF:3.500000,",
        "seg-00001.ts",
        '#EXT-X-KEY:METHOD=AES-128,URI="key-1.key",IV=0x0123456789abcdef0123456789abcdef',
        "#EXTINF:4.000000,",
        "seg-00002.ts",
        "#EXT-X-ENDLIST",
    ]
    # Nothing of the web's text survives: no titles, no foreign URIs, no unknown tags.
    for leaked in ("quotes", "http", "169.254", "file:", "RENDITION", "PROGRAM-DATE"):
        assert leaked not in text


def test_local_playlist_refuses_entries_without_a_local_file_or_a_usable_key() -> None:
    media = parse_hls(MEDIA, "https://video.example/v/1/low/index.m3u8")
    assert isinstance(media, MediaPlaylist)
    with pytest.raises(StreamError, match="no local file"):
        local_playlist(media, media.segments[:1], {})
    with pytest.raises(StreamError, match="no local file"):
        local_playlist(media, media.segments[:1], {media.segments[0].uri: "../../etc/passwd"})
    drm = parse_hls(
        '#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://x",KEYFORMAT="com.apple.streamingkeydelivery"\n'
        "#EXTINF:4,\na.ts\n",
        BASE,
    )
    assert isinstance(drm, MediaPlaylist)
    with pytest.raises(StreamError, match="only AES-128"):
        local_playlist(drm, drm.segments, {drm.segments[0].uri: "seg-00001.ts"})


def test_malformed_playlists_are_stream_errors() -> None:
    with pytest.raises(StreamError, match="#EXTM3U"):
        parse_hls("<html>not a playlist</html>", BASE)
    with pytest.raises(StreamError, match="EXTINF"):
        parse_hls("#EXTM3U\n#EXTINF:nan,\na.ts\n", BASE)


def test_leading_run_is_the_first_unbroken_run_of_loaded_segments() -> None:
    uris = ["a", "b", "c", "d", "e"]
    assert leading_run(uris, {"a", "b", "c", "d", "e"}) == (0, 5)
    assert leading_run(uris, {"a", "b", "d"}) == (0, 2)
    assert leading_run(uris, {"c", "d"}) == (2, 4)
    assert leading_run(uris, set()) == (0, 0)


@pytest.mark.parametrize(
    ("url", "content_type", "head", "fmt"),
    [
        ("https://x/a.m3u8", None, b"", "hls"),
        ("https://x/a", "application/vnd.apple.mpegurl", b"", "hls"),
        ("https://x/a", "application/x-mpegURL; charset=utf-8", b"", "hls"),
        ("https://x/a.mpd?x=1", None, b"", "dash"),
        ("https://x/a", "application/dash+xml", b"", "dash"),
        ("https://x/a", "text/plain", b"#EXTM3U\n", "hls"),
        ("https://x/a", "text/xml", b'<?xml version="1.0"?><MPD>', "dash"),
        ("https://x/a.mp4", "video/mp4", b"\x00\x00\x00\x18ftyp", None),
    ],
)
def test_stream_format(url: str, content_type: str | None, head: bytes, fmt: str | None) -> None:
    assert stream_format(url, content_type, head) == fmt


# ------------------------------------------------------------------ DASH

MPD = b"""<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT3.0S">
 <BaseURL>https://cdn.example/dash/</BaseURL>
 <Period id="0">
  <AdaptationSet contentType="video">
   <Representation id="v1" mimeType="video/mp4" bandwidth="1000">
    <SegmentTemplate timescale="12800" initialization="init-$RepresentationID$.m4s"
        media="chunk-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
     <SegmentTimeline><S t="0" d="12800" r="2"/></SegmentTimeline>
    </SegmentTemplate>
   </Representation>
  </AdaptationSet>
  <AdaptationSet contentType="audio" mimeType="audio/webm">
   <SegmentTemplate timescale="1000" duration="1000" media="a/$Bandwidth$/$Time$.webm"
       initialization="a/$Bandwidth$/init.webm"/>
   <Representation id="a1" bandwidth="64000"/>
  </AdaptationSet>
  <AdaptationSet contentType="text">
   <Representation id="t1" mimeType="text/vtt"><BaseURL>subs/en.vtt</BaseURL></Representation>
  </AdaptationSet>
  <AdaptationSet mimeType="video/mp4">
   <Representation id="list" bandwidth="5">
    <SegmentList><Initialization sourceURL="l/init.mp4"/>
     <SegmentURL media="l/1.m4s"/><SegmentURL media="l/2.m4s"/></SegmentList>
   </Representation>
  </AdaptationSet>
 </Period>
</MPD>"""


def test_mpd_templates_timelines_and_lists_are_expanded() -> None:
    video, audio, text, listed = parse_mpd(MPD, "https://site.example/watch/stream.mpd")
    rep = video[0]
    assert (rep.id, rep.content, rep.container) == ("v1", "video", "mp4")
    assert rep.init == "https://cdn.example/dash/init-v1.m4s"
    assert rep.segments == [f"https://cdn.example/dash/chunk-v1-{n:05d}.m4s" for n in (1, 2, 3)]
    sound = audio[0]
    assert (sound.content, sound.container) == ("audio", "webm")
    assert sound.init == "https://cdn.example/dash/a/64000/init.webm"
    assert sound.segments == [f"https://cdn.example/dash/a/64000/{t}.webm" for t in (0, 1000, 2000)]
    assert text[0].segments == ["https://cdn.example/dash/subs/en.vtt"]
    assert listed[0].init == "https://cdn.example/dash/l/init.mp4"
    assert listed[0].segments == [
        "https://cdn.example/dash/l/1.m4s",
        "https://cdn.example/dash/l/2.m4s",
    ]


def test_hostile_or_unsupported_manifests_are_stream_errors() -> None:
    entity = (
        b'<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<MPD type="static"><Period><AdaptationSet><Representation id="&x;">'
        b"<BaseURL>a.mp4</BaseURL></Representation></AdaptationSet></Period></MPD>"
    )
    with pytest.raises(StreamError, match="DTD"):  # never read, never expanded: refused
        parse_mpd(entity, "https://x.example/a.mpd")
    laughs = b'<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY a "aaaaaaaaaa">]><MPD a="&a;"/>'
    with pytest.raises(StreamError, match="DTD"):
        parse_mpd(laughs, "https://x.example/a.mpd")
    with pytest.raises(StreamError, match="live DASH"):
        parse_mpd(b'<MPD type="dynamic"><Period/></MPD>', "https://x.example/a.mpd")
    with pytest.raises(StreamError, match="malformed"):
        parse_mpd(b"<MPD", "https://x.example/a.mpd")
    with pytest.raises(StreamError, match="no MPD"):
        parse_mpd(b"<html/>", "https://x.example/a.mpd")


def test_template_expansion_and_durations() -> None:
    assert (
        expand_template("$RepresentationID$/$Number%03d$-$Time$-$Bandwidth$$$.m4s", "v", 9, 7, 42)
        == "v/007-42-9$.m4s"
    )
    assert parse_duration("PT3.0S") == 3.0
    assert parse_duration("PT1H2M3.5S") == 3723.5
    assert parse_duration("P1DT1S") == 86401.0
    assert parse_duration("soon") is None and parse_duration(None) is None
