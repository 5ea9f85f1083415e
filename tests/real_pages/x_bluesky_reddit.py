"""X/Twitter (and a Nitter mirror), Bluesky and Reddit: expected readings, set from page source.

How each value was established (by reading the saved HTML, not the reader's output):

- X `post.html`: canonical, the focal `<article>` (User-Name links, tweetText, `<time
  datetime>`, the role=group aria-label "18151 replies, 15635 reposts, 76091 likes, ...").
  No numeric account id anywhere in the page. `window.__INITIAL_STATE__` has empty entities.
- X `post-og.html`: the same status as the 4 KB bot answer: og:url on twitter.com, og:title
  "Donald J. Trump (@realDonaldTrump) on X", og:description = the text, og:image = avatar.
  No time and no counts on the page; the time is the status id's Snowflake timestamp
  ((1222907250383245320 >> 22) + 1288834974657 ms = 2020-01-30T15:39:43.666Z), which
  agrees with post.html's `<time>` to the second.
- X `profile.html`: ProfilePage JSON-LD (name, additionalName, identifier 101198215,
  url https://x.com/Kikobeats) against the lower-cased canonical https://x.com/kikobeats.
- X `twitter.com.html`: `div.permalink-tweet` data-* attributes, `span._timestamp`
  data-time 1466522845, stat counts 79 / 282; canonical lower-cased vs og:url.
- X `tweet-image.html`: two canonicals (realdonaldtrump/1222907250383245320 first,
  k4rliky/934482867480121345 second), og:url and al:ios:url name 934482867480121345; the
  focal article; "4 Retweets" / "29 Likes" links; Follow button data-testid 147255980-follow.
- Nitter: `.main-tweet` markup; `.tweet-date a[title]` "8/5/2020, 07:17:31" (UTC: the
  status id's Snowflake time is 07:17:31.103Z); stats 3 / 26 / 37; "Open in Twitter" link.
- Bluesky: `<noscript>` #bsky_* summary, `<link rel=alternate href=at://...>`,
  twitter:label/value pairs, JSON-LD; rendered `quoteCount-expanded`.
- Reddit: `script#data` window.___r posts.models.t3_1bbbwk (created 1364669184000 ms,
  authorId t2_a9e5b, score 124, numComments 50); the redesign's `div#t3_<id>` markup;
  og:description "83,067 votes and 2,820 comments"; the head-only shreddit stub's meta tags.
  Note: `reddit.com.init.html` is the 2018 redesign (window.___r), not old Reddit markup.
"""

from __future__ import annotations

from tests.real_pages import Contains, Expect, Prefix

LOCAL = "http://127.0.0.1:8000/real/"

X_POST_URL = "https://x.com/realDonaldTrump/status/1222907250383245320"
X_POST_OG_URL = "https://twitter.com/realDonaldTrump/status/1222907250383245320"
X_TRUMP_TEXT = Prefix("“Schiff blasted for not focusing on California homeless.” @foxandfriends His District")
X_POST_FIELDS = {
    "url": X_POST_URL,
    "post_id": "1222907250383245320",
    "author_name": "Donald J. Trump",
    "author_handle": "@realDonaldTrump",
    "author_id": None,
    "published_at": "2020-01-30T15:39:43Z",
    "text": X_TRUMP_TEXT,
}
X_POST_OG_FIELDS = {
    **X_POST_FIELDS,
    "url": X_POST_OG_URL,
    "title": "Donald J. Trump (@realDonaldTrump) on X",
}
X_OG_ONLY_NOTES = ("OG-only answer X gives bots", "og:image is the author's avatar")

KINGBEY_URL = "https://twitter.com/KingBeyonceStan/status/745276948213968896"
K4RLIKY_URL = "https://twitter.com/k4rliky/status/934482867480121345"
K4RLIKY_FIELDS = {
    "url": K4RLIKY_URL,
    "post_id": "934482867480121345",
    "author_name": "Brad, what are you gonna do?",
    "author_handle": "@k4rliky",
    "author_id": "147255980",
    "published_at": "2017-11-25T18:04:12Z",
    "text": "Lo mejor de @codemotion_es #codemotionMadrid es estar con la gente que quieres 😍@ladyCircus",
}

BSKY_LINK_URL = "https://bsky.app/profile/forbes.com/post/3mdd7aj7pgs2x"
BSKY_LINK_FIELDS = {
    "url": BSKY_LINK_URL,
    "post_id": "3mdd7aj7pgs2x",
    "author_name": "Forbes",
    "author_handle": "@forbes.com",
    "author_id": "did:plc:2w45zyhuklwihpdc7oj3mi63",
    "published_at": "2026-01-26T12:03:53.754Z",
    "text": Prefix("Windows PCs ‘Suddenly’ Fail After Microsoft’s New Update\nhttps://www.forbes.com/sites/"),
}
BSKY_LINK_COUNTS = {"replies": 158, "reposts": 369, "quotes": 88, "likes": 874}

REDDIT_INIT_URL = "https://www.reddit.com/r/Python/comments/1bbbwk/whats_your_opinion_on_what_to_include_in_init_py/"
REDDIT_INIT_FIELDS = {
    "url": REDDIT_INIT_URL,
    "post_id": "1bbbwk",
    "author_name": None,
    "author_handle": "@barisumog",
    "author_id": "t2_a9e5b",
    "published_at": "2013-03-30T18:46:24Z",
    "title": "What's your opinion on what to include in __init__.py ?",
    "text": Prefix("I'm new to packaging and publishing on PyPI. I've been searching"),
}
REDDIT_STUB_URL = ("https://www.reddit.com/r/lotus/comments/1pzbv0z/"
                   "my_lotus_elise_72d_with_17_rays_volk_gtp/?seeker-session=true")
REDDIT_STUB_FIELDS = {
    "url": REDDIT_STUB_URL,
    "post_id": "1pzbv0z",
    "author_name": None,
    "author_handle": None,
    "author_id": None,
    "published_at": None,
    "title": "My Lotus Elise 72D with 17” Rays Volk GT-P",
    "text": Prefix("Just want to make a searchable Lotus Elise post with square wheels"),
}

EXPECTED: list[Expect] = [
    # ------------------------------------------------------------------ X / Twitter
    Expect(
        file="x-twitter/post.html",
        url=X_POST_URL,
        platform="x",
        kind="post",
        fields=X_POST_FIELDS,
        counts={"replies": 18151, "reposts": 15635, "likes": 76091},
        notes=("__INITIAL_STATE__ carries no post",),
    ),
    Expect(
        file="x-twitter/post.html",
        url=LOCAL + "x-twitter/post.html",
        platform="x",
        basis="claimed",
        kind="post",
        fields=X_POST_FIELDS,
        counts={"replies": 18151, "reposts": 15635, "likes": 76091},
    ),
    # The bot's OG-only answer for the same status: same id, author and text; the URL is on
    # twitter.com, the time comes from the status id, and there is no rendered post, no
    # counts and no media (og:image is the avatar).
    Expect(
        file="x-twitter/post-og.html",
        url=X_POST_OG_URL,
        platform="x",
        kind="post",
        fields=X_POST_OG_FIELDS,
        notes=X_OG_ONLY_NOTES,
    ),
    Expect(
        file="x-twitter/post-og.html",
        url=LOCAL + "x-twitter/post-og.html",
        platform="x",
        basis="claimed",
        kind="post",
        fields=X_POST_OG_FIELDS,
        notes=X_OG_ONLY_NOTES,
    ),
    Expect(
        file="x-twitter/profile.html",
        url="https://x.com/kikobeats",
        platform="x",
        kind="profile",
        fields={
            "url": "https://x.com/Kikobeats",
            "post_id": None,
            "author_name": "Kiko Beats",
            "author_handle": "@Kikobeats",
            "author_id": "101198215",
            "published_at": None,
            "text": Prefix("Building web infra & open source"),
        },
        conflicts=("url",),
    ),
    Expect(
        file="x-twitter/twitter.com.html",
        url=KINGBEY_URL,
        platform="x",
        kind="post",
        fields={
            "url": KINGBEY_URL,
            "post_id": "745276948213968896",
            "author_name": "Lina Morgana",
            "author_handle": "@KingBeyonceStan",
            "author_id": "394957116",
            "published_at": "2016-06-21T15:27:25Z",
            "text": "Now before you write me off as bias I'm going to start out with one of my all "
            "time favorites. Like, I love her.",
        },
        counts={"reposts": 79, "likes": 282},
        conflicts=("url",),  # canonical lower-cased, og:url keeps the case
    ),
    Expect(
        file="x-twitter/tweet-image.html",
        url=K4RLIKY_URL,
        platform="x",
        kind="post",
        fields=K4RLIKY_FIELDS,
        counts={"reposts": 4, "likes": 29},
        conflicts=("url", "post_id"),  # the first canonical names another post
        media_min=1,
        notes=('2 different <link rel="canonical">',),
    ),
    Expect(
        file="x-twitter/tweet-image.html",
        url=LOCAL + "x-twitter/tweet-image.html",
        platform="x",
        basis="claimed",
        kind="post",
        fields=K4RLIKY_FIELDS,
        counts={"reposts": 4, "likes": 29},
        conflicts=("url", "post_id"),
        media_min=1,
    ),
    # Nitter is a third-party mirror, not an X host; its "Open in Twitter" link names the
    # X post it shows, so the page claims X.
    Expect(
        file="nitter/1589918483456.html",
        url="https://nitter.snopyta.org/AktionUnterholz/status/1258657263948005377",
        platform="x",
        basis="claimed",
        kind="post",
        fields={
            "url": "https://twitter.com/AktionUnterholz/status/1258657263948005377",
            "post_id": "1258657263948005377",
            "author_name": "Aktion Unterholz",
            "author_handle": "@AktionUnterholz",
            "author_id": None,
            "published_at": "2020-05-08T07:17:31Z",
            "text": Prefix("Auch um 9:00 sind die in #Lützerath nach der Besetzung"),
        },
        counts={"replies": 3, "reposts": 26, "likes": 37},
        notes=("Nitter mirror page, not from X",),
    ),
    # ------------------------------------------------------------------ Bluesky
    Expect(
        file="bluesky/post.html",
        url="https://bsky.app/profile/stephenking.bsky.social/post/3mddvy5bv6k27",
        platform="bluesky",
        kind="post",
        fields={
            "url": "https://bsky.app/profile/stephenking.bsky.social/post/3mddvy5bv6k27",
            "post_id": "3mddvy5bv6k27",
            "author_name": "Stephen King",
            "author_handle": "@stephenking.bsky.social",
            "author_id": "did:plc:h7obn4tkp47wn7gqh4oe5eij",
            "published_at": "2026-01-26T18:50:48.357Z",
            "text": Prefix("The rightwing response to the murder of Alex Pretti is predictable"),
        },
        # twitter:value4 "Reposts" 602; the JSON-LD ShareAction (623) adds the quotes.
        counts={"replies": 124, "reposts": 602, "likes": 3819},
        notes=("ShareAction count (reposts plus quotes) is not used",),
    ),
    Expect(
        file="bluesky/post-image.html",
        url="https://bsky.app/profile/glendunlap.bsky.social/post/3mdegyw3ves2t",
        platform="bluesky",
        kind="post",
        fields={
            "url": "https://bsky.app/profile/glendunlap.bsky.social/post/3mdegyw3ves2t",
            "post_id": "3mdegyw3ves2t",
            "author_name": "Glen Dunlap",
            "author_handle": "@glendunlap.bsky.social",
            "author_id": "did:plc:24xmtazrkaxh7kwx2ehginec",
            "published_at": "2026-01-26T23:55:44.454Z",
            "text": Prefix("Owliver decided to fly to another branch and check things out."),
        },
        counts={"replies": 95, "reposts": 223, "quotes": 16, "likes": 3121},
        media_min=1,
    ),
    Expect(
        file="bluesky/post-link.html",
        url=BSKY_LINK_URL,
        platform="bluesky",
        kind="post",
        fields={**BSKY_LINK_FIELDS,
                "text": Contains("?utm_source=bluesky&utm_medium=social&utm_campaign=forbes")},
        counts=BSKY_LINK_COUNTS,
        media_min=1,
        notes=("JSON-LD block 1: control characters inside strings (invalid strict JSON)",),
    ),
    Expect(
        file="bluesky/post-link.html",
        url=LOCAL + "bluesky/post-link.html",
        platform="bluesky",
        basis="claimed",
        kind="post",
        fields=BSKY_LINK_FIELDS,
        counts=BSKY_LINK_COUNTS,
        media_min=1,
        notes=("JSON-LD block 1: control characters inside strings (invalid strict JSON)",),
    ),
    Expect(
        file="bluesky/profile.html",
        url="https://bsky.app/profile/stephenking.bsky.social",
        platform="bluesky",
        kind="profile",
        fields={
            "url": "https://bsky.app/profile/stephenking.bsky.social",
            "post_id": None,
            "author_name": "Stephen King",
            "author_handle": "@stephenking.bsky.social",
            "author_id": "did:plc:h7obn4tkp47wn7gqh4oe5eij",
            "published_at": None,
            "text": "Writer",
        },
        notes=("JSON-LD block 1: control characters inside strings (invalid strict JSON)",),
    ),
    # ------------------------------------------------------------------ Reddit
    Expect(
        file="reddit/reddit.com.init.html",
        url=REDDIT_INIT_URL,
        platform="reddit",
        kind="post",
        fields=REDDIT_INIT_FIELDS,
        counts={"likes": 124, "replies": 50},
    ),
    Expect(
        file="reddit/reddit.com.init.html",
        url=LOCAL + "reddit/reddit.com.init.html",
        platform="reddit",
        basis="claimed",
        kind="post",
        fields=REDDIT_INIT_FIELDS,
        counts={"likes": 124, "replies": 50},
    ),
    Expect(
        file="reddit/www.reddit.com.html",
        url="https://www.reddit.com/r/Showerthoughts/comments/awx46q/vanilla_becoming_the_default_flavour_of_ice_cream/",
        platform="reddit",
        kind="post",
        fields={
            "url": "https://www.reddit.com/r/Showerthoughts/comments/awx46q/vanilla_becoming_the_default_flavour_of_ice_cream/",
            "post_id": "awx46q",
            "author_name": None,
            "author_handle": "@benyacobi",
            "author_id": None,
            "published_at": None,  # only "4 years ago" on the page
            "title": "Vanilla becoming the default flavour of ice cream is the greatest underdog "
            "story of all time.",
            "text": Prefix("Edit: thank you for educating me about the ubiquity of vanilla."),
        },
        counts={"likes": 83067, "replies": 2820},  # og:description, not the rounded "83.1k"
        notes=("no embedded post data",),
    ),
    Expect(
        file="reddit/www.reddit.com--title-only.html",
        url="https://www.reddit.com/r/AskReddit/comments/axtih6/what_is_the_most_worth_it_item_you_have_ever/",
        platform="reddit",
        kind="post",
        fields={
            "url": "https://www.reddit.com/r/AskReddit/comments/axtih6/what_is_the_most_worth_it_item_you_have_ever/",
            "post_id": "axtih6",
            "author_name": None,
            "author_handle": None,
            "author_id": None,
            "published_at": None,
            "title": 'What is the most "worth it" item you have ever purchased?',
            "text": None,
        },
        counts={"likes": 52114, "replies": 25436},  # og:description given as value=
    ),
    Expect(
        file="reddit/post.html",
        url=REDDIT_STUB_URL,
        platform="reddit",
        kind="post",
        fields=REDDIT_STUB_FIELDS,
        notes=("head-only page",),
    ),
    Expect(
        file="reddit/post.html",
        url=LOCAL + "reddit/post.html",
        platform="reddit",
        basis="claimed",
        kind="post",
        fields=REDDIT_STUB_FIELDS,
        notes=("head-only page",),
    ),
]
