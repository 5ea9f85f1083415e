"""`EgressPoint`: a SOCKS5 server (RFC 1928, CONNECT only, no authentication) on 127.0.0.1.

Chromium is given it as its proxy for every context (Playwright's `proxy` option, which
also sends loopback traffic through it), so every connection the page makes — documents,
redirect targets, subresources, iframes, WebSockets, popups — asks it first, by host name
(SOCKS5 leaves name resolution to the proxy). It resolves the name (`PinnedResolver`),
judges the addresses (`EgressRules`), and connects to exactly an address it judged, or
refuses with "connection not allowed by ruleset". HTTPS passes as an opaque tunnel: the
certificate chain the browser records is still the site's. With an upstream proxy the
connection is made through it with `CONNECT address:port`, so the judged address is still
the one connected to.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from collector.browser.egress.policy import (
    EgressRules,
    Verdict,
    is_browser_service,
    origin_key,
)
from collector.browser.egress.resolve import PinnedResolver

HANDSHAKE_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 2.0
CHUNK = 64 * 1024

_SUCCEEDED, _FAILURE, _NOT_ALLOWED, _HOST_UNREACHABLE, _REFUSED = 0, 1, 2, 4, 5
_COMMAND_NOT_SUPPORTED, _ADDRESS_NOT_SUPPORTED = 7, 8


class SocksError(Exception):
    """The client spoke something other than the SOCKS5 this server accepts."""


@dataclass
class Connection:
    """One connection the page (or the tool) asked for, and what the egress point did."""

    host: str
    port: int
    at: datetime
    addresses: list[str]
    blocked: bool
    reason: str
    connected_to: str | None = None
    reported: bool = False
    tool_url: str | None = None
    """For the tool's own request (a media fetch), the URL it was about to fetch."""

    @property
    def origin(self) -> str:
        return origin_key(self.host, self.port)


class EgressPoint:
    """The single egress of one capture. `start()` before the browser, `close()` after."""

    def __init__(
        self,
        rules: EgressRules,
        resolver: PinnedResolver,
        upstream: str | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.rules = rules
        self.connect_timeout_s = connect_timeout_s
        self.resolver = resolver
        self.upstream = _upstream(upstream)
        self.connections: list[Connection] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    @property
    def proxy_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the egress point is not started")
        port = self._server.sockets[0].getsockname()[1]
        return f"socks5://127.0.0.1:{port}"

    async def close(self) -> None:
        """Stop accepting, cut every open tunnel, and wait (briefly) for the sessions to end."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT_S)

    # ------------------------------------------------------------------ what happened

    @property
    def blocked(self) -> list[Connection]:
        """Refused connections of the page (the browser's own services are counted apart)."""
        return [c for c in self.connections if c.blocked and not is_browser_service(c.host)]

    @property
    def browser_service(self) -> list[Connection]:
        """Connections the browser's own services tried (always refused)."""
        return [c for c in self.connections if is_browser_service(c.host)]

    def blocked_for_url(self, url: str) -> Connection | None:
        """The refused connection a failed request to `url` ran into, if it was refused."""
        target = _target(url)
        if target is None:
            return None
        key = origin_key(*target)
        return next((c for c in reversed(self.connections) if c.blocked and c.origin == key), None)

    def address_for_url(self, url: str) -> tuple[str, int] | None:
        """The address the egress point connected to for `url`'s host and port."""
        target = _target(url)
        if target is None:
            return None
        key = origin_key(*target)
        for c in self.connections:
            if c.origin == key and c.connected_to is not None:
                return c.connected_to, c.port
        return None

    async def refusal_for_url(self, url: str) -> str | None:
        """Why the tool may not fetch `url` itself, or None. The fetch still goes through
        this egress point; asking first keeps a refused URL from being requested at all."""
        target = _target(url)
        if target is None:
            return f"{url[:200]}: not an http(s) URL"
        verdict, addresses = await self.judge(*target)
        if not verdict.blocked:
            return None
        self.connections.append(
            Connection(*target, datetime.now(UTC), addresses, True, verdict.reason, tool_url=url)
        )
        return verdict.reason

    async def judge(self, host: str, port: int) -> tuple[Verdict, list[str]]:
        """Resolve and judge `host:port` as a connection would be (used for the tool's own
        requests too, before they are made)."""
        addresses = await self.resolver.resolve(host)
        verdict = self.rules.judge(host, port, addresses)
        if not addresses and host.lower() in self.resolver.errors:
            verdict = Verdict(True, f"{host}: does not resolve ({self.resolver.errors[host.lower()]})")
        return verdict, addresses

    # ------------------------------------------------------------------ the protocol

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._session(reader, writer)
        except (SocksError, OSError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readexactly(2), HANDSHAKE_TIMEOUT_S)
        if head[0] != 5:
            raise SocksError("not SOCKS5")
        methods = await asyncio.wait_for(reader.readexactly(head[1]), HANDSHAKE_TIMEOUT_S)
        if 0 not in methods:
            writer.write(b"\x05\xff")
            await writer.drain()
            return
        writer.write(b"\x05\x00")
        await writer.drain()
        version, command, _reserved, kind = await asyncio.wait_for(
            reader.readexactly(4), HANDSHAKE_TIMEOUT_S
        )
        if version != 5:
            raise SocksError("not SOCKS5")
        host = await asyncio.wait_for(_read_host(reader, kind), HANDSHAKE_TIMEOUT_S)
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        if host is None:
            await _reply(writer, _ADDRESS_NOT_SUPPORTED)
            return
        if command != 1:
            await _reply(writer, _COMMAND_NOT_SUPPORTED)
            return
        verdict, addresses = await self.judge(host, port)
        record = Connection(host, port, datetime.now(UTC), addresses, verdict.blocked, verdict.reason)
        self.connections.append(record)
        if verdict.blocked:
            await _reply(writer, _NOT_ALLOWED)
            return
        upstream = await self._connect(record)
        if upstream is None:
            await _reply(writer, _HOST_UNREACHABLE)
            return
        remote_reader, remote_writer = upstream
        self._writers.add(remote_writer)
        try:
            await _reply(writer, _SUCCEEDED)
            await _pipe(reader, writer, remote_reader, remote_writer)
        finally:
            self._writers.discard(remote_writer)

    async def _connect(
        self, record: Connection
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Connect to the first judged address that answers; never to anything else."""
        failures: list[str] = []
        for address in record.addresses:
            try:
                if self.upstream is None:
                    streams = await asyncio.wait_for(
                        asyncio.open_connection(address, record.port), self.connect_timeout_s
                    )
                else:
                    streams = await asyncio.wait_for(
                        _through_upstream(self.upstream, address, record.port),
                        self.connect_timeout_s,
                    )
            except (OSError, TimeoutError, SocksError) as exc:
                failures.append(f"{address}: {_why(exc)}")
                continue
            record.connected_to = address
            return streams
        record.reason = f"could not connect ({'; '.join(failures)})"
        return None

    def failure_for_url(self, url: str) -> str | None:
        """Why the egress point could not connect for `url` (allowed, but nothing answered)."""
        target = _target(url)
        if target is None:
            return None
        key = origin_key(*target)
        hit = next(
            (c for c in reversed(self.connections)
             if c.origin == key and not c.blocked and c.connected_to is None),
            None,
        )  # fmt: skip
        return None if hit is None else f"{hit.origin}: {hit.reason}"


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__


async def _read_host(reader: asyncio.StreamReader, kind: int) -> str | None:
    if kind == 1:
        return socket.inet_ntop(socket.AF_INET, await reader.readexactly(4))
    if kind == 4:
        return socket.inet_ntop(socket.AF_INET6, await reader.readexactly(16))
    if kind == 3:
        length = (await reader.readexactly(1))[0]
        raw = await reader.readexactly(length)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            return None
    return None


async def _reply(writer: asyncio.StreamWriter, code: int) -> None:
    writer.write(bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0]))
    await writer.drain()


async def _pipe(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    remote_reader: asyncio.StreamReader,
    remote_writer: asyncio.StreamWriter,
) -> None:
    async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(CHUNK):
                sink.write(chunk)
                await sink.drain()
        except OSError:
            pass
        finally:
            with contextlib.suppress(Exception):
                if sink.can_write_eof():
                    sink.write_eof()

    try:
        await asyncio.gather(copy(client_reader, remote_writer), copy(remote_reader, client_writer))
    finally:
        with contextlib.suppress(Exception):
            remote_writer.close()


def _upstream(text: str | None) -> tuple[str, int] | None:
    if not text:
        return None
    parts = urlsplit(text if "://" in text else f"http://{text}")
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"upstream proxy must be http://HOST:PORT, not {text!r}")
    return parts.hostname, parts.port or 3128


async def _through_upstream(
    upstream: tuple[str, int], address: str, port: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(*upstream)
    target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode("ascii"))
    await writer.drain()
    status = await reader.readline()
    if not status.startswith(b"HTTP/1.") or status.split()[1:2] != [b"200"]:
        writer.close()
        raise SocksError(f"upstream proxy refused CONNECT {target}: {status[:80]!r}")
    while (await reader.readline()).strip():
        pass
    return reader, writer


def allowed_origin(text: str) -> str:
    """An allowed origin as configured (`HOST:PORT`), in the form the egress point compares."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"allowed host {text!r} must be HOST:PORT")
    return origin_key(host.strip("[]"), int(port))


def _target(url: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    defaults = {"http": 80, "ws": 80, "https": 443, "wss": 443}
    if parts.scheme not in defaults:
        return None
    host = parts.hostname
    with contextlib.suppress(ValueError):
        host = ipaddress.ip_address(host).compressed
    return host, port or defaults[parts.scheme]
