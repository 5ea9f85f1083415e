"""Writing the traffic as WARC (ISO 28500) with warcio, one gzip member per record.

The browser hands response bodies over decoded (content coding removed, dechunked), so the
stored HTTP headers are reconciled with the stored bytes: `Content-Encoding` and
`Transfer-Encoding` are removed (their values kept as `X-Archive-Orig-*` headers, as pywb
and webrecorder do) and `Content-Length` is set to the stored length. Every such change is a
`WarcRewrite`, listed in the capture record and in the WARC's warcinfo record.

Records go to a scratch file as they arrive (one body in memory at a time); `finish` writes
the warcinfo record, which can only list the rewrites once all are known, and then copies
the scratch records after it (each record is its own gzip member, so this is plain
concatenation).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter as _WarcioWriter

from collector.evidence.model import WarcRewrite

WARC_VERSION = "WARC/1.1"
ORIG_PREFIX = "X-Archive-Orig-"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

HeaderList = list[tuple[str, str]]


class WARCWriter(_WarcioWriter):  # type: ignore[misc]
    """warcio's writer with SHA-256 block and payload digests instead of SHA-1."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


@dataclass
class Reconciled:
    headers: HeaderList
    rewrites: list[WarcRewrite] = field(default_factory=list)


def _ascii_safe(url: str, name: str, value: str, rewrites: list[WarcRewrite]) -> str:
    """Header values must be bytes on the wire; percent-encode what is not ASCII (recorded)."""
    if value.isascii() and "\r" not in value and "\n" not in value:
        return value
    safe = "".join(
        ch if ch.isascii() and ch not in "\r\n" else "".join(f"%{b:02X}" for b in ch.encode())
        for ch in value
    )
    rewrites.append(
        WarcRewrite(
            url=url,
            header=name,
            original=value,
            replacement=safe,
            reason="value not representable as ASCII header bytes: percent-encoded",
        )
    )
    return safe


def reconcile_response_headers(
    url: str,
    headers: Sequence[tuple[str, str]],
    stored_length: int,
    *,
    redirect: bool = False,
    unavailable: str | None = None,
) -> Reconciled:
    """Make `headers` describe the body actually stored (`stored_length` decoded bytes)."""
    rewrites: list[WarcRewrite] = []
    out: HeaderList = []
    lengths: list[str] = []
    for name, value in headers:
        if name.startswith(":"):
            rewrites.append(
                WarcRewrite(
                    url=url,
                    header=name,
                    original=value,
                    replacement=None,
                    reason="HTTP/2 pseudo-header has no HTTP/1.1 form: dropped",
                )
            )
            continue
        lower = name.lower()
        if lower == "content-encoding" and value.strip().lower() not in ("", "identity"):
            out.append((ORIG_PREFIX + name, value))
            why = (
                "no body stored"
                if redirect or unavailable is not None
                else "the browser hands bodies over decoded and the body is stored decoded"
            )
            rewrites.append(
                WarcRewrite(
                    url=url,
                    header=name,
                    original=value,
                    replacement=None,
                    reason=f"{why}: header removed, original kept as {ORIG_PREFIX}{name}",
                )
            )
            continue
        if lower == "transfer-encoding":
            out.append((ORIG_PREFIX + name, value))
            rewrites.append(
                WarcRewrite(
                    url=url,
                    header=name,
                    original=value,
                    replacement=None,
                    reason=(
                        "the browser hands bodies over de-chunked; stored as one body, so the "
                        f"header was removed (original kept as {ORIG_PREFIX}{name})"
                    ),
                )
            )
            continue
        if lower == "content-length":
            lengths.append(value)
            continue
        out.append((name, _ascii_safe(url, name, value, rewrites)))

    stored = str(stored_length)
    if redirect:
        reason = "redirect response: the browser does not expose redirect bodies; stored empty"
    elif unavailable is not None:
        reason = f"body unavailable ({unavailable}); stored empty"
    else:
        reason = "set to the length of the body as stored"
    original = ", ".join(lengths) if lengths else None
    if lengths and original != stored:
        out.append((ORIG_PREFIX + "Content-Length", original or ""))
    out.append(("Content-Length", stored))
    # Recorded when the length changed, and also when it did not but the body was not
    # stored as received (a redirect, a body that never arrived).
    if original != stored or redirect or unavailable is not None:
        rewrites.append(
            WarcRewrite(
                url=url,
                header="Content-Length",
                original=original,
                replacement=stored,
                reason=reason,
            )
        )
    return Reconciled(headers=out, rewrites=rewrites)


def reconcile_request_headers(url: str, headers: Sequence[tuple[str, str]]) -> Reconciled:
    """Request headers as an HTTP/1.1 request record: pseudo-headers become `Host`."""
    rewrites: list[WarcRewrite] = []
    out: HeaderList = []
    authority: str | None = None
    for name, value in headers:
        if name.startswith(":"):
            if name == ":authority":
                authority = value
            continue
        out.append((name, _ascii_safe(url, name, value, rewrites)))
    if not any(name.lower() == "host" for name, _ in out):
        host = authority or urlsplit(url).netloc
        out.insert(0, ("Host", host))
        rewrites.append(
            WarcRewrite(
                url=url,
                header="Host",
                original=None,
                replacement=host,
                reason="request sent without a Host header (HTTP/2+): added from the authority",
            )
        )
    return Reconciled(headers=out, rewrites=rewrites)


def status_line(status: int, reason: str) -> str:
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
    return f"{status} {reason}"


def request_target(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def warc_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Exchange:
    """One request/response pair as it goes into the WARC."""

    url: str
    method: str
    request_headers: HeaderList
    request_body: bytes | None
    status: int
    reason: str
    response_headers: HeaderList
    body: bytes
    received_at: datetime
    server_ip: str | None
    truncated: str | None = None  # WARC-Truncated value when the body is not complete


@dataclass(frozen=True)
class Written:
    """Where one exchange went: its response record's id and offset in the scratch file."""

    response_id: str
    offset: int


class WarcSink:
    """Appends request/response pairs to a scratch file; `finish` produces the final WARC."""

    def __init__(self, scratch: Path) -> None:
        self._scratch_path = scratch
        self._scratch: BinaryIO = scratch.open("wb")
        self._writer = WARCWriter(self._scratch, gzip=True, warc_version=WARC_VERSION)
        self.records = 0

    def write(self, exchange: Exchange) -> Written:
        """Write one pair (blocking: run it in a worker thread)."""
        writer = self._writer
        offset = self._scratch.tell()
        common = {"WARC-Date": warc_date(exchange.received_at)}
        if exchange.server_ip:
            common["WARC-IP-Address"] = exchange.server_ip
        response_fields = dict(common)
        if exchange.truncated:
            response_fields["WARC-Truncated"] = exchange.truncated
        http_response = StatusAndHeaders(
            status_line(exchange.status, exchange.reason),
            list(exchange.response_headers),
            protocol="HTTP/1.1",
        )
        response = writer.create_warc_record(
            exchange.url,
            "response",
            payload=BytesIO(exchange.body),
            length=len(exchange.body),
            warc_headers_dict=response_fields,
            http_headers=http_response,
        )
        request_body = exchange.request_body or b""
        http_request = StatusAndHeaders(
            f"{exchange.method} {request_target(exchange.url)} HTTP/1.1",
            list(exchange.request_headers),
            is_http_request=True,
        )
        request = writer.create_warc_record(
            exchange.url,
            "request",
            payload=BytesIO(request_body),
            length=len(request_body),
            warc_headers_dict=dict(common),
            http_headers=http_request,
        )
        writer.write_request_response_pair(request, response)  # the response record first
        self._scratch.flush()  # so `payload` can read it back while recording goes on
        self.records += 2
        return Written(response_id=response.rec_headers.get_header("WARC-Record-ID"), offset=offset)

    @contextmanager
    def payload(self, offset: int) -> Iterator[BinaryIO]:
        """The stored HTTP payload of the response record written at `offset`, as a stream."""
        with self._scratch_path.open("rb") as handle:
            handle.seek(offset)
            record = next(iter(ArchiveIterator(handle)))
            if record.rec_type != "response":
                raise ValueError(f"no response record at offset {offset}")
            yield record.raw_stream

    def finish(self, target: Path, info: list[tuple[str, str]]) -> int:
        """Write `target`: warcinfo (with `info` fields) then every record. Returns the count."""
        self._scratch.close()
        with target.open("wb") as out:
            writer = WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
            body = "".join(f"{name}: {_field(value)}\r\n" for name, value in info).encode("utf-8")
            record = writer.create_warc_record(
                target.name,
                "warcinfo",
                payload=BytesIO(body),
                length=len(body),
                warc_content_type="application/warc-fields",
            )
            record.rec_headers.replace_header("WARC-Filename", target.name)
            record.rec_headers.remove_header("WARC-Target-URI")
            writer.write_record(record)
            with self._scratch_path.open("rb") as scratch:
                shutil.copyfileobj(scratch, out, 1024 * 1024)
        self._scratch_path.unlink(missing_ok=True)
        return self.records + 1

    def discard(self) -> None:
        if not self._scratch.closed:
            self._scratch.close()
        self._scratch_path.unlink(missing_ok=True)


def _field(value: str) -> str:
    """A warc-fields value on one line."""
    return " ".join(value.split())


def rewrite_lines(rewrites: Sequence[WarcRewrite]) -> list[tuple[str, str]]:
    """Human-readable warcinfo fields, one per header rewrite."""
    return [
        (
            "header-rewrite",
            f"{w.url} | {w.header}: {w.original!r} -> {w.replacement!r} | {w.reason}",
        )
        for w in rewrites
    ]
