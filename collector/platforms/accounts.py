"""Which account a scope names, and whether a post's author is that account.

A scope such as `https://x.com/alice/*` or `https://social.example/@alice/*` names one
account; a page inside it whose post was written by someone else (a status URL under one
account's path that shows another account's post, which some platforms serve) is not what
the authorization covers. Platform modules say how their paths name accounts
(`Platform.account_path`); on a host no platform owns, the fediverse form `/@name/` is read.
"""

from __future__ import annotations

import re

from collector.evidence.post import Post
from collector.platforms.registry import for_host, platforms

_GLOB = re.compile(r"[*?\[]")


def _fediverse() -> re.Pattern[str] | None:
    return next((p.account_path for p in platforms() if p.id == "mastodon"), None)


def scope_account(host: str, path_glob: str) -> str | None:
    """The handle of the account a scope's host and path name, or None (lower case, no `@`)."""
    literal = _GLOB.split(path_glob, maxsplit=1)[0]
    platform = for_host(host.removeprefix("*."))
    pattern = platform.account_path if platform is not None else _fediverse()
    if pattern is None:
        return None
    match = pattern.match(literal)
    return match.group(1).lower() if match else None


def author_handle(post: Post) -> str | None:
    """The post's author handle as an account name: lower case, without `@`, `u/` or a server."""
    handle = (post.author_handle or "").strip()
    if not handle:
        return None
    handle = handle.removeprefix("@").removeprefix("/u/").removeprefix("u/")
    return handle.split("@", 1)[0].lower() or None


def author_outside(host: str, path_glob: str, post: Post | None) -> str | None:
    """Why the post's author is not the account the scope names, or None (same account, or
    the scope names no account, or the page gave no author)."""
    account = scope_account(host, path_glob)
    author = author_handle(post) if post is not None else None
    if account is None or author is None or author == account:
        return None
    return f"the post's author is @{author}, but the scope names the account @{account}"
