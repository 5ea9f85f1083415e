"""Pure parts of the feed and expand behaviours: item keys, permalinks, labels, artifact roles."""

from __future__ import annotations

import hashlib

import pytest

from collector.browser.expand import is_expander_label
from collector.browser.feed import is_permalink, item_key
from collector.evidence.bundle.layout import (
    ARTIFACT_ROLES,
    VIEWPORT_ROLE,
    artifact_role,
    viewport_name,
)


def test_id_attribute_wins_over_permalink_and_text() -> None:
    attrs = {"id": "post-7", "data-post-id": "7", "data-id": "x"}
    assert item_key(attrs, "https://s.example/@a/7", "hello") == ("data-post-id:7", "attribute")


def test_permalink_without_fragment_wins_over_element_id() -> None:
    key = item_key({"id": "post-7"}, "https://x.com/a/status/7#m", "hello")
    assert key == ("permalink:https://x.com/a/status/7", "permalink")


def test_element_id_used_unless_generated() -> None:
    assert item_key({"id": "t3_abc"}, None, "hello") == ("id:t3_abc", "id")
    for generated in (":r1f:", "mount_0_0_xy", "jsc_c_2"):
        assert item_key({"id": generated}, None, "hello")[1] == "text"


def test_text_key_ignores_whitespace_and_counts_identical_items() -> None:
    digest = hashlib.sha256(b"Boosted. Same here").hexdigest()[:32]
    assert item_key({}, None, "  Boosted.\n Same   here ") == (f"text:{digest}", "text")
    assert item_key({}, None, "Boosted. Same here", ordinal=2)[0] == f"text:{digest}#2"
    assert item_key({}, None, "a")[0] != item_key({}, None, "b")[0]


def test_empty_items_keyed_by_their_html() -> None:
    one = item_key({}, None, "", html="<article><img src=a></article>")
    two = item_key({}, None, "", html="<article><img src=b></article>")
    assert one[1] == "html" and one[0] != two[0]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.com/someone/status/1222907250383245320", True),
        ("https://mastodon.social/@alice/109876543210", True),
        ("https://www.reddit.com/r/Python/comments/1bbbwk/title/", True),
        ("https://bsky.app/profile/a.bsky.social/post/3kabc", True),
        ("https://www.instagram.com/p/CPeC-Eenc8l/", True),
        ("https://www.tiktok.com/@u/video/7571863205253778710", True),
        ("https://www.facebook.com/permalink.php?story_fbid=123&id=4", True),
        ("https://x.com/someone", False),
        ("https://mastodon.social/@alice", False),
        ("https://example.org/tags/RiverTrail", False),
    ],
)
def test_permalinks(url: str, expected: bool) -> None:
    assert is_permalink(url) is expected


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Show more", True),
        ("see MORE", True),
        ("Read more", True),
        ("… more", True),
        ("...more", True),
        ("Mehr anzeigen", True),
        ("Show more replies", False),
        ("More", False),
        ("Show less", False),
        ("Read more about cookies on our site", False),
    ],
)
def test_expander_labels(label: str, expected: bool) -> None:
    assert is_expander_label(label) is expected


def test_viewport_screenshots_have_a_role() -> None:
    assert viewport_name(1) == "viewport/0001.png" and viewport_name(123) == "viewport/0123.png"
    assert ARTIFACT_ROLES.get("viewport/0042.png", "artifact") == VIEWPORT_ROLE
    assert artifact_role("viewport/0042.png") == VIEWPORT_ROLE
    assert artifact_role("feed-items.jsonl").startswith("feed items")
    assert artifact_role("screenshot.png") == "full-page screenshot"
    assert ARTIFACT_ROLES.get("viewport/../x.png", "artifact") == "artifact"
    assert ARTIFACT_ROLES.get("viewport/1.png") is None
    assert "viewport/0001.png" not in ARTIFACT_ROLES  # a pattern, not a listed name
