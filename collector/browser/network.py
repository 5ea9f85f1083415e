"""Keeping a captured page away from private networks.

A hostile page can make the investigator's browser request addresses on the agency's
own network. With `block_private_network` every request whose host is, or resolves to,
a non-public address is aborted before it leaves the browser, and each abort is recorded.

Limits (documented, not hidden): the check resolves names with the operating system's
resolver, which may differ from Chromium's (host-resolver rules, DNS changes between the
check and the connection); WebSocket connections are not routed through this check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Request, Route

from collector.browser.journal import Journal, one_line

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT_S = 5.0


def address_category(ip: IpAddress) -> str | None:
    """Why `ip` is not a public address ("loopback", "private", ...), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return address_category(ip.ipv4_mapped)
    checks = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return name
    if not ip.is_global:
        return "non-global"
    return None


def parse_ip(host: str) -> IpAddress | None:
    """`host` as an IP address (IPv6 brackets allowed), or None when it is a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Verdict:
    blocked: bool
    reason: str


class PrivateNetworkPolicy:
    """Decides per host whether requests must be blocked; resolution results are cached."""

    def __init__(self, resolver: Callable[[str], list[str]] | None = None) -> None:
        self._resolver = resolver or _system_resolve
        self._cache: dict[str, Verdict] = {}

    def decide_addresses(self, host: str, addresses: list[str]) -> Verdict:
        """Pure decision: blocked when any address of `host` is not public."""
        for text in addresses:
            ip = parse_ip(text)
            if ip is None:
                continue
            category = address_category(ip)
            if category is not None:
                via = "" if text == host.strip("[]") else f"resolves to {text}, "
                return Verdict(True, f"{host}: {via}{category} address")
        return Verdict(False, f"{host}: public")

    async def decide(self, host: str) -> Verdict:
        host = host.lower().rstrip(".")
        cached = self._cache.get(host)
        if cached is not None:
            return cached
        if parse_ip(host) is not None:
            verdict = self.decide_addresses(host, [host.strip("[]")])
        elif host == "localhost" or host.endswith(".localhost"):
            verdict = Verdict(True, f"{host}: loopback name")
        else:
            loop = asyncio.get_running_loop()
            try:
                addresses = await asyncio.wait_for(
                    loop.run_in_executor(None, self._resolver, host), RESOLVE_TIMEOUT_S
                )
            except (OSError, TimeoutError):
                # Not resolvable here, so the browser cannot connect to it directly either.
                addresses = []
            verdict = self.decide_addresses(host, addresses)
        self._cache[host] = verdict
        return verdict


def _system_resolve(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


class PrivateNetworkGuard:
    """A context-wide route handler that aborts requests to non-public hosts."""

    def __init__(self, policy: PrivateNetworkPolicy, journal: Journal) -> None:
        self._policy = policy
        self._journal = journal
        self.blocked: list[Request] = []
        self.blocked_tool_requests: list[str] = []

    async def install(self, context: BrowserContext) -> None:
        await context.route("**/*", self._handle)

    async def check_tool_request(self, method: str, url: str) -> Verdict:
        """Judge a request the tool itself makes (not routed through the browser); a block
        is recorded like the page's own."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            verdict = Verdict(True, f"{url[:200]}: not an http(s) URL")
        else:
            try:
                verdict = await self._policy.decide(parts.hostname)
            except Exception as exc:
                verdict = Verdict(True, f"{parts.hostname}: check failed ({one_line(exc)})")
        if verdict.blocked:
            self.blocked_tool_requests.append(url)
            self._journal.change("request-blocked", f"{method} {url} (tool): {verdict.reason}")
        return verdict

    def was_blocked(self, request: Request) -> bool:
        return any(request is blocked for blocked in self.blocked)

    async def _handle(self, route: Route) -> None:
        request = route.request
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
            await route.fallback()
            return
        try:
            verdict = await self._policy.decide(parts.hostname)
        except Exception as exc:  # the decision must never let a request through silently
            verdict = Verdict(True, f"{parts.hostname}: check failed ({one_line(exc)})")
        if verdict.blocked:
            self.blocked.append(request)
            self._journal.change(
                "request-blocked", f"{request.method} {request.url}: {verdict.reason}"
            )
            await route.abort("blockedbyclient")
        else:
            await route.fallback()
