"""Telegram, Tumblr, VK, LinkedIn, Hacker News, and the pages only the generic reader reads.

Every value below was read by hand from the saved page's source (and, for the readability
pages, checked against readability's expected-metadata.json next to them):

* Telegram: t.me pages have no canonical and no date. The post id and channel come from
  `data-telegram-post`, the URL from `twitter:app:url:googleplay`, the channel name from
  `og:title`, the handle from `<title>Telegram: Contact @…`, the message text from
  `og:description` (line breaks kept). The message itself lives in the embed iframe. Every
  page redirects the browser to a `tg://` deep link from an inline script.
* Tumblr: readability's ground truth (title, siteName = blog title, publishedTime
  2014-09-02T08:35:27-04:00); the JSON-LD articleBody is cut ("+..."), the theme markup has
  the whole post. The Nib's theme writes og: tags with `value=`; its bootstrap JSON names
  the blog, its tracking pixel the numeric blog id 87356265; the date is only "May. 8 2020".
* VK: a community wall (m.vk.com/life): LIFE.ru, owner id -24199209 (owner_id= link),
  screen name "life" (canonical vk.com/life). The wall lists 5 posts, first the pinned
  wall-24199209_18932515; none of them is the page's post, so post_id stays empty.
* LinkedIn: code#article JSON (publishedDate 1566198097000 ms, authorId 476698932,
  linkedInArticleUrn …6569101923960532992, 319 likes, 160 comments, 0 shares); the 2016
  Pulse page's article element (megaphone id 6141680651092451328 = the report link's
  urn:li:linkedInArticle, author id 11749358, published 1464291516000 ms, 23 views, 4 likes,
  0 comments), captured by a logged-in member ("Ian Taylor", not the author).
* Hacker News: item 36817231 by toombowoombo, span.age title 2023-07-21T18:04:01 (no zone),
  225 points, 100 comments, Ask HN text in div.toptext.
* XenForo (katzen-forum.net, `<html id="XF">`): the first post `article[data-content=post-6331411]`
  by `a.username` Pepemaus (`/members/pepemaus.81656/`), `time.u-dt[datetime]`
  2018-09-27T14:51:09+0200, its share link `/threads/…230143/post-6331411`; the canonical names
  the thread, so the url conflict is expected.
* Generic pages: only fields the generic reader gets right are asserted; see the report for
  the ones it gets wrong (Stack Exchange author, Substack/Pikabu/Lifehacker gaps).
"""

from __future__ import annotations

from tests.real_pages import Contains, Expect, Prefix

LOCAL = "http://127.0.0.1:8000/real/"
TELEGRAM_DEEP_LINK = "inline script sends the browser to the app deep link"

EXPECTED: list[Expect] = [
    # ------------------------------------------------------------------ Telegram
    Expect(
        file="telegram/post-link-image.html",
        url="https://t.me/teslahunt/15513",
        platform="telegram",
        kind="post",
        fields={
            "url": "https://t.me/teslahunt/15513",
            "post_id": "teslahunt/15513",
            "author_name": "Tesla Hunt",
            "author_handle": "@teslahunt",
            "author_id": None,
            "published_at": None,
            "title": "Tesla Hunt",
            "text": Prefix("🔥 New on stock\n\n⬩ Tesla Model 3 Long Range AWD 2019\n⬩ 51,500 €"),
        },
        media_min=1,
        notes=(
            f"{TELEGRAM_DEEP_LINK} tg://resolve?domain=teslahunt&post=15513",
            "embed iframe t.me/teslahunt/15513?embed=1",
        ),
    ),
    Expect(
        file="telegram/post-link-image.html",
        url=LOCAL + "telegram/post-link-image.html",
        platform="telegram",
        basis="claimed",
        kind="post",
        fields={
            "url": "https://t.me/teslahunt/15513",
            "post_id": "teslahunt/15513",
            "author_name": "Tesla Hunt",
            "author_handle": "@teslahunt",
            "text": Prefix("🔥 New on stock"),
        },
        notes=(TELEGRAM_DEEP_LINK,),
    ),
    Expect(
        file="telegram/post-full-image.html",
        url="https://t.me/chollometro/28542",
        platform="telegram",
        kind="post",
        fields={
            "url": "https://t.me/chollometro/28542",
            "post_id": "chollometro/28542",
            "author_name": "Chollometro",
            "author_handle": "@chollometro",
            "author_id": None,
            "published_at": None,
            "text": Prefix("CHOLLO COMPARTIDO❗️🔥#Amazon\n\n🔹Lámpara de pie LED regulable"),
        },
        media_min=1,
        notes=(f"{TELEGRAM_DEEP_LINK} tg://resolve?domain=chollometro&post=28542",),
    ),
    Expect(
        file="telegram/channel.html",
        url="https://t.me/unlimitedhangout",
        platform="telegram",
        kind="profile",
        fields={
            "url": "https://t.me/unlimitedhangout",
            "post_id": None,
            "author_name": "Unlimited Hangout",
            "author_handle": "@unlimitedhangout",
            "author_id": None,
            "published_at": None,
            "text": "Investigative Journalist Whitney Webb\nhttps://unlimitedhangout.com/",
        },
        media_min=1,
        notes=(f"{TELEGRAM_DEEP_LINK} tg://resolve?domain=unlimitedhangout",),
    ),
    Expect(
        file="telegram/no-iframe.html",
        url="https://t.me/DiaboxApp",
        platform="telegram",
        kind="profile",
        fields={
            "url": "https://t.me/DiaboxApp",
            "post_id": None,
            "author_name": "DiaBox",
            "author_handle": "@DiaboxApp",
            "author_id": None,
            "text": "DiaBox App Official Channel",
        },
        notes=(f"{TELEGRAM_DEEP_LINK} tg://resolve?domain=DiaboxApp",),
    ),
    # ------------------------------------------------------------------ Tumblr
    Expect(
        file="tumblr/readability-tumblr/source.html",
        url="http://mcupdate.tumblr.com/post/96439224994/minecraft-18-the-bountiful-update",
        platform="tumblr",
        kind="post",
        fields={
            "url": "http://mcupdate.tumblr.com/post/96439224994/minecraft-18-the-bountiful-update",
            "post_id": "96439224994",
            "author_name": "Minecraft Update News",
            "author_handle": "@mcupdate",
            "author_id": None,
            "published_at": "2014-09-02T12:35:27Z",
            "title": "Minecraft 1.8 - The Bountiful Update",
            "text": Prefix(
                "+ Added Granite, Andesite, and Diorite stone blocks, with smooth versions\n"
                "+ Added Slime Block\n"
            ),
        },
        notes=("text is cut", "default share image"),
    ),
    Expect(
        file="tumblr/readability-tumblr/source.html",
        url="http://mcupdate.tumblr.com/post/96439224994/minecraft-18-the-bountiful-update",
        platform="tumblr",
        fields={"text": Contains("* LOTS AND LOTS of other changes\n- Removed Herobrine")},
    ),
    Expect(
        file="tumblr/1589925367396.html",
        url="https://thenib.tumblr.com/post/617555192826691585/niccolo-pizarro",
        platform="tumblr",
        kind="post",
        fields={
            "url": "https://thenib.tumblr.com/post/617555192826691585/niccolo-pizarro",
            "post_id": "617555192826691585",
            "author_name": "The Nib",
            "author_handle": "@thenib",
            "author_id": "87356265",
            "published_at": "2020-05-08",
            "title": "The Nib",
            "text": "Niccolo Pizarro.",
        },
        media_min=1,
        notes=("value= instead of content=", "63 notes", "date without a time of day"),
    ),
    Expect(
        file="tumblr/1589925367396.html",
        url=LOCAL + "tumblr/1589925367396.html",
        platform="tumblr",
        basis="claimed",
        kind="post",
        fields={
            "url": "https://thenib.tumblr.com/post/617555192826691585/niccolo-pizarro",
            "post_id": "617555192826691585",
            "author_handle": "@thenib",
            "author_id": "87356265",
        },
    ),
    # ------------------------------------------------------------------ VK
    Expect(
        file="vk/vk_life.html",
        url="https://m.vk.com/life",
        platform="vk",
        kind="profile",
        fields={
            "url": "https://vk.com/life",
            "post_id": None,
            "author_name": "LIFE.ru",
            "author_handle": "@life",
            "author_id": "-24199209",
            "published_at": None,
            "title": "LIFE.ru | VK",
            "text": Prefix("LIFE – о жизни в России, только самые интересные новости\n\n"),
        },
        notes=("wall listing 5 posts (first: wall-24199209_18932515 (pinned))",),
    ),
    Expect(
        file="vk/vk_life.html",
        url=LOCAL + "vk/vk_life.html",
        platform="vk",
        basis="claimed",
        kind="profile",
        fields={
            "url": "https://vk.com/life",
            "author_name": "LIFE.ru",
            "author_handle": "@life",
            "author_id": "-24199209",
            "text": Contains("smm-info@life.ru"),
        },
    ),
    # ------------------------------------------------------------------ LinkedIn
    Expect(
        file="linkedin/linkedin.com.hoeltmann.html",
        url="https://de.linkedin.com/pulse/ich-war-am-wochenende-auf-einer-hochzeit-im-wendland-inga-hoeltmann",
        platform="linkedin",
        kind="article",
        fields={
            "url": "https://de.linkedin.com/pulse/ich-war-am-wochenende-auf-einer-hochzeit-im-wendland-inga-hoeltmann",
            "post_id": "6569101923960532992",
            "author_name": "Inga Hoeltmann",
            "author_handle": "@ingahoeltmann",
            "author_id": "476698932",
            "published_at": "2019-08-19T07:01:37Z",
            "title": "Ich war am Wochenende auf einer Hochzeit im Wendland.",
            "text": Prefix("Das Wendland ist eine schöne, aber sehr ländliche Region"),
        },
        counts={"likes": 319, "replies": 160, "reposts": 0},
        media_min=1,
    ),
    Expect(
        file="linkedin/linkedin.com.hoeltmann.html",
        url=LOCAL + "linkedin/linkedin.com.hoeltmann.html",
        platform="linkedin",
        basis="claimed",
        kind="article",
        fields={
            "url": "https://de.linkedin.com/pulse/ich-war-am-wochenende-auf-einer-hochzeit-im-wendland-inga-hoeltmann",
            "post_id": "6569101923960532992",
            "author_id": "476698932",
            "text": Contains("Beschämend."),
        },
    ),
    Expect(
        file="linkedin/linkedin-pulse/input.html",
        url="https://www.linkedin.com/pulse/how-can-ai-change-financial-services-consolidation-finai-ramya-joseph",
        platform="linkedin",
        kind="article",
        fields={
            "url": "https://www.linkedin.com/pulse/how-can-ai-change-financial-services-consolidation-finai-ramya-joseph",
            "post_id": "6141680651092451328",
            "author_name": "Ramya Joseph",
            "author_handle": "@ramya-joseph-492b273",
            "author_id": "11749358",
            "published_at": "2016-05-26T19:38:36Z",
            "title": "How Can AI Change Financial Services? Consolidation of the #FinAI tweetstorm",
            "text": Prefix(
                "We had a tweetstorm today on #FinAI and the role AI will play to change "
                "financial services. Here is the consolidation of tweets.\n\n1/ Fintech in 2016"
            ),
        },
        counts={"views": 23, "likes": 4, "replies": 0},
        media_min=1,
        notes=("logged-in member (the header shows 'Ian Taylor')",),
    ),
    # ------------------------------------------------------------------ Hacker News
    Expect(
        file="hackernews/1690120617595.html",
        url="https://news.ycombinator.com/item?id=36817231",
        platform="hackernews",
        kind="post",
        fields={
            "url": "https://news.ycombinator.com/item?id=36817231",
            "post_id": "36817231",
            "author_name": "toombowoombo",
            "author_handle": "@toombowoombo",
            "author_id": None,
            "published_at": "2023-07-21T18:04:01",
            "title": "Ask HN: What are the best papers you read in your life?",
            "text": Prefix(
                "I'm trying to get an understanding on what quality means in terms of "
                "publishing research"
            ),
        },
        counts={"likes": 225, "replies": 100},
        notes=("written in UTC by Hacker News", "no time zone"),
    ),
    Expect(
        file="hackernews/1690120617595.html",
        url=LOCAL + "hackernews/1690120617595.html",
        platform="hackernews",
        basis="claimed",
        kind="post",
        fields={"post_id": "36817231", "author_handle": "@toombowoombo"},
        counts={"likes": 225, "replies": 100},
    ),
    # ------------------------------------------------------------------ generic only
    Expect(
        file="forums/german.stackexchange.com.ausgeraubt.html",
        url="https://german.stackexchange.com/questions/10376/when-to-use-wurde-versus-war-eg-ich-wurde-ausgeraubt-vs-ich-war-ausgerau",
        platform=None,
        basis="none",
        fields={
            "url": "https://german.stackexchange.com/questions/10376/when-to-use-wurde-versus-war-eg-ich-wurde-ausgeraubt-vs-ich-war-ausgerau",
            "published_at": "2014-02-06T20:37:20",
            "title": 'When to use "wurde" versus "war" (eg "Ich wurde ausgeraubt" vs "Ich war ausgeraubt")',
            "text": Prefix("How does one know when to use wurde vs war in forming sentences"),
        },
        notes=("no time zone",),
    ),
    Expect(
        file="forums/katzen-forum.net-Pepe.html",
        url="https://www.katzen-forum.net/threads/jede-nacht-verliert-pepe-soviel-dreck-aus-dem-fell.230143/",
        platform="xenforo",
        basis="claimed",
        kind="post",
        fields={
            "url": "https://www.katzen-forum.net/threads/jede-nacht-verliert-pepe-soviel-dreck-aus-dem-fell.230143/post-6331411",
            "post_id": "6331411",
            "author_name": "Pepemaus",
            "author_id": "81656",
            "published_at": "2018-09-27T12:51:09Z",
            "title": "Jede Nacht verliert Pepe soviel Dreck aus dem Fell",
            "text": Prefix("Hallo,\nPepe schläft nachts mit mir im Schlafzimmer"),
        },
        counts={"replies": 17},
    ),
    Expect(
        file="blogs/readability-medium-1/source.html",
        url="https://medium.com/@pippinlee/the-open-journalism-project-better-student-journalism-fb39f4f701bb",
        platform=None,
        basis="none",
        kind="article",
        fields={
            "url": "https://medium.com/@pippinlee/the-open-journalism-project-better-student-journalism-fb39f4f701bb",
            "author_name": "Pippin Lee",
            "author_handle": "@pippinlee",
            "published_at": "2015-03-17T16:27:40.294Z",
            "title": "The Open Journalism Project: Better Student Journalism",
            "text": Prefix(
                "We pushed out the first version of the Open Journalism site in January."
            ),
        },
        media_min=1,
    ),
    Expect(
        file="blogs/substack/input.html",
        url="https://map.simonsarris.com/p/the-most-precious-resource-is-agency",
        platform=None,
        basis="none",
        kind="article",
        fields={
            "url": "https://map.simonsarris.com/p/the-most-precious-resource-is-agency",
            "author_name": "Simon Sarris",
            "author_id": "user:4418889",
            "published_at": "2021-07-01T00:26:54Z",
            "title": "The Most Precious Resource is Agency",
            "text": Prefix("The world is a very malleable place. When I read biographies"),
        },
        media_min=1,
    ),
    Expect(
        file="pikabu/input.html",
        url="https://pikabu.ru/story/7_interesnyikh_nablyudeniy_o_pervoy_matritse_6758662",
        platform=None,
        basis="none",
        fields={
            "url": "https://pikabu.ru/story/7_interesnyikh_nablyudeniy_o_pervoy_matritse_6758662",
            "author_name": "odno.kino",
            "published_at": Prefix("2019-06-13"),
            "title": "7 интересных наблюдений о первой Матрице",
        },
        media_min=1,
        notes=("the bytes are valid UTF-8 but a <meta charset> declares cp1251",),
    ),
    Expect(
        file="news-comments/readability-lifehacker-post-comment-load/source.html",
        url="http://lifehacker.com/how-to-program-your-mind-to-stop-buying-crap-you-don-t-1690268064",
        platform=None,
        basis="none",
        kind="article",
        fields={
            "url": "http://lifehacker.com/how-to-program-your-mind-to-stop-buying-crap-you-don-t-1690268064",
            "author_name": "Patrick Allan",
            "title": "How to Program Your Mind to Stop Buying Crap You Don’t Need",
            "text": Prefix("We all buy things from time to time that we don't really need."),
        },
        media_min=1,
    ),
]
