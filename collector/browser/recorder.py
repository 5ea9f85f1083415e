"""Recording every response the browser receives, in order, into the WARC.

Response events are queued the moment they fire (with the time they arrived); a single
writer task takes them in that order, waits (bounded) for each body to finish, reads it,
reconciles the headers with the stored bytes and appends the request/response pair to the
WARC scratch file. One body is held at a time. A body that does not arrive within its bound
is stored empty, marked `WARC-Truncated`, and recorded as `body-unavailable`.

With a `Redactor` (a capture under an alias), the URL, headers and bodies of each exchange
are redacted before the headers are reconciled and the records written, so the WARC's
digests and lengths describe the redacted bytes.

Every exchange written is indexed (`TrafficIndex`): where its body sits in the WARC, and
whether it was JSON. Exchanges the tool makes itself (post media fetched in the browser
context, see `collector.browser.media`) go through `archive`: the same writer and the same
redaction, so the WARC stays a complete record of the traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, TypeVar

from playwright.async_api import BrowserContext, Page, Request, Response

from collector.browser.egress.socks import EgressPoint
from collector.browser.journal import Journal, one_line, utcnow
from collector.browser.redaction import HeaderList, Redactor
from collector.browser.traffic_index import BodyLocation, TrafficIndex
from collector.browser.warc import (
    REDIRECT_STATUSES,
    Exchange,
    WarcSink,
    Written,
    reconcile_request_headers,
    reconcile_response_headers,
)
from collector.evidence.bundle.layout import WARC
from collector.evidence.model import NetworkSummary, WarcRewrite

log = logging.getLogger(__name__)

T = TypeVar("T")

LIVE_BODY_TIMEOUT_S = 15.0
"""Longest wait for one body while the capture is still running."""
DRAIN_BODY_TIMEOUT_S = 2.0
"""Longest wait for one body once the capture is finishing."""
META_TIMEOUT_S = 5.0
"""Longest wait for headers or addresses of one response."""


@dataclass
class _Pending:
    response: Response
    received_at: datetime


TOOL_FETCH = "tool-fetch"
"""Resource type recorded for exchanges the tool made itself (not the page)."""


@dataclass
class _Fetched:
    """An exchange the tool made in the browser context, to be archived like the page's."""

    url: str
    method: str
    request_headers: HeaderList
    status: int
    reason: str
    response_headers: HeaderList
    body: bytes
    received_at: datetime
    keys: list[str]
    done: asyncio.Future[Written | None]


class TrafficRecorder:
    """Listens on a browser context and streams its traffic into a `WarcSink`."""

    def __init__(
        self,
        sink: WarcSink,
        journal: Journal,
        egress: EgressPoint | None,
        redactor: Redactor | None = None,
        json_index_max: int = 2000,
    ) -> None:
        self._sink = sink
        self._redactor = redactor
        self._journal = journal
        self._egress = egress
        self._queue: asyncio.Queue[_Pending | _Fetched | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._draining = asyncio.Event()
        self._drain_deadline = float("inf")
        self._closed = False
        self.rewrites: list[WarcRewrite] = []
        self.requests = 0
        self.responses = 0
        self.failed = 0
        self.bodies_unavailable = 0
        self.main_page: Page | None = None
        self.main_responses: list[Response] = []
        self.main_failures: list[str] = []
        """URLs of main-frame document requests that failed (a refused redirect target, say)."""
        self.write_error: str | None = None
        self.ignored_after_close = 0
        self.unwritten = 0
        self._enqueued = 0
        self._processed = 0
        self.index = TrafficIndex(json_index_max)

    # ------------------------------------------------------------------ events

    def attach(self, context: BrowserContext) -> None:
        context.on("request", self._on_request)
        context.on("response", self._on_response)
        context.on("requestfailed", self._on_request_failed)
        self._writer = asyncio.create_task(self._run())

    def _on_request(self, request: Request) -> None:
        if not self._closed:
            self.requests += 1

    def _on_request_failed(self, request: Request) -> None:
        if self._closed:
            return
        with contextlib.suppress(Exception):
            if request.is_navigation_request() and request.frame.parent_frame is None:
                self.main_failures.append(request.url)
        hit = self._egress.blocked_for_url(request.url) if self._egress is not None else None
        if hit is not None:
            hit.reported = True
            self._journal.change("request-blocked", f"{request.method} {request.url}: {hit.reason}")
            return
        self.failed += 1

    def _on_response(self, response: Response) -> None:
        if not response.url.startswith(("http://", "https://")):
            return  # data:, blob: and the like carry no network exchange to archive
        if self._closed:
            self.ignored_after_close += 1
            return
        self.responses += 1
        try:
            frame = response.frame
            if (
                response.request.is_navigation_request()
                and frame.parent_frame is None
                and frame.page is self.main_page
            ):
                self.main_responses.append(response)
        except Exception:  # a frame detached while we looked
            log.debug("could not classify response %s", response.url)
        self._enqueued += 1
        self._queue.put_nowait(_Pending(response=response, received_at=utcnow()))

    # ------------------------------------------------------------------ writer

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            try:
                if isinstance(item, _Fetched):
                    exchange, resource_type, keys = self._fetched(item), TOOL_FETCH, item.keys
                else:
                    exchange = await self._exchange(item)
                    resource_type, keys = _describe(item.response)
                written = await asyncio.to_thread(self._sink.write, exchange)
                self.index.add(keys, exchange, written, resource_type)
                if isinstance(item, _Fetched) and not item.done.done():
                    item.done.set_result(written)
            except Exception as exc:  # a broken WARC must fail the capture, not vanish
                url = item.url if isinstance(item, _Fetched) else item.response.url
                self.write_error = f"{url}: {one_line(exc)}"
                self._closed = True
                if isinstance(item, _Fetched) and not item.done.done():
                    item.done.set_result(None)
                return
            finally:
                self._processed += 1

    async def flush(self, timeout_s: float, quiet_s: float = 0.25) -> None:
        """Wait (bounded) until every response received is written and none arrived for `quiet_s`.

        Used before closing a popup, whose bodies become unreadable once it is closed.
        """
        end = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < end and self._writer is not None and not self._writer.done():
            if self._processed < self._enqueued:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_s:
                return
            await asyncio.sleep(0.02)

    async def settled(self, timeout_s: float) -> bool:
        """Wait (bounded) until every response received so far is written; True when so."""
        target = self._enqueued
        end = time.monotonic() + timeout_s
        while self._processed < target:
            if self._writer is None or self._writer.done() or time.monotonic() >= end:
                return False
            await asyncio.sleep(0.02)
        return True

    async def archive(
        self,
        *,
        url: str,
        method: str,
        request_headers: HeaderList,
        status: int,
        reason: str,
        response_headers: HeaderList,
        body: bytes,
        received_at: datetime,
        keys: list[str],
        timeout_s: float,
    ) -> Written | None:
        """Write an exchange the tool made itself; None when recording has stopped or failed."""
        if self._closed or self._writer is None or self._writer.done():
            return None
        done: asyncio.Future[Written | None] = asyncio.get_running_loop().create_future()
        self.requests += 1
        self.responses += 1
        self._enqueued += 1
        self._queue.put_nowait(
            _Fetched(url, method, request_headers, status, reason, response_headers, body,
                     received_at, keys, done)
        )  # fmt: skip
        try:
            return await asyncio.wait_for(asyncio.shield(done), max(0.001, timeout_s))
        except TimeoutError:
            return None

    def location(self, url: str) -> BodyLocation | None:
        """Where the WARC holds the body of `url` (following redirects), if it was written."""
        return self.index.location(url)

    @contextmanager
    def payload(self, location: BodyLocation) -> Iterator[BinaryIO]:
        """The stored body at `location`, read back from the WARC scratch file."""
        with self._sink.payload(location.offset) as stream:
            yield stream

    def _body_timeout(self) -> float:
        if not self._draining.is_set():
            return LIVE_BODY_TIMEOUT_S
        return max(0.0, min(DRAIN_BODY_TIMEOUT_S, self._drain_deadline - time.monotonic()))

    async def _bounded(self, awaitable: Awaitable[T], timeout: float) -> T:
        return await asyncio.wait_for(awaitable, timeout=max(0.001, timeout))

    async def _wait_finished(self, response: Response) -> str | None:
        """None when the body is complete, else why not."""
        finished = asyncio.ensure_future(response.finished())
        try:
            if not self._draining.is_set():
                drain = asyncio.ensure_future(self._draining.wait())
                try:
                    done, _ = await asyncio.wait(
                        {finished, drain},
                        timeout=LIVE_BODY_TIMEOUT_S,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    drain.cancel()
                if finished in done:
                    finished.result()
                    return None
                if not self._draining.is_set():
                    return f"body did not finish within {LIVE_BODY_TIMEOUT_S:g}s"
            await self._bounded(asyncio.shield(finished), self._body_timeout())
            return None
        except TimeoutError:
            return "body did not finish before the capture ended"
        except Exception as exc:
            return one_line(exc)
        finally:
            if not finished.done():
                finished.cancel()

    async def _exchange(self, item: _Pending) -> Exchange:
        response = item.response
        request = response.request
        url = response.url
        try:
            raw_response = await self._bounded(response.headers_array(), META_TIMEOUT_S)
            response_headers = [(h["name"], h["value"]) for h in raw_response]
        except Exception:
            response_headers = list(response.headers.items())
        try:
            raw_request = await self._bounded(request.headers_array(), META_TIMEOUT_S)
            request_headers = [(h["name"], h["value"]) for h in raw_request]
        except Exception:
            request_headers = list(request.headers.items())
        connected = self._egress.address_for_url(url) if self._egress is not None else None
        server_ip = connected[0] if connected else None  # never the egress point's own address

        status = response.status
        has_location = any(name.lower() == "location" for name, _ in response_headers)
        redirect = status in REDIRECT_STATUSES and has_location
        body = b""
        unavailable: str | None = None
        if not redirect:
            unavailable = await self._wait_finished(response)
            if unavailable is None:
                try:
                    body = await self._bounded(response.body(), max(self._body_timeout(), 1.0))
                except TimeoutError:
                    unavailable = "body could not be read in time"
                except Exception as exc:
                    unavailable = one_line(exc)
        return self._stored(
            Exchange(
                url=url,
                method=request.method,
                request_headers=request_headers,
                request_body=request.post_data_buffer,
                status=status,
                reason=response.status_text,
                response_headers=response_headers,
                body=body,
                received_at=item.received_at,
                server_ip=server_ip,
            ),
            redirect=redirect,
            unavailable=unavailable,
        )

    def _fetched(self, item: _Fetched) -> Exchange:
        exchange = Exchange(
            url=item.url,
            method=item.method,
            request_headers=item.request_headers,
            request_body=None,
            status=item.status,
            reason=item.reason,
            response_headers=item.response_headers,
            body=item.body,
            received_at=item.received_at,
            server_ip=None,
        )
        return self._stored(exchange, redirect=False, unavailable=None)

    def _stored(self, raw: Exchange, *, redirect: bool, unavailable: str | None) -> Exchange:
        """The exchange as it is stored: redacted (under an alias), headers reconciled."""
        url, request_headers, response_headers = raw.url, raw.request_headers, raw.response_headers
        request_body, body, status = raw.request_body, raw.body, raw.status
        if self._redactor is not None:
            url, request_headers, response_headers = self._redact_meta(
                self._redactor, url, request_headers, response_headers
            )
            if request_body:
                request_body, request_headers = self._redact_request_body(
                    self._redactor, url, request_body, request_headers
                )
        if body and self._redactor is not None:
            body = self._redactor.body(body, artifact=WARC, url=url, where="response body")
        if unavailable is not None:
            self.bodies_unavailable += 1
            self._journal.change("body-unavailable", f"{status} {url}: {unavailable}")

        reconciled = reconcile_response_headers(
            url, response_headers, len(body), redirect=redirect, unavailable=unavailable
        )
        request_reconciled = reconcile_request_headers(url, request_headers)
        self.rewrites.extend(reconciled.rewrites)
        self.rewrites.extend(request_reconciled.rewrites)
        return Exchange(
            url=url,
            method=raw.method,
            request_headers=request_reconciled.headers,
            request_body=request_body,
            status=status,
            reason=raw.reason,
            response_headers=reconciled.headers,
            body=body,
            received_at=raw.received_at,
            server_ip=raw.server_ip,
            truncated="time" if unavailable is not None else None,
        )

    @staticmethod
    def _redact_meta(
        redactor: Redactor, url: str, request_headers: HeaderList, response_headers: HeaderList
    ) -> tuple[str, HeaderList, HeaderList]:
        target = redactor.url(url, artifact=WARC, where="target URI and request line")
        return (
            target,
            redactor.headers(request_headers, artifact=WARC, url=target, where="request header"),
            redactor.headers(response_headers, artifact=WARC, url=target, where="response header"),
        )

    @staticmethod
    def _redact_request_body(
        redactor: Redactor, url: str, body: bytes, headers: HeaderList
    ) -> tuple[bytes, HeaderList]:
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            redacted = redactor.form_body(body, artifact=WARC, url=url, where="request body")
        else:
            redacted = redactor.body(body, artifact=WARC, url=url, where="request body")
        if len(redacted) != len(body):  # the request record's length must match what is stored
            headers = [
                (k, str(len(redacted)) if k.lower() == "content-length" else v) for k, v in headers
            ]
        return redacted, headers

    # ------------------------------------------------------------------ ending

    async def drain(self, budget_s: float) -> bool:
        """Stop taking new responses, write what was received within `budget_s`.

        Returns True when everything received was written. Bodies still missing when the
        budget runs out are recorded as unavailable rather than waited for.
        """
        self._closed = True
        self._drain_deadline = time.monotonic() + budget_s
        self._draining.set()
        self._queue.put_nowait(None)
        if self._writer is None:
            return True
        # Headers of the remaining responses still need a moment after the body deadline.
        hard_limit = budget_s + META_TIMEOUT_S
        try:
            await asyncio.wait_for(asyncio.shield(self._writer), timeout=hard_limit)
        except TimeoutError:
            self._writer.cancel()
            with contextlib.suppress(BaseException):
                await self._writer
            self.unwritten = max(0, self._enqueued - self._processed)
            return False
        return self.write_error is None

    async def abort(self) -> None:
        self._closed = True
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(BaseException):
                await self._writer

    def summary(self, blocked: int, warc_records: int) -> NetworkSummary:
        return NetworkSummary(
            requests=self.requests,
            responses=self.responses,
            failed=self.failed,
            blocked=blocked,
            bodies_unavailable=self.bodies_unavailable,
            warc_records=warc_records,
        )


def _describe(response: Response) -> tuple[str, list[str]]:
    """Chromium's resource type, and the URLs that lead to this response (redirects first)."""
    request = response.request
    try:
        resource_type = request.resource_type
    except Exception:
        resource_type = "other"
    keys = [response.url]
    current = request.redirected_from
    while current is not None and len(keys) < 32:
        keys.append(current.url)
        current = current.redirected_from
    return resource_type, keys
