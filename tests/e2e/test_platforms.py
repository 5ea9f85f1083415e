"""The post and the page state, read from real captures: the fixture site and real saved pages.

Real pages are served from 127.0.0.1 (every other host unresolvable), so their platform can
only be *claimed by the page*; the established case is covered by tests/unit/test_real_pages.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collector.browser import capture
from collector.evidence.model import BrowserSettings, CaptureRecord
from fixtures.server import FixtureServer
from tests.helpers import Cli
from tests.real_pages import LOCAL, Expect, check, rows

pytestmark = pytest.mark.e2e


def settings(**overrides: Any) -> BrowserSettings:
    base: dict[str, Any] = {
        "navigation_timeout_s": 10.0,
        "settle_timeout_s": 1.0,
        "scroll_max_time_s": 3.0,
        "total_timeout_s": 30.0,
        "block_private_network": False,
        "host_resolver_rules": "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    }
    base.update(overrides)
    return BrowserSettings(**base)


def metadata(result: dict[str, Any]) -> dict[str, Any]:
    return json.loads((Path(result["path"]) / "data" / "metadata.json").read_text())


def test_sealed_status_carries_the_post_read_from_the_page(sealed: dict[str, Any]) -> None:
    post = metadata(sealed["result"])["capture"]["post"]
    state = metadata(sealed["result"])["capture"]["page_state"]
    assert state["state"] == "content"
    assert post["platform"]["id"] == "mastodon"
    # 127.0.0.1 is no Mastodon host: the page's ActivityPub link only claims it.
    assert post["platform"]["basis"] == "claimed"
    assert "127.0.0.1" in post["platform"]["evidence"]
    assert post["post_id"] == "109876543210"
    assert post["author_name"] == "Alice Example"
    assert post["author_handle"] == "@alice@social.example"
    assert post["published_at"] == "2026-11-20T14:03:00Z"
    assert post["text"].startswith("Found this bike dumped on the river trail")
    assert post["url"].endswith("/mastodon/status.html")
    assert post["sources"]["post_id"].startswith("<article data-status-id>")
    assert post["counts"]["likes"] == 23 and post["counts"]["replies"] == 40
    assert any(m["url"].endswith("/media/photo1.png") for m in post["media"])
    assert sealed["result"]["page_state"]["state"] == "content"


@pytest.mark.parametrize(
    ("path", "state", "words"),
    [
        ("/login-wall.html", "login-wall", "LOGIN WALL"),
        ("/deleted/status/999", "not-found", "NOT FOUND"),
    ],
)
def test_walls_and_deleted_posts_are_sealed_and_labelled(
    store: Cli, site: FixtureServer, path: str, state: str, words: str
) -> None:
    auth_id = store.approved([site.http_url("/*")])
    result = store.ok("capture", site.http_url(path), "--auth", auth_id, as_user="alice")
    assert f"captured {words}" in result.stdout
    assert "shows no post content" in result.stderr
    bundle_id = result.stdout.split()[1]
    meta = json.loads(store.ok("show", bundle_id, "--json", as_user="alice").stdout)
    assert meta["capture"]["page_state"]["state"] == state
    assert meta["capture"]["post"]["platform"]["basis"] == "none"
    shown = store.ok("show", bundle_id, as_user="alice").stdout
    assert f"captured   {words}" in shown and "platform   none recognised" in shown
    store.ok("verify", bundle_id)
    assert any(e.get("subject") == bundle_id for e in store.events())  # in the ledger like any other


def read_real(site: FixtureServer, tmp_path: Path, file: str, **overrides: Any) -> CaptureRecord:
    return capture(site.http_url(f"/real/{file}"), settings(**overrides), tmp_path)


def test_real_telegram_page_that_never_settles_finishes_in_time(
    site: FixtureServer, tmp_path: Path
) -> None:
    limit = 20.0
    record = read_real(site, tmp_path, "telegram/post-link-image.html", total_timeout_s=limit,
                       navigation_timeout_s=8.0)
    took = (record.ended_at - record.started_at).total_seconds()
    assert took <= limit, took
    assert record.post is not None and record.post.platform.id == "telegram"
    assert record.post.text is not None and "Tesla Model 3" in record.post.text


LOCAL_ROWS = [
    r for r in rows()
    if r.url.startswith(LOCAL) and r.file != "telegram/post-link-image.html"  # timed test above
]


@pytest.mark.parametrize("row", LOCAL_ROWS, ids=[r.file for r in LOCAL_ROWS])
def test_real_page_captured_through_chromium_reads_as_established_by_hand(
    row: Expect, site: FixtureServer, tmp_path: Path
) -> None:
    """The same expectations as the table, from a real capture: rendered DOM, stored bytes,
    every host but 127.0.0.1 unresolvable (the platform can only be claimed)."""
    record = capture(site.http_url(f"/real/{row.file}"), settings(scroll_max_time_s=1.0), tmp_path)
    assert record.post is not None and record.page_state is not None
    check(row, record.post, record.page_state.state)
    assert "post" in [s.name for s in record.steps]
    if record.page_width > 16_384:  # unstyled saved pages can be far wider than one PNG holds
        assert "screenshot-clipped" in [c.kind for c in record.changes]


def test_the_post_a_url_fragment_names_is_read_though_http_never_sends_it(
    site: FixtureServer, tmp_path: Path
) -> None:
    """A real phpBB thread page captured as `…#p2729871`: the request carries no fragment, the
    capture hands it to the reader, and the second post (not the first) is the one read."""
    page = "/real-repo/phpbb/ilovephilosophy-biological-will-p2.html"
    record = capture(site.http_url(f"{page}#p2729871"), settings(scroll_max_time_s=1.0), tmp_path)
    assert record.post is not None and record.post.platform.id == "phpbb"
    assert record.post.post_id == "2729871" and record.post.author_name == "promethean75"
    assert "#" not in record.final_url
    step = next(s for s in record.steps if s.name == "post")
    assert "#p2729871" in step.detail
