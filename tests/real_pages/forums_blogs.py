"""Forum software pages in the repository's own corpus (tests/data/real_pages/).

Every value below was read by hand from the saved page's source, not by running the reader:

* phpBB (`phpbb/ilovephilosophy-biological-will-p2.html`, NetTally's test resource, a phpBB 3.0
  prosilver-based page of ilovephilosophy.com, topic 194998 page 2): the first post is
  `div#p2729870`, its `p.author` names `Jakob` linked to `memberlist.php?mode=viewprofile&u=5996`
  and shows "Sun May 26, 2019 4:34 pm" (no zone, no machine-readable time); its own link is
  `./viewtopic.php?p=2729870#p2729870`; the topic title is `div#page-body > h2` "Biological
  Will"; the text is `div.content`. The second post `div#p2729871` is by `promethean75` (u=43701)
  at "Sun May 26, 2019 4:43 pm", its text the link https://vocaroo.com/i/s0WJlPuchytm. The page
  is read once under its own URL (first post), once with `#p2729871` (second post), once with
  `?p=2729871` and once with `#p1` (a post not on the page: nothing is read as the post).
* The XenForo reader's real page is in the shared corpus (forums/katzen-forum.net-Pepe.html):
  see its row in telegram_tumblr_vk_linkedin_generic.py.
"""

from __future__ import annotations

from tests.real_pages import Expect, Prefix

PHPBB = "phpbb/ilovephilosophy-biological-will-p2.html"
TOPIC = "http://www.ilovephilosophy.com/viewtopic.php?f=1&t=194998&start=25"
BASE = "http://www.ilovephilosophy.com/"

EXPECTED: list[Expect] = [
    Expect(
        file=PHPBB,
        root="repo",
        url=TOPIC,
        platform="phpbb",
        basis="claimed",
        kind="post",
        fields={
            "post_id": "2729870",
            "url": BASE + "viewtopic.php?p=2729870#p2729870",
            "author_name": "Jakob",
            "author_id": "5996",
            "published_at": "2019-05-26T16:34:00",
            "title": "Biological Will",
            "text": Prefix("Good lecture. Believe me I know the clown part."),
        },
        notes=("the first post on the page is read", "published_at: the page gives no time zone"),
    ),
    Expect(
        file=PHPBB,
        root="repo",
        url=TOPIC + "#p2729871",
        platform="phpbb",
        basis="claimed",
        kind="post",
        fields={
            "post_id": "2729871",
            "url": BASE + "viewtopic.php?p=2729871#p2729871",
            "author_name": "promethean75",
            "author_id": "43701",
            "published_at": "2019-05-26T16:43:00",
            "title": "Biological Will",
            "text": "https://vocaroo.com/i/s0WJlPuchytm",
        },
        notes=("the URL's fragment #p2729871 names post 2729871",),
    ),
    Expect(
        file=PHPBB,
        root="repo",
        url=BASE + "viewtopic.php?p=2729871",
        platform="phpbb",
        basis="claimed",
        kind="post",
        fields={"post_id": "2729871", "author_name": "promethean75"},
        notes=("the URL's ?p=2729871 names post 2729871",),
    ),
    Expect(
        file=PHPBB,
        root="repo",
        url=TOPIC + "#p1",
        platform="phpbb",
        basis="claimed",
        fields={"post_id": None, "title": "Biological Will"},
        notes=("names post 1, which is not on this page",),
    ),
]
