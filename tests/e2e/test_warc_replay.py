"""The captured WARC replays offline in pywb: the post and its lazily loaded replies come back
with the fixture server stopped, so nothing live can answer."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from collector.browser import capture
from collector.evidence.model import BrowserSettings
from fixtures.server import THREAD_TOTAL, FixtureServer, reply_marker
from scripts.replay_check import build_collection, replay_text

pytestmark = pytest.mark.e2e

CHROMIUM = (
    "/usr/lib/chromium/chromium"
    if Path("/usr/lib/chromium/chromium").exists()
    else "/usr/bin/chromium"
)
HERMETIC = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
POST_TEXT = "Found this bike dumped on the river trail again this morning."


def test_captured_thread_replays_offline_in_pywb(tmp_path: Path) -> None:
    workdir = tmp_path / "capture"
    with FixtureServer() as fx:
        original = fx.http_url("/mastodon/status.html")
        record = capture(
            original,
            BrowserSettings(
                executable_path=CHROMIUM,
                navigation_timeout_s=10,
                settle_timeout_s=1.5,
                scroll_max_time_s=8,
                scroll_idle_ms=400,
                total_timeout_s=40,
                block_private_network=False,
                host_resolver_rules=HERMETIC,
            ),
            workdir,
        )
    assert record.status == 200
    with pytest.raises(OSError):  # the live site is gone: only the archive can answer
        urllib.request.urlopen(original, timeout=2)

    index = build_collection(tmp_path / "index-check", workdir / "traffic.warc.gz")
    for page in range(1, 5):
        assert f"context?page={page}" in index  # every lazily loaded page is in the archive

    last = reply_marker(THREAD_TOTAL)
    text = replay_text(workdir / "traffic.warc.gz", original, chromium=CHROMIUM, scroll_until=last)
    assert POST_TEXT in text
    missing = [n for n in range(1, THREAD_TOTAL + 1) if reply_marker(n) not in text]
    assert missing == []  # every page of the thread came back from the archive
