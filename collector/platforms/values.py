"""Small readers shared by the platform modules: embedded JSON, nested keys, URL paths."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from collector.platforms.page import PageDoc, clean
from collector.platforms.registry import host_of

if TYPE_CHECKING:
    from collector.platforms.draft import Draft
    from collector.platforms.registry import Platform

MAX_NODES = 400_000
"""Most JSON nodes one key search visits (hydration states can be huge)."""


def json_at(body: str, start: int, notes: list[str] | None = None, label: str = "") -> Any:
    """The JSON value starting at `start` in a script (`var x = {...};`); None if invalid."""
    try:
        value, _ = json.JSONDecoder(strict=False).raw_decode(body, start)
    except ValueError as exc:
        if notes is not None:
            notes.append(f"{label}: not valid JSON ({' '.join(str(exc).split())[:120]})")
        return None
    return value


def find_key(value: Any, key: str) -> Iterator[Any]:
    """Every value stored under `key` anywhere in `value`, breadth first, bounded."""
    queue, seen = deque([value]), 0
    while queue and seen < MAX_NODES:
        item = queue.popleft()
        seen += 1
        if isinstance(item, dict):
            if key in item:
                yield item[key]
            queue.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            queue.extend(v for v in item if isinstance(v, (dict, list)))


def first_key(value: Any, key: str) -> Any:
    """The first value under `key` anywhere in `value` (breadth first), or None."""
    return next(find_key(value, key), None)


def dig(value: Any, *keys: str) -> Any:
    """`value[k1][k2]...`, or None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def url_path(url: Any) -> str:
    """The path of `url` ("" when it is not a URL)."""
    try:
        return urlsplit(str(url or "")).path
    except ValueError:
        return ""


def node_text(node: Any, expr: str) -> str | None:
    """Normalised text of the first element under `node` matching the XPath `expr`."""
    found = node.xpath(expr)
    return clean(found[0].text_content()) if found else None


def own_url(doc: PageDoc, draft: Draft, platform: Platform) -> tuple[str, str]:
    """The URL whose path names the post: the final URL on the platform's own host, else the
    URL the page gives for itself (on a mirror or copy the final URL names the copy)."""
    if platform.owns(host_of(doc.url)):
        return doc.url, "URL"
    return draft.best("url") or doc.url, "canonical URL"
