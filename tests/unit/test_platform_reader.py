"""The post reader's framework: charset, lenient JSON, conflicts, platform basis, page states."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.evidence.post import PlatformId
from collector.platforms import PageInput, read_page
from collector.platforms.draft import Draft, normalise_time, parse_count
from collector.platforms.page import PageDoc, decide_charset

STATUS = Path(__file__).resolve().parents[2] / "fixtures" / "site" / "mastodon" / "status.html"


def page(body: str, *, head: str = "", title: str = "A page") -> bytes:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
        f"<body>{body}</body></html>"
    ).encode()


def read(raw: bytes, url: str = "https://example.org/p/1", status: int = 200, **kw: str):
    return read_page(PageInput(url=url, raw=raw, status=status, **kw))


# ----------------------------------------------------------------------------- charset


def test_valid_utf8_wins_over_a_contrary_meta_declaration_and_says_so() -> None:
    raw = ("<html><head>" + " " * 9000 + "<meta charset='windows-1251'></head><body>"
           "Матрица</body></html>").encode()
    text, notes = decide_charset(raw, None)
    assert "Матрица" in text
    assert notes and "declares cp1251" in notes[0]


def test_header_charset_matching_the_bytes_adds_no_note() -> None:
    text, notes = decide_charset("<p>Grüße</p>".encode(), "text/html; charset=utf-8")
    assert "Grüße" in text and notes == []


def test_undeclared_non_utf8_bytes_are_read_as_windows_1252_with_a_note() -> None:
    text, notes = decide_charset("<p>café</p>".encode("latin-1"), None)
    assert "café" in text
    assert "windows-1252" in notes[0]


def test_rendered_dom_is_used_unless_the_charset_was_overridden() -> None:
    raw = page("<h1>raw</h1>")
    reading = read_page(PageInput(url="https://example.org/", raw=raw, rendered=page("<h1>rendered</h1>").decode()))
    assert reading.post.title == "A page"
    bad = ("<html><head><meta charset='windows-1251'><title>Пикабу</title></head></html>").encode()
    mojibake = bad.decode("cp1251")
    reading = read_page(PageInput(url="https://example.org/", raw=bad, rendered=mojibake))
    assert reading.post.title == "Пикабу"
    assert any("rendered DOM" in n for n in reading.post.notes)


# ----------------------------------------------------------------------------- hostile pages


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage \x00",
        b"<html>" + b"<div>" * 5000,
        page("", head='<script type="application/ld+json">{"@type": "SocialMediaPosting", </script>'),
        page("", head='<script type="application/ld+json">[1, "x", null, {"@graph": 5}]</script>'),
        page("", head='<meta property="og:url" content="http://[::1">'),
    ],
    ids=["empty", "binary", "deep", "broken-json-ld", "odd-json-ld", "bad-url"],
)
def test_hostile_pages_never_crash_the_reader(raw: bytes) -> None:
    reading = read(raw)
    assert reading.page_state.state in {"content", "error"}
    assert set(reading.post.missing) >= {"post_id", "author_id"}


def test_malformed_json_ld_is_ignored_with_the_reason_recorded() -> None:
    raw = page("", head='<script type="application/ld+json">{"@type": "SocialMediaPosting",</script>')
    post = read(raw).post
    assert any("JSON-LD block 1: not valid JSON" in n for n in post.notes)
    assert post.published_at is None and post.missing["published_at"]


def test_raw_newlines_in_json_ld_strings_are_read_leniently() -> None:
    ld = '{"@type": "SocialMediaPosting", "articleBody": "line one\nline two", "datePublished": "2024-05-01T10:00:00+02:00"}'
    post = read(page("", head=f'<script type="application/ld+json">{ld}</script>')).post
    assert post.text == "line one\nline two"
    assert post.published_at == "2024-05-01T08:00:00Z"
    assert any("read leniently" in n for n in post.notes)


# ----------------------------------------------------------------------------- conflicts


def test_canonical_and_og_url_disagreeing_is_kept_and_flagged() -> None:
    head = ('<link rel="canonical" href="https://example.org/p/1">'
            '<meta property="og:url" content="https://example.org/p/2">')
    post = read(page("", head=head)).post
    assert post.url == "https://example.org/p/1"
    [conflict] = post.conflicts
    assert conflict.field == "url"
    assert {c.value for c in conflict.values} == {"https://example.org/p/1", "https://example.org/p/2"}
    assert "different values" in conflict.note


def test_two_dates_are_flagged_but_the_same_instant_in_two_notations_only_noted() -> None:
    head = ('<meta property="article:published_time" content="2024-05-01T10:00:00+02:00">'
            '<meta name="date" content="2024-05-01T08:00:00Z">')
    post = read(page('<time datetime="2023-01-01T00:00:00Z">x</time>', head=head)).post
    [conflict] = post.conflicts
    assert conflict.field == "published_at"
    assert "different values" in conflict.note  # the <time> element gives another day
    same = read(page("", head=head)).post
    assert same.conflicts == []  # both meta tags name the same instant: normalised to one value


def test_url_case_only_difference_is_flagged_as_a_difference_of_form() -> None:
    head = ('<link rel="canonical" href="https://twitter.com/kingbeyoncestan/status/1">'
            '<meta property="og:url" content="https://twitter.com/KingBeyonceStan/status/1">')
    [conflict] = read(page("", head=head), url="https://127.0.0.1/x").post.conflicts
    assert "only in form" in conflict.note


# ----------------------------------------------------------------------------- platform basis


def test_platform_established_only_by_the_final_url_host() -> None:
    raw = STATUS.read_bytes()
    established = read(raw, url="https://mastodon.social/@alice/109876543210").post
    assert established.platform.basis == "established"
    assert "mastodon.social" in established.platform.evidence
    claimed = read(raw, url="http://127.0.0.1:8000/mastodon/status.html").post
    assert (claimed.platform.id, claimed.platform.basis) == ("mastodon", "claimed")
    assert "not a platform host" in claimed.platform.evidence


def test_a_page_cannot_make_itself_established() -> None:
    head = ('<link rel="canonical" href="https://x.com/someone/status/1">'
            '<meta property="og:site_name" content="X (formerly Twitter)">')
    post = read(page("", head=head), url="https://evil.example/x.com/status/1").post
    assert post.platform.basis != "established"
    assert "evil.example" in post.platform.evidence


def test_no_claim_means_no_platform() -> None:
    post = read(page("<p>hello</p>"), url="https://example.org/").post
    assert post.platform == PlatformId(basis="none", evidence=post.platform.evidence)
    assert post.extractor == "generic"


MASTODON_NAMES = {
    # Mastodon 2 to 4, server-rendered and web UI: the handle is nested in .display-name.
    "nested": '<a class="detailed-status__display-name" href="/@alice"><div class="detailed-status__display-avatar">'
              '<img alt=""></div><span class="display-name"><bdi><strong class="display-name__html p-name">Alice '
              '<img class="emojione" alt=":cat:"> Adams</strong></bdi> <span class="display-name__account">'
              '@alice@social.example</span></span></a>',
    # Newer web UI: a role after the handle.
    "role": '<span class="display-name"><bdi><strong class="display-name__html">Alice Adams</strong></bdi> '
            '<span class="display-name__account">@alice@social.example · Admin</span></span>',
    # Older markup: the name beside a .handle of its own.
    "old": '<span class="display-name"><strong>Alice Adams</strong> <span class="handle">@alice@social.example'
           '</span></span>',
}


@pytest.mark.parametrize("markup", sorted(MASTODON_NAMES))
def test_mastodon_author_name_and_handle_from_real_web_ui_markup(markup: str) -> None:
    body = (f'<div class="detailed-status" data-status-id="109876543210">{MASTODON_NAMES[markup]}'
            '<div class="status__content content"><p>Hello from the fediverse.</p></div>'
            '<time datetime="2026-11-20T10:00:00Z">Nov 20</time></div>')  # fmt: skip
    head = '<link rel="alternate" type="application/activity+json" href="https://social.example/users/alice/statuses/1">'
    post = read(page(body, head=head), url="https://social.example/@alice/109876543210").post
    assert post.author_name == "Alice Adams"
    assert post.author_handle == "@alice@social.example"
    assert post.text == "Hello from the fediverse."


LD_POST = ('{"@context": "https://schema.org", "@type": "BlogPosting", "headline": "Harbour notes", '
           '"datePublished": "2022-07-26 10:51:36 -0400", "author": {"@type": "Person", "name": "Jo Park"}}')


@pytest.mark.parametrize(
    "block",
    [
        f"<![CDATA[{LD_POST}]]>",
        f"//<![CDATA[\n{LD_POST}\n//]]>",
        f"/*<![CDATA[*/{LD_POST}/*]]>*/",
        f"<!--{LD_POST}-->",
        f"<!-- //<![CDATA[\n{LD_POST}\n//]]> -->",
    ],
)
def test_json_ld_wrapped_as_pages_wrap_it_is_read_with_its_date(block: str) -> None:
    """A JSON-LD block inside CDATA or an HTML comment is read, and its date with an offset after
    a space wins over a later date in another tag (which is not the publication date)."""
    head = (f'<script type="application/ld+json">{block}</script>'
            '<meta property="article:modified_time" content="2023-01-05T09:00:00Z">')  # fmt: skip
    reading = read(page("<article><p>Harbour notes.</p></article>", head=head), url="https://blog.example/p/1")
    assert reading.post.published_at == "2022-07-26T14:51:36Z"
    assert reading.post.author_name == "Jo Park"
    assert any("read from inside" in note for note in reading.post.notes), reading.post.notes


def test_a_visible_published_date_is_the_last_resort_and_says_so() -> None:
    """An older article whose only date is the words "Published Dec 19, 2016"."""
    body = "<h1>Five lessons from the harbour</h1><p class=byline>Published Dec 19, 2016</p><p>Text.</p>"
    post = read(page(body), url="https://blog.example/lessons").post
    assert post.published_at == "2016-12-19"
    assert "visible text" in post.sources["published_at"] and "last resort" in post.sources["published_at"]
    for shown in ("Posted on 19 December 2016", "published: December 19, 2016", "Published 2016-12-19"):
        assert read(page(f"<p>{shown}</p>")).post.published_at == "2016-12-19", shown


def test_a_visible_published_date_never_outranks_or_contradicts_the_pages_own() -> None:
    ld = '{"@type": "BlogPosting", "datePublished": "2016-12-18T22:00:00Z"}'
    post = read(page("<p>Published Dec 19, 2016</p>", head=f'<script type="application/ld+json">{ld}</script>')).post
    assert post.published_at == "2016-12-18T22:00:00Z" and not post.conflicts
    several = read(page("<p>Published Dec 19, 2016</p><aside><p>Published Jan 3, 2017</p></aside>")).post
    assert several.published_at is None
    assert any("2 different" in note for note in several.notes), several.notes
    assert read(page("<p>Published Feb 30, 2016</p>")).post.published_at is None  # no such day


BLOG_POST = """<div class="post hentry"><h3 class="post-title entry-title">Five lessons</h3>
<div class="post-header"><abbr class="published" title="2016-12-19T10:00:00-08:00">December 19, 2016</abbr></div>
<div class="post-body entry-content"><p>What the harbour taught us this year.</p></div>
<div class="post-footer"><span class="post-author vcard">Posted by <a class="g-profile" href="https://www.blogger.com/profile/1"
rel="author" title="author profile"><span>Jo Park</span></a></span></div></div>"""


def test_the_requested_fragment_is_kept_for_choosing_not_as_the_url() -> None:
    """HTTP never sends `#p2`: the capture hands it over beside the final URL. It addresses a
    part of the page; the URL the page was served under is unchanged."""
    doc = PageDoc.parse(PageInput(url="https://forum.example/t/1", raw=b"<p>x</p>", fragment="p2"))
    assert doc.url == "https://forum.example/t/1" and doc.addressed_url == "https://forum.example/t/1#p2"
    served = PageDoc.parse(PageInput(url="https://forum.example/t/1#p9", raw=b"<p>x</p>", fragment="p2"))
    assert served.addressed_url == "https://forum.example/t/1#p9"  # the final URL's own fragment wins


def test_author_and_date_no_reader_found_come_from_the_libraries_with_the_element() -> None:
    """Blogger-style markup (no JSON-LD, no <time>): trafilatura names the author and htmldate
    the day; each is taken only as found on the page, and the source says library, version and
    element. The date keeps the page's time of day and offset."""
    post = read(page(BLOG_POST, title="Five lessons | Harbour Blog"), url="https://harbour.example/2016/12/five.html").post
    assert post.published_at == "2016-12-19T18:00:00Z"
    assert post.sources["published_at"].startswith("htmldate 1.11.0: <abbr")
    assert "@title" in post.sources["published_at"]
    assert post.author_name == "Jo Park"
    assert post.sources["author_name"] == 'trafilatura 2.3.1: <a class="g-profile" rel="author">'


def test_a_numbers_only_date_that_reads_either_way_is_not_taken() -> None:
    """htmldate reads "03/04/2016" one way; the page does not say which: both readings are
    recorded and the field stays empty."""
    post = read(page("<h1>Notes</h1><p>Posted 03/04/2016 by the harbour master.</p>"), url="https://forum.example/t/1").post
    assert post.published_at is None
    assert "2016-04-03" in post.missing["published_at"] and "2016-03-04" in post.missing["published_at"]
    conflict = next(c for c in post.conflicts if c.field == "published_at")
    assert conflict.chosen == ""
    assert [c.value for c in conflict.values] == ["2016-04-03", "2016-03-04"]
    assert "day first" in conflict.values[0].source and "month first" in conflict.values[1].source
    unambiguous = read(page("<h1>Notes</h1><p>Posted 25/04/2016.</p>"), url="https://forum.example/t/2").post
    assert unambiguous.published_at is None  # htmldate's day is in no date attribute: not taken either
    assert any("not found in a date attribute" in note for note in unambiguous.notes)


# ----------------------------------------------------------------------------- page states


@pytest.mark.parametrize(
    ("status", "body", "title", "url", "state"),
    [
        (429, "<p>slow down</p>", "x", "https://example.org/", "rate-limited"),
        (404, "<p>nothing</p>", "x", "https://example.org/", "not-found"),
        (410, "<p>gone</p>", "x", "https://example.org/", "not-found"),
        (503, "<p>down</p>", "x", "https://example.org/", "error"),
        (403, "<p>forbidden</p>", "x", "https://example.org/", "error"),
        (200, "<h1>This post was deleted</h1>", "x", "https://example.org/", "not-found"),
        (200, "<form><input type=password></form>", "Log in", "https://example.org/", "login-wall"),
        (200, "<p>hi</p>", "x", "https://example.org/accounts/login/?next=/p/1", "login-wall"),
        (200, "<h1>Update your browser</h1>", "x", "https://example.org/", "interstitial"),
        (200, "<h1>Just a moment...</h1>", "x", "https://example.org/", "interstitial"),
        (200, "<p>Rate limit exceeded</p>", "x", "https://example.org/", "rate-limited"),
        (200, "<p>A post.</p>", "x", "https://example.org/", "content"),
    ],
)
def test_page_states(status: int, body: str, title: str, url: str, state: str) -> None:
    reading = read(page(body, title=title), url=url, status=status)
    assert reading.page_state.state == state, reading.page_state.reason
    assert reading.page_state.reason


def test_a_long_thread_mentioning_a_login_wall_in_a_comment_stays_content() -> None:
    ld = '{"@type": "SocialMediaPosting", "articleBody": "The post itself."}'
    comments = "".join(f"<p>comment {i}: some text here to fill the thread</p>" for i in range(200))
    body = comments + "<p>I had to log in to see this post on my phone</p>"
    reading = read(page(body, head=f'<script type="application/ld+json">{ld}</script>'))
    assert reading.page_state.state == "content"


REVIEW_LD = ('{"@type": "Review", "reviewBody": "Great burgers, slow service.", '
             '"author": {"@type": "Person", "name": "Dana"}}')
NAV = "<nav>Home · Restaurants · Hotels · Write a review · Sign up</nav>"
FOOTER = "<footer>About us · Careers · Terms · Privacy · Help</footer>"


@pytest.mark.parametrize(
    "comment",
    [
        "<p>The site was down at lunch, try again later if it fails for you.</p>",  # a reader's comment
        "<!-- try again later -->",  # an HTML comment in the markup
        "<script>var retry = 'Too many requests, try again later';</script>",  # a script's text
    ],
)
def test_a_review_page_that_mentions_a_rate_limit_stays_content(comment: str) -> None:
    reviews = "".join(f"<div class=review><b>{who}</b><p>{text}</p></div>" for who, text in (
        ("Dana", "Great burgers, slow service. We waited forty minutes for two plates on a quiet Tuesday."),
        ("Lee", "The fries were cold but the milkshake made up for it; the staff were friendly throughout."),
        ("Sam", "Booked online, the table was ready, and the smash burger is the best in the neighbourhood."),
    ))  # fmt: skip
    body = NAV + f"<h1>Burger Barn</h1><main>{reviews}<section><h3>Comments</h3><p>Agreed.</p>" + \
        f"{comment}</section></main>" + FOOTER
    reading = read(page(body, head=f'<script type="application/ld+json">{REVIEW_LD}</script>'))
    assert reading.page_state.state == "content", reading.page_state.reason


def test_a_page_that_is_the_message_is_read_as_it_even_with_chrome_around_it() -> None:
    """The rule still finds a real rate limit: the element that says it is most of the page,
    even when the site's description gives the page some post text."""
    head = '<meta property="og:description" content="Burger Barn reviews and photos">'
    body = NAV + "<main><p>Too many requests. Please try again later.</p></main>" + FOOTER
    reading = read(page(body, head=head))
    assert reading.post.text  # the description counts as post text...
    assert reading.page_state.state == "rate-limited"  # ...and the page is still that message
    # However long the site's menus, a page whose content is the message is that message.
    menus = "<header>" + "<a>Menu item</a> " * 60 + "</header>"
    gone = read(page(menus + "<main><p>This post has been deleted.</p></main>" + FOOTER))
    assert gone.page_state.state == "not-found"


def test_a_huge_short_page_is_not_searched_element_by_element() -> None:
    """A page of very many elements with little text: the message test is skipped, not slow."""
    body = "<span></span>" * 30_000 + "<p>A comment: try again later</p>"
    head = '<meta property="og:description" content="A post">'
    assert read(page(body, head=head)).page_state.state == "content"


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2018-09-27T14:51:09+0200", "2018-09-27T12:51:09Z"),
        ("2026-01-26T18:50:48.357Z", "2026-01-26T18:50:48.357Z"),
        ("2014-02-06T20:37:20", "2014-02-06T20:37:20"),
        ("2016-05-26", "2016-05-26"),
        ("2022-07-26 10:51:36 -0400", "2022-07-26T14:51:36Z"),
        ("2022-07-26T10:51+02:00", "2022-07-26T08:51:00Z"),
        ("Tue, 26 Jul 2022 14:51:36 +0000", "2022-07-26T14:51:36Z"),
        ("26 Jul 2022 14:51:36 GMT", "2022-07-26T14:51:36Z"),
        ("2022-07-26 10:51:36", "2022-07-26T10:51:36"),
        ("03/04/2016", None),  # day or month first: never guessed
        ("2019/07/26", "2019-07-26"),  # year first: always year, month, day
        ("2019/13/26", None),
        (1580398783, "2020-01-30T15:39:43Z"),
        ("1580398783000", "2020-01-30T15:39:43Z"),
        ("yesterday", None),
        (True, None),
    ],
)
def test_times_normalise_to_utc_only_when_the_page_gives_a_zone(value: object, expected: str | None) -> None:
    assert normalise_time(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1234, 1234), ("1,234", 1234), ("12.5K", 12500), ("3M", 3_000_000), ("n/a", None), (-1, None)],
)
def test_counts(value: object, expected: int | None) -> None:
    assert parse_count(value) == expected


def test_unknown_fields_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown post field"):
        Draft().offer("colour", "red", "x", 1)


# ----------------------------------------------------------------------------- screenshots


def test_screenshot_clip_only_for_documents_too_large_for_one_png() -> None:
    from collector.browser.artifact_steps import screenshot_clip
    from collector.browser.capture_base import MAX_SCREENSHOT_PIXELS

    assert screenshot_clip(1280, 32_000, 1280, 1.0) is None  # the tall fixture page: whole
    wide = screenshot_clip(36_499, 22_827, 1280, 1.0)  # an unstyled saved Bluesky page
    assert wide == {"x": 0, "y": 0, "width": 1280, "height": 22_827}
    endless = screenshot_clip(1280, 200_000, 1280, 2.0)
    assert endless is not None and endless["width"] == 1280
    assert endless["height"] * endless["width"] * 4 <= MAX_SCREENSHOT_PIXELS


def test_a_forum_post_time_written_numbers_only_either_way_is_a_conflict_with_nothing_chosen() -> None:
    """A vBulletin-style visible time `05-06-2019, 03:03 PM`: May 6 or June 5. Both readings
    are kept as a conflict; the field stays empty. `06-15-2016` can only be June 15."""
    from lxml import html

    from collector.platforms._forum import offer_time

    draft = Draft()
    offer_time(draft, [html.fromstring("<span class='date'>05-06-2019, 03:03 PM</span>")],
               "li#post_1 span.date", "vBulletin")  # fmt: skip
    post = draft.finish(PlatformId(basis="none", evidence="test"), "vbulletin")
    assert post.published_at is None and "either way" in post.missing["published_at"]
    conflict = next(c for c in post.conflicts if c.field == "published_at")
    assert conflict.chosen == "" and [c.value for c in conflict.values] == ["2019-06-05", "2019-05-06"]
    draft = Draft()
    offer_time(draft, [html.fromstring("<span class='date'>06-15-2016, 03:03 PM</span>")],
               "li#post_1 span.date", "vBulletin")  # fmt: skip
    post = draft.finish(PlatformId(basis="none", evidence="test"), "vbulletin")
    assert post.published_at == "2016-06-15T15:03:00" and post.conflicts == []


def test_dublin_core_and_citation_meta_tags_give_author_and_date_with_their_source() -> None:
    """Repositories, journals and many CMSs name the author and date only in Dublin Core or
    citation meta tags."""
    head = ('<meta name="DC.creator" content="Dana Reyes">'
            '<meta name="citation_publication_date" content="2019/07/26">')  # fmt: skip
    post = read(page("<h1>Field notes</h1><p>Text.</p>", head=head)).post
    assert post.author_name == "Dana Reyes" and post.sources["author_name"] == 'meta[name="dc.creator"]'
    assert post.published_at == "2019-07-26"
    assert post.sources["published_at"] == 'meta[name="citation_publication_date"]'
