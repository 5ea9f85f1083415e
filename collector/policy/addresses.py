"""What the gate asks of the network before a capture: the addresses a host name resolves to,
and which of them are not public. (The browser's own connections are judged again, address by
address, by its egress point: `collector.browser.egress`.)"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from collector.errors import UsageError

Resolver = Callable[[str], list[str]]


def resolve(host: str) -> list[str]:
    """Every address the host name resolves to (IP literals resolve to themselves)."""
    bare = host.strip("[]")
    try:
        infos = socket.getaddrinfo(bare, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"cannot resolve host {host}: {exc}") from exc
    return sorted({str(info[4][0]) for info in infos})


def non_public(addresses: list[str]) -> list[str]:
    """The addresses that are private, loopback, link-local, reserved or otherwise not global."""
    found = []
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            found.append(text)
    return found
