"""Plain words for what a capture shows: the page state, the platform and its basis, the post."""

from __future__ import annotations

from collector.evidence.post import PageState, Post

STATE_WORDS = {
    "content": "CONTENT: the page shows its content",
    "login-wall": "LOGIN WALL: the page asks the viewer to log in; the post itself is not shown",
    "not-found": "NOT FOUND: the post or page is deleted or does not exist",
    "interstitial": "INTERSTITIAL: a browser, age or consent screen stands in front of the content",
    "rate-limited": "RATE LIMITED: the platform refused to serve more pages for now",
    "error": "ERROR: the server answered with an error",
}


def state_line(state: PageState) -> str:
    return f"{STATE_WORDS[state.state]} ({state.reason})"


def platform_line(post: Post) -> str:
    platform = post.platform
    if platform.basis == "established":
        return f"{platform.name}, established: {platform.evidence}"
    if platform.basis == "claimed":
        return f"{platform.name}, CLAIMED BY THE PAGE, not established: {platform.evidence}"
    return f"none recognised ({platform.evidence})"


def post_line(post: Post) -> str:
    who = " ".join(x for x in (post.author_name, f"({post.author_handle})" if post.author_handle else None) if x)
    parts = [
        f"{post.kind} {post.post_id}" if post.post_id else post.kind,
        f"by {who}" if who else "author not found",
        f"at {post.published_at}" if post.published_at else "time not found",
    ]
    return ", ".join(parts)


def lines(post: Post | None, state: PageState | None) -> list[tuple[str, str]]:
    """(label, text) pairs for the capture summary."""
    out: list[tuple[str, str]] = []
    if state is not None:
        out.append(("captured", state_line(state)))
    if post is None:
        return out
    out.append(("platform", platform_line(post)))
    out.append(("post", post_line(post)))
    if post.url:
        out.append(("post url", post.url))
    if post.text:
        flat = " ".join(post.text.split())
        out.append(("text", flat if len(flat) <= 100 else flat[:99] + "…"))
    saved = sum(1 for m in post.media if m.artifact)
    if post.media:
        out.append(("media", f"{len(post.media)} item(s), {saved} saved"))
    for conflict in post.conflicts:
        values = " | ".join(f"{c.value} ({c.source})" for c in conflict.values)
        out.append(("CONFLICT", f"{conflict.field}: {values}"))
    return out
