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
* vBulletin 3 (`vbulletin/animesuki-hibike-euphonium-p152-vb3.html`, NetTally's `vBulletin3.html`,
  an excerpt): `<meta name="generator" content="vBulletin 3.8.11">`; posts are `table#post<id>`;
  the first, `table#post5768670`, has `a.bigusername` "Shirohige" -> `member.php?u=250472`, the
  header cell text "2016-02-01, 02:21" (year first, 24-hour clock; the footer says "All times
  are GMT -5", which is not a machine-readable offset, so the time stays without zone), the
  permanent link `a#postlink5768670` -> `showthread.php?p=5768670#post5768670`, the thread title
  in `td.navbar strong` "(L+CR) Hibike! Euphonium [anime]"; the second is `table#post5768676`,
  "BBOvenGuy" (u=32968) at "2016-02-01, 02:29".
* vBulletin 4 (`vbulletin/militarytimes-bob-dorr-vb4.html`, NetTally's `vBulletin4.html`, an
  excerpt): generator "vBulletin 4.2.3", `<base href="http://forums.militarytimes.com/">`; posts
  are `li.postcontainer#post_<id>`; `post_365266` is by `a.username` "Rainmaker" ->
  `member.php/13985-Rainmaker`, dated `span.date` "06-15-2016, 03:03 PM" (15 can only be the day),
  its `a.postcounter` href `showthread.php/9687-…?p=365266&viewfull=1#post365266` (relative to
  the base); the title is `span.threadtitle`; the third post `post_365268` is "sandsjames"
  (member.php/8611-) at "06-15-2016, 05:39 PM".
* vBulletin 5 (`vbulletin/fandompost-isekai-quartet-vb5.html`, NetTally's `vBulletin5.html`, an
  excerpt): generator "vBulletin 5.5.2"; posts are `li.b-post[data-node-id]`; the starter 727744
  by "Buckeye" (`/member/1712-buckeye`), `data-node-publishdate="1554824243"` (epoch seconds:
  2019-04-09T15:37:23Z; its `time[datetime]` "2019-04-09T08:37:23" and the words "04-09-2019,
  10:37 AM" are two other wall clocks without zone), `a.b-post__count` -> `…#post727744`; the
  reply 727754 at epoch 1554828939 (16:55:39Z). No thread title is stated: the page's only
  heading in the excerpt is the first post's "[Spring 2019] Isekai Quartet Discussion Thread".
* Hand-written pages (`handmade/`, no real page found; see SOURCES.md): the values are the ones
  written into them, in the markup each software is documented to produce.
* The XenForo reader's real page is in the shared corpus (forums/katzen-forum.net-Pepe.html):
  see its row in telegram_tumblr_vk_linkedin_generic.py.
"""

from __future__ import annotations

from tests.real_pages import Contains, Expect, Prefix, Value

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

V3 = "vbulletin/animesuki-hibike-euphonium-p152-vb3.html"
V3_BASE = "https://forums.animesuki.com/"
V4 = "vbulletin/militarytimes-bob-dorr-vb4.html"
V4_THREAD = (
    "http://forums.militarytimes.com/showthread.php/"
    "9687-Legendary-military-columnist-author-Bob-Dorr-dies-at-76"
)
V5 = "vbulletin/fandompost-isekai-quartet-vb5.html"
V5_THREAD = (
    "https://fandompost.vbulletin.net/forum/anime-manga-discussions/general-anime-discussions/"
    "727744-isekai-quartet-discussion-thread"
)
HANDMADE = "handmade/"


def _post(file: str, read_as: str, platform: str, /, kind: str = "post", **fields: Value) -> Expect:
    """A row for a page of the repository's corpus read under `read_as` (not a platform host)."""
    return Expect(file=file, root="repo", url=read_as, platform=platform, basis="claimed",
                  kind=kind, fields=dict(fields))


EXPECTED += [
    _post(V3, V3_BASE + "showthread.php?t=128882&page=152", "vbulletin",
          post_id="5768670", url=V3_BASE + "showthread.php?p=5768670#post5768670",
          author_name="Shirohige", author_id="250472", published_at="2016-02-01T02:21:00",
          title="(L+CR) Hibike! Euphonium [anime]",
          text=Contains("Let me reword it from lesbians to \"non-straight\" girls")),
    _post(V3, V3_BASE + "showthread.php?p=5768676#post5768676", "vbulletin",
          post_id="5768676", url=V3_BASE + "showthread.php?p=5768676#post5768676",
          author_name="BBOvenGuy", author_id="32968", published_at="2016-02-01T02:29:00",
          title="(L+CR) Hibike! Euphonium [anime]",
          text=Contains("That's a rather loose interpretation, if you ask me.")),
    _post(V4, V4_THREAD, "vbulletin",
          post_id="365266", url=V4_THREAD + "?p=365266&viewfull=1#post365266",
          author_name="Rainmaker", author_id="13985", published_at="2016-06-15T15:03:00",
          title="Legendary military columnist, author Bob Dorr dies at 76",
          text=Prefix("http://www.airforcetimes.com/story/m...s-76/85869288/\n\nRIP Mr. Dorr.")),
    _post(V4, V4_THREAD + "?p=365268#post365268", "vbulletin",
          post_id="365268", url=V4_THREAD + "?p=365268&viewfull=1#post365268",
          author_name="sandsjames", author_id="8611", published_at="2016-06-15T17:39:00",
          title="Legendary military columnist, author Bob Dorr dies at 76",
          text=Prefix("Sad to hear. Robert F. Dorr did a lot for the Air Force.")),
    _post(V5, V5_THREAD, "vbulletin",
          post_id="727744", url=V5_THREAD + "#post727744", author_name="Buckeye",
          author_id="1712", published_at="2019-04-09T15:37:23Z",
          text=Prefix("異世界かるてっと\n\nA short about characters from four different Kadokawa")),
    _post(V5, V5_THREAD + "?p=727754#post727754", "vbulletin",
          post_id="727754", url=V5_THREAD + "?p=727754#post727754", author_name="Buckeye",
          author_id="1712", published_at="2019-04-09T16:55:39Z",
          text=Prefix("Episode 1\n\nFour-in-one.")),
    _post(HANDMADE + "mybb-showthread.html", "https://forum.example.org/showthread.php?tid=55",
          "mybb", post_id="101", url="https://forum.example.org/showthread.php?tid=55&pid=101#pid101",
          author_name="Ana Pereira", author_id="7", published_at="2021-03-14T09:05:00",
          title="Brass valve keeps dripping",
          text=Prefix("The brass valve under the sink keeps dripping")),
    _post(HANDMADE + "mybb-showthread.html",
          "https://forum.example.org/showthread.php?tid=55&pid=102#pid102", "mybb",
          post_id="102", url="https://forum.example.org/showthread.php?tid=55&pid=102#pid102",
          author_name="Tom Okafor", author_id="12", published_at="2021-03-15T22:12:00",
          title="Brass valve keeps dripping", text=Prefix("Check the valve seat")),
    _post(HANDMADE + "discourse-topic-crawler.html",
          "https://community.example.org/t/backups-fail-after-upgrade/4321", "discourse",
          post_id="1", url="https://community.example.org/t/backups-fail-after-upgrade/4321",
          author_name="mira_k", published_at="2023-05-02T08:14:55Z",
          title="Backups fail after upgrade", text=Prefix("Since the upgrade every nightly backup")),
    _post(HANDMADE + "discourse-topic-crawler.html",
          "https://community.example.org/t/backups-fail-after-upgrade/4321/2", "discourse",
          post_id="2", author_name="jdoe", published_at="2023-05-02T10:40:03Z",
          title="Backups fail after upgrade", text=Prefix("The backup is staged in /tmp first")),
    _post(HANDMADE + "invision-topic.html",
          "https://forum.example.net/topic/7781-winter-tyres-on-a-2012-hatchback/", "invision",
          post_id="90211",
          url="https://forum.example.net/topic/7781-winter-tyres-on-a-2012-hatchback/"
          "?do=findComment&comment=90211",
          author_name="Lena H", author_id="3120", published_at="2022-11-20T17:03:11Z",
          title="Winter tyres on a 2012 hatchback", text=Prefix("Which winter tyres do people run")),
    _post(HANDMADE + "invision-topic.html",
          "https://forum.example.net/topic/7781-winter-tyres-on-a-2012-hatchback/"
          "?do=findComment&comment=90230", "invision",
          post_id="90230",
          url="https://forum.example.net/topic/7781-winter-tyres-on-a-2012-hatchback/"
          "?do=findComment&comment=90230",
          author_name="GarageGus", author_id="418", published_at="2022-11-21T07:45:00Z",
          title="Winter tyres on a 2012 hatchback", text=Prefix("Any 185/65 R15")),
    Expect(file=HANDMADE + "blogger-post.html", root="repo",
           url="https://riverwalks.blogspot.com/2020/09/the-old-mill-path.html",
           platform="blogger", basis="established", kind="article",
           fields={"post_id": "7720000000000000042",
                   "url": "https://riverwalks.blogspot.com/2020/09/the-old-mill-path.html",
                   "author_name": "Margit Olsen", "author_id": "01234567890123456789",
                   "published_at": "2020-09-12T12:30:00Z", "title": "The old mill path",
                   "text": Prefix("The path along the old mill race is open again")}),
    _post(HANDMADE + "wordpress-post.html",
          "https://workshopnotes.example.com/2023/06/repairing-a-cane-chair-seat/", "wordpress",
          kind="article", post_id="1184",
          url="https://workshopnotes.example.com/2023/06/repairing-a-cane-chair-seat/",
          author_name="Piotr Kowalski", published_at="2023-06-04T08:12:40Z",
          title="Repairing a cane chair seat", text=Prefix("Cut the old cane out along the groove")),
    _post(HANDMADE + "wordpress-post.html",
          "https://workshopnotes.example.com/2023/06/repairing-a-cane-chair-seat/#comment-77",
          "wordpress", kind="article", post_id="1184", author_name="Piotr Kowalski",
          published_at="2023-06-04T08:12:40Z", title="Repairing a cane chair seat"),
]
