"""What the bundle page shows, gathered from the sealed metadata (pure functions)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from pydantic import BaseModel

from collector.evidence.model import Artifact, Metadata
from collector.platforms import summary


class MediaRow(BaseModel):
    kind: str
    url: str
    artifact: str | None
    sha256: str | None
    skipped: str | None


class PostCard(BaseModel):
    """The post as read from the page: platform (established or only claimed), author, time,
    text and media with the hashes of the files saved."""

    platform: str
    basis: str
    author: str
    published_at: str
    url: str | None
    text: str | None
    media: list[MediaRow]
    conflicts: list[str]


def post_card(meta: Metadata) -> PostCard | None:
    post = meta.capture.post
    if post is None:
        return None
    hashes = {a.path: a.sha256 for a in meta.artifacts}
    who = " ".join(x for x in (post.author_name, f"({post.author_handle})" if post.author_handle else None) if x)
    return PostCard(
        platform=summary.platform_line(post),
        basis=post.platform.basis,
        author=who or "author not found",
        published_at=post.published_at or "time not found",
        url=post.url,
        text=post.text,
        media=[
            MediaRow(kind=m.kind, url=m.url, artifact=m.artifact, skipped=m.skipped,
                     sha256=hashes.get(m.artifact) if m.artifact else None)
            for m in post.media
        ],
        conflicts=[
            f"{c.field}: " + " | ".join(f"{v.value} ({v.source})" for v in c.values)
            for c in post.conflicts
        ],
    )


def page_state(meta: Metadata) -> str | None:
    state = meta.capture.page_state
    return summary.state_line(state) if state is not None else None


def artifact(meta: Metadata, path: str) -> Artifact | None:
    """The sealed artifact at exactly `path` (nothing else of the bag is served)."""
    return next((a for a in meta.artifacts if a.path == path), None)


def download_name(bundle_id: str, path: str) -> str:
    """A file name for the download: the bundle id and the artifact's name, in safe characters."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{bundle_id}-{PurePosixPath(path).name}")[:200]
