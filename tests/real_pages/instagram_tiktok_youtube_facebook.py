"""Instagram, TikTok, YouTube and Facebook pages: values read by hand from each page's source.

Where each value is in the saved HTML:

* instagram/post-with-photo.html: `<link rel=canonical>` /p/CPeC-Eenc8l/; route
  `params.shortcode`, `media_owner_id` 385669764 (also `instapp:owner_user_id`);
  twitter:title "Willyrex (@willyrex) • Instagram photo"; meta description "298K likes,
  553 comments - willyrex on May 29, 2021: "Una de mis nuevas sudaderas top!! …"". No time of
  day and no caption in embedded data: only the description has them.
* instagram/profile.html: og:title "Pluto (@pluto__travel) • …"; route props `id` /
  `profile_id` 3640900328; meta description quotes the bio "Home of travel — …".
* instagram/integration-instagram/input.html: `window._sharedData` shortcode_media: shortcode
  BWUDBntl3_Z, owner 297604134 / teslamotors / Tesla, taken_at_timestamp 1499576290
  (2017-07-09T04:58:10Z), caption "The first Model 3 production car", 159071 likes, 1747
  comments. Trap: the JSON-LD `uploadDate` "2017-07-09T04:58:10" has no zone.
* tiktok/video.html: `__UNIVERSAL_DATA_FOR_REHYDRATION__` itemStruct id 7571863205253778710,
  createTime 1762961788 (2025-11-12T15:36:28Z), author illojuan / IlloJuan /
  6781206617314018309, statsV2 commentCount 146, diggCount 25500, playCount 192100,
  repostCount 0.
* tiktok/profile.html: user-detail user id 6781206617314018309, signature "Timing, saludos
  desde Almería". (Its JSON-LD `identifier` is the handle "illojuan", not an id.)
* youtube/youtube-video.html: ytInitialPlayerResponse videoDetails videoId hwMkbaS_M_c,
  channelId UCzcRQ3vRNr6fJ1A9rqFn7QA, author "ONE Media", viewCount 1077715; microformat
  publishDate 2017-04-14T09:02:38-07:00, ownerProfileUrl …/@OneMedia.; like button "…junto
  con otras 7373 personas". Trap: the microformat title is a Spanish translation.
* youtube/youtube-channel.html: ytInitialData channelMetadataRenderer externalId, title
  "ONE Media", vanityChannelUrl …/@OneMedia., description "ALL the Must See Movie Trailers…".
* youtube/www.youtube.com.html: no embedded JSON; microdata videoId srtMWzyqdp8, channelId
  UCWnPjmqvljcafA0z2U1fwKQ, `<link itemprop=name content=Confreaks>`, interactionCount
  14358, datePublished 2016-09-27; like button "like this video along with 245 other
  people". No <meta charset> (SOURCES.md): the title's "é" checks the decoding. No @handle.
* facebook/facebook.com.visitaustria.html: a Page's home (og:url /visitaustria/);
  `CurrentPage.init` pageID 237593747032 / "Visit Austria", pageURIToken visitaustria. Its
  timeline shows two posts, data-utime 1507453920 (2017-10-08T09:12:00Z, "Gestern um
  02:12") and 1507287600 (2017-10-06T11:00:00Z). htmldate's 2017-10-06 is the older post's
  date, not the page's: the Page itself has no publication time.
* facebook/facebook.html: "Actualiza tu navegador | Facebook", links /unsupportedbrowser; read
  under the URL metascraper requested (afcajax/videos/1686831701364171). An interstitial.
"""

from __future__ import annotations

from tests.real_pages import Expect, Prefix

LOCAL = "http://127.0.0.1:8000/real/"

_IG_PHOTO = {
    "url": "https://www.instagram.com/p/CPeC-Eenc8l/",
    "post_id": "CPeC-Eenc8l",
    "author_name": "Willyrex",
    "author_handle": "@willyrex",
    "author_id": "385669764",
    "published_at": "2021-05-29",
    "title": Prefix('Willyrex on Instagram: "Una de mis nuevas sudaderas'),
    "text": "Una de mis nuevas sudaderas top!! Per ardua ad astra 🚀🚀🚀",
}
_TT_VIDEO = {
    "url": "https://www.tiktok.com/@illojuan/video/7571863205253778710",
    "post_id": "7571863205253778710",
    "author_name": "IlloJuan",
    "author_handle": "@illojuan",
    "author_id": "6781206617314018309",
    "published_at": "2025-11-12T15:36:28Z",
    "title": "IlloJuan on TikTok",
    "text": Prefix("La nueva locurilla de fin de año: me he puesto un uniforme de trabajo 🔥"),
}
_YT_VIDEO = {
    "url": "https://www.youtube.com/watch?v=hwMkbaS_M_c",
    "post_id": "hwMkbaS_M_c",
    "author_name": "ONE Media",
    "author_handle": "@OneMedia.",
    "author_id": "UCzcRQ3vRNr6fJ1A9rqFn7QA",
    "published_at": "2017-04-14T16:02:38Z",
    "title": "Star Wars 8 THE LAST JEDI Official TRAILER (2017) Daisy Ridley, Disney Movie HD",
    "text": "Star Wars 8 THE LAST JEDI Official TRAILER (2017) Daisy Ridley, Disney Movie HD\n© 2017 - Disney",
}
_YT_OLD = {
    "url": "https://www.youtube.com/watch?v=srtMWzyqdp8",
    "post_id": "srtMWzyqdp8",
    "author_name": "Confreaks",
    "author_handle": None,
    "author_id": "UCWnPjmqvljcafA0z2U1fwKQ",
    "published_at": "2016-09-27",
    "title": "ElixirConf 2016 - Keynote by José Valim",
    "text": "Keynote by José Valim",
}
_FB_PAGE = {
    "url": "https://www.facebook.com/visitaustria/",
    "post_id": None,
    "author_name": "Visit Austria",
    "author_handle": "@visitaustria",
    "author_id": "237593747032",
    "published_at": None,
    "title": "Visit Austria",
    "text": Prefix("Visit Austria. Gefällt 54.624 Mal."),
}
_FB_WALL: dict[str, str | Prefix | None] = {
    "post_id": None,
    "author_name": None,
    "author_id": None,
    "published_at": None,
    "text": None,
}

EXPECTED: list[Expect] = [
    # ------------------------------------------------------------------ Instagram
    Expect(
        file="instagram/post-with-photo.html",
        url="https://www.instagram.com/p/CPeC-Eenc8l/",
        platform="instagram",
        kind="post",
        fields=_IG_PHOTO,
        counts={"likes": 298_000, "replies": 553},
        media_min=1,
        notes=("route ids", "date without a time of day"),
    ),
    Expect(
        file="instagram/post-with-photo.html",
        url=LOCAL + "instagram/post-with-photo.html",
        platform="instagram",
        basis="claimed",
        kind="post",
        fields=_IG_PHOTO,
        counts={"likes": 298_000, "replies": 553},
        media_min=1,
    ),
    Expect(
        file="instagram/profile.html",
        url="https://www.instagram.com/pluto__travel/",
        platform="instagram",
        kind="profile",
        fields={
            "url": "https://www.instagram.com/pluto__travel/",
            "post_id": None,
            "author_name": "Pluto",
            "author_handle": "@pluto__travel",
            "author_id": "3640900328",
            "published_at": None,
            "title": "Pluto (@pluto__travel) • Instagram photos and videos",
            "text": "Home of travel — Plan a trip and find the best things to do in one simple, fun and beautiful app.",
        },
    ),
    Expect(
        file="instagram/integration-instagram/input.html",
        url="https://www.instagram.com/p/BWUDBntl3_Z/",
        platform="instagram",
        kind="post",
        fields={
            "url": "https://www.instagram.com/p/BWUDBntl3_Z/",
            "post_id": "BWUDBntl3_Z",
            "author_name": "Tesla",
            "author_handle": "@teslamotors",
            "author_id": "297604134",
            "published_at": "2017-07-09T04:58:10Z",
            "title": "Tesla on Instagram: “The first Model 3 production car”",
            "text": "The first Model 3 production car",
        },
        counts={"likes": 159_071, "replies": 1_747},
        conflicts=("published_at",),
        media_min=1,
    ),
    # ------------------------------------------------------------------ TikTok
    Expect(
        file="tiktok/video.html",
        url="https://www.tiktok.com/@illojuan/video/7571863205253778710",
        platform="tiktok",
        kind="post",
        fields=_TT_VIDEO,
        counts={"replies": 146, "likes": 25_500, "views": 192_100, "reposts": 0},
        media_min=2,
    ),
    Expect(
        file="tiktok/video.html",
        url=LOCAL + "tiktok/video.html",
        platform="tiktok",
        basis="claimed",
        kind="post",
        fields=_TT_VIDEO,
        counts={"replies": 146, "likes": 25_500, "views": 192_100},
        media_min=2,
    ),
    Expect(
        file="tiktok/profile.html",
        url="https://www.tiktok.com/@illojuan",
        platform="tiktok",
        kind="profile",
        fields={
            "url": "https://www.tiktok.com/@illojuan",
            "post_id": None,
            "author_name": "IlloJuan",
            "author_handle": "@illojuan",
            "author_id": "6781206617314018309",
            "published_at": None,
            "title": "IlloJuan (@illojuan) | TikTok",
            "text": "Timing, saludos desde Almería",
        },
    ),
    # ------------------------------------------------------------------ YouTube
    Expect(
        file="youtube/youtube-video.html",
        url="https://www.youtube.com/watch?v=hwMkbaS_M_c",
        platform="youtube",
        kind="post",
        fields=_YT_VIDEO,
        counts={"views": 1_077_715, "likes": 7_373},
        media_min=1,
        notes=("microformat title is a translation",),
    ),
    Expect(
        file="youtube/youtube-video.html",
        url=LOCAL + "youtube/youtube-video.html",
        platform="youtube",
        basis="claimed",
        kind="post",
        fields=_YT_VIDEO,
        counts={"views": 1_077_715, "likes": 7_373},
        media_min=1,
    ),
    Expect(
        file="youtube/youtube-channel.html",
        url="https://www.youtube.com/channel/UCzcRQ3vRNr6fJ1A9rqFn7QA",
        platform="youtube",
        kind="profile",
        fields={
            "url": "https://www.youtube.com/channel/UCzcRQ3vRNr6fJ1A9rqFn7QA",
            "post_id": None,
            "author_name": "ONE Media",
            "author_handle": "@OneMedia.",
            "author_id": "UCzcRQ3vRNr6fJ1A9rqFn7QA",
            "published_at": None,
            "title": "ONE Media",
            "text": Prefix("ALL the Must See Movie Trailers, Film Clips & Videos are here!\n"),
        },
    ),
    Expect(
        file="youtube/www.youtube.com.html",
        url="https://www.youtube.com/watch?v=srtMWzyqdp8",
        platform="youtube",
        kind="post",
        fields=_YT_OLD,
        counts={"views": 14_358, "likes": 245},
        media_min=1,
        notes=("no ytInitialPlayerResponse", "date without a time of day"),
    ),
    Expect(
        file="youtube/www.youtube.com.html",
        url=LOCAL + "youtube/www.youtube.com.html",
        platform="youtube",
        basis="claimed",
        kind="post",
        fields=_YT_OLD,
        counts={"views": 14_358, "likes": 245},
    ),
    # ------------------------------------------------------------------ Facebook
    Expect(
        file="facebook/facebook.com.visitaustria.html",
        url="https://www.facebook.com/visitaustria/",
        platform="facebook",
        kind="profile",
        fields=_FB_PAGE,
        media_min=1,
        notes=("2017-10-08T09:12:00Z", "2017-10-06T11:00:00Z"),
    ),
    Expect(
        file="facebook/facebook.com.visitaustria.html",
        url=LOCAL + "facebook/facebook.com.visitaustria.html",
        platform="facebook",
        basis="claimed",
        kind="profile",
        fields={**_FB_PAGE, "url": "https://www.facebook.com/visitaustria/"},
    ),
    Expect(
        file="facebook/facebook.html",
        url="https://www.facebook.com/afcajax/videos/1686831701364171",
        platform="facebook",
        page_state="interstitial",
        fields=_FB_WALL,
        notes=("unsupported-browser",),
    ),
    Expect(
        file="facebook/facebook.html",
        url=LOCAL + "facebook/facebook.html",
        platform="facebook",
        basis="claimed",
        page_state="interstitial",
        fields=_FB_WALL,
    ),
]
