"""What the recorder wrote, indexed: where each body sits in the WARC, and which were JSON.

Two indexes, both bounded:

- body locations, keyed by URL (the response's own URL and every URL that redirected to
  it, fragments removed), so later steps (post media, stream segments) can read a body
  back from the WARC instead of fetching it again;
- the JSON responses (the platform's own API objects), listed in the capture record as
  `platform_json` with the SHA-256 of the body as stored and the WARC-Record-ID.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urldefrag

from collector.browser.warc import Exchange, Written
from collector.evidence.model import JsonResponse

LOCATIONS_MAX = 50_000
"""Most URLs whose body location is kept (a few hundred bytes each)."""
JSON_PARSE_LIMIT = 8 * 1024 * 1024
"""Bodies up to this size are parsed to decide whether they are JSON; larger ones are
judged by their first character."""
JSON_RESOURCE_TYPES = frozenset({"xhr", "fetch"})
_XSSI_PREFIXES = (b")]}'", b"for (;;);", b"for(;;);", b"while(1);", b"while (1);")
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+0-(\d+)/(\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class BodyLocation:
    """One response body in the WARC scratch file."""

    url: str  # as stored (redacted under an alias)
    source_url: str  # the response's own URL as the browser saw it (relative URIs resolve here)
    offset: int
    record_id: str
    status: int
    size: int
    content_type: str | None
    resource_type: str
    complete: bool  # the whole entity, untruncated: 200, or a 206 that covers all of it


def media_type(content_type: str | None) -> str:
    """`type/subtype` of a Content-Type value, lower case, parameters removed."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json_type(content_type: str | None) -> bool:
    """application/json, text/json and any */*+json (ld+json, activity+json, ...)."""
    kind = media_type(content_type)
    return kind in ("application/json", "text/json") or kind.endswith("+json")


def looks_like_json(body: bytes) -> bool:
    """True when `body` is a JSON document (after an optional BOM and anti-XSSI prefix)."""
    text = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    for prefix in _XSSI_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :].lstrip()
            break
    if not text[:1] or text[:1] not in b"{[":
        return False
    if len(text) > JSON_PARSE_LIMIT:
        return True
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    lower = name.lower()
    return next((v for k, v in headers if k.lower() == lower), None)


def is_complete(
    status: int, headers: Iterable[tuple[str, str]], size: int, truncated: bool
) -> bool:
    """Whether a stored body is the whole entity."""
    if truncated:
        return False
    if status == 200:
        return True
    if status != 206:
        return False
    match = _CONTENT_RANGE.match(header(headers, "Content-Range") or "")
    if match is None:
        return False
    last, total = int(match.group(1)), int(match.group(2))
    return last + 1 == total == size


def url_key(url: str) -> str:
    """The lookup key of a URL: the URL without its fragment."""
    return urldefrag(url)[0]


class TrafficIndex:
    """Body locations by URL, and the JSON responses, as the recorder writes them."""

    def __init__(self, json_max: int, locations_max: int = LOCATIONS_MAX) -> None:
        self.json_max = json_max
        self.locations_max = locations_max
        self.json: list[JsonResponse] = []
        self.json_omitted = 0
        self.locations_omitted = 0
        self._locations: dict[str, BodyLocation] = {}

    def add(
        self, keys: Iterable[str], exchange: Exchange, written: Written, resource_type: str
    ) -> None:
        """Index one exchange just written to the WARC; `keys[0]` is the response's own URL,
        the others the URLs that redirected to it."""
        keys = list(keys)
        headers = exchange.response_headers
        content_type = header(headers, "Content-Type")
        location = BodyLocation(
            url=exchange.url,
            source_url=keys[0] if keys else exchange.url,
            offset=written.offset,
            record_id=written.response_id,
            status=exchange.status,
            size=len(exchange.body),
            content_type=content_type,
            resource_type=resource_type,
            complete=is_complete(
                exchange.status, headers, len(exchange.body), exchange.truncated is not None
            ),
        )
        for key in {url_key(k) for k in keys}:
            self._place(key, location)
        if exchange.body and (
            is_json_type(content_type)
            or (resource_type in JSON_RESOURCE_TYPES and looks_like_json(exchange.body))
        ):
            self._add_json(exchange, location)

    def _place(self, key: str, location: BodyLocation) -> None:
        current = self._locations.get(key)
        if current is None:
            if len(self._locations) >= self.locations_max:
                self.locations_omitted += 1
                return
            self._locations[key] = location
        elif location.complete and not current.complete:
            self._locations[key] = location  # a whole body beats a partial or failed one

    def _add_json(self, exchange: Exchange, location: BodyLocation) -> None:
        if len(self.json) >= self.json_max:
            self.json_omitted += 1
            return
        self.json.append(
            JsonResponse(
                url=exchange.url,
                method=exchange.method,
                status=exchange.status,
                content_type=location.content_type,
                resource_type=location.resource_type,
                size=location.size,
                sha256=hashlib.sha256(exchange.body).hexdigest(),
                warc_record_id=location.record_id,
                received_at=exchange.received_at,
            )
        )

    def location(self, url: str) -> BodyLocation | None:
        """Where the body of `url` (or of a response it redirected to) is stored."""
        return self._locations.get(url_key(url))
