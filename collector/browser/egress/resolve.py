"""Name resolution owned by the egress point: host-mapping rules, then the system resolver,
and every answer pinned for the rest of the capture.

Pinning is what makes DNS rebinding useless: the address judged is the address connected
to, and a name keeps its first answer however often it is asked again.

Host-mapping rules use the syntax of Chromium's `--host-resolver-rules`, which the store's
`browser.host_resolver_rules` setting has always held: comma-separated `MAP PATTERN TARGET`
(TARGET a host or address, or `~NOTFOUND`) and `EXCLUDE PATTERN`, patterns with `*`.
An exclusion wins over every mapping; otherwise the first matching mapping applies.
"""

from __future__ import annotations

import asyncio
import fnmatch
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from collector.browser.egress.policy import parse_ip

RESOLVE_TIMEOUT_S = 5.0
NOT_FOUND = "~NOTFOUND"

SystemResolver = Callable[[str], Awaitable[list[str]]]


class RulesError(ValueError):
    """The host-mapping rules cannot be read."""


@dataclass(frozen=True)
class HostRules:
    maps: tuple[tuple[str, str], ...] = ()
    excludes: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> HostRules:
        maps: list[tuple[str, str]] = []
        excludes: list[str] = []
        for raw in (text or "").split(","):
            words = raw.split()
            if not words:
                continue
            verb = words[0].upper()
            if verb == "MAP" and len(words) == 3:
                maps.append((words[1].lower(), words[2]))
            elif verb == "EXCLUDE" and len(words) == 2:
                excludes.append(words[1].lower())
            else:
                raise RulesError(f"host rule {raw.strip()!r} is not MAP PATTERN TARGET or EXCLUDE PATTERN")
        return cls(tuple(maps), tuple(excludes))

    def target(self, host: str) -> str | None:
        """The name or address `host` is mapped to, `~NOTFOUND`, or None (no rule applies)."""
        host = host.lower()
        if any(fnmatch.fnmatchcase(host, pattern) for pattern in self.excludes):
            return None
        for pattern, target in self.maps:
            if fnmatch.fnmatchcase(host, pattern):
                return target
        return None


async def system_resolve(host: str) -> list[str]:
    """Every address the operating system's resolver gives for `host` (TCP), sorted."""
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, None, proto=socket.IPPROTO_TCP), RESOLVE_TIMEOUT_S
    )
    return sorted({str(info[4][0]) for info in infos})


@dataclass
class PinnedResolver:
    """Resolves each name once per capture; later lookups get the same answer."""

    rules: HostRules = field(default_factory=HostRules)
    system: SystemResolver = system_resolve
    pinned: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    async def resolve(self, host: str) -> list[str]:
        """The addresses of `host` (empty when it does not resolve); an IP literal is itself."""
        key = host.lower().rstrip(".")
        if key in self.pinned:
            return self.pinned[key]
        ip = parse_ip(key)
        if ip is not None:
            answer = [ip.compressed]
        else:
            answer = await self._lookup(key)
        self.pinned[key] = answer
        return answer

    async def _lookup(self, host: str) -> list[str]:
        target = self.rules.target(host)
        if target == NOT_FOUND:
            self.errors[host] = "mapped to ~NOTFOUND by the host rules"
            return []
        name = host if target is None else target.rsplit(":", 1)[0] if target.count(":") == 1 else target
        ip = parse_ip(name)
        if ip is not None:
            return [ip.compressed]
        try:
            return await self.system(name)
        except (OSError, TimeoutError, UnicodeError) as exc:
            self.errors[host] = f"{type(exc).__name__}: {exc}"
            return []
