"""What a capture learns about the post it shows: the `post` object and the `page_state`.

Every value carries the page element it came from (`Post.sources`); values the page gives
twice and differently are kept side by side in `Post.conflicts`, never silently merged;
fields left empty say why in `Post.missing`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PlatformBasis = Literal["established", "claimed", "none"]
PageStateName = Literal["content", "login-wall", "not-found", "interstitial", "rate-limited", "error"]
PostKind = Literal["post", "profile", "feed", "article", "page"]
MediaKind = Literal["image", "video", "audio", "stream"]

FIELDS: tuple[str, ...] = (
    "url",
    "post_id",
    "author_name",
    "author_handle",
    "author_id",
    "published_at",
    "title",
    "text",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlatformId(_Model):
    """Which platform the page belongs to, and on what basis.

    `established`: the final URL's host is one of the platform's own hosts.
    `claimed`: the host is not a platform host (a mirror, a saved copy, a test server);
    the page's own canonical URL, `og:url` or `og:site_name` names the platform.
    `none`: neither.
    """

    id: str | None = Field(None, description="Short platform id, e.g. 'x', 'bluesky', 'reddit'.")
    name: str | None = None
    basis: PlatformBasis = "none"
    evidence: str = Field(description="What the decision rests on, in words.")


class Candidate(_Model):
    value: str
    source: str


class Conflict(_Model):
    """One field the page states more than once, differently."""

    field: str
    chosen: str = Field(
        description="The value written to the field (the most direct source); empty when nothing "
        "on the page decides between the values (a numbers-only date that reads either way) and "
        "the field was left empty."
    )
    values: list[Candidate]
    note: str


class MediaItem(_Model):
    kind: MediaKind
    url: str
    source: str = Field(description="The page element the URL came from.")
    artifact: str | None = Field(None, description="Path under data/ when the file was saved.")
    sha256: str | None = None
    size: int | None = None
    content_type: str | None = None
    obtained: str | None = Field(
        None, description="'network-record' (the browser fetched it) or 'fetched' (same context)."
    )
    skipped: str | None = Field(None, description="Why the file was not saved, when it was not.")


class Counts(_Model):
    replies: int | None = None
    reposts: int | None = None
    quotes: int | None = None
    likes: int | None = None
    views: int | None = None
    shares: int | None = Field(None, description="Shares to other places (not reposts).")
    score: int | None = Field(None, description="Net vote score (Reddit, Hacker News points).")
    followers: int | None = Field(None, description="On a profile: the followers shown.")


class Post(_Model):
    """The post's own identifiers, read from the page's data, each with its source."""

    platform: PlatformId
    extractor: str = Field(description="The extractor that read the page: a platform or 'generic'.")
    kind: PostKind = "page"
    url: str | None = Field(None, description="The post's canonical URL as the page states it.")
    post_id: str | None = None
    author_name: str | None = None
    author_handle: str | None = None
    author_id: str | None = Field(
        None, description="The platform's stable account id (numeric, DID) where the page has it."
    )
    published_at: str | None = Field(
        None, description="ISO 8601; in UTC when the page gives a zone, else as the page gives it."
    )
    title: str | None = None
    text: str | None = None
    media: list[MediaItem] = Field(default_factory=list)
    counts: Counts = Field(default_factory=Counts)
    sources: dict[str, str] = Field(
        default_factory=dict, description="Field name -> the page element its value came from."
    )
    conflicts: list[Conflict] = Field(default_factory=list)
    missing: dict[str, str] = Field(
        default_factory=dict, description="Field name -> why it is empty."
    )
    notes: list[str] = Field(
        default_factory=list,
        description="Decisions and problems met while reading (charset, malformed JSON-LD, ...).",
    )


class PageState(_Model):
    state: PageStateName
    reason: str
