"""Which addresses a capture may connect to: public ones, and origins the policy names.

Not public: loopback, RFC 1918 and other private ranges, link-local (the cloud metadata
address 169.254.169.254 among them), shared address space (CGNAT, 100.64.0.0/10),
unique-local and IPv4-mapped IPv6 addresses, multicast, unspecified (`0.0.0.0`, `::`) and
every other reserved or non-global range.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

BROWSER_SERVICES = "browser-service.invalid"
"""Where the browser's own services are pointed (launch switches): never the page's traffic."""


def address_category(ip: IpAddress) -> str | None:
    """Why `ip` is not a public address ("loopback", "private", ...), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            inner = address_category(embedded)
            return None if inner is None else f"{inner} (inside an IPv6 address)"
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
    """`host` as an IP address (IPv6 brackets and zone ids allowed), or None when it is a name."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def origin_key(host: str, port: int) -> str:
    """`host:port` as the allowed-origin list writes it (IPv6 in brackets, names lower-case)."""
    ip = parse_ip(host)
    if ip is not None:
        text = ip.compressed
        return f"[{text}]:{port}" if ip.version == 6 else f"{text}:{port}"
    return f"{host.lower().rstrip('.')}:{port}"


@dataclass(frozen=True)
class Verdict:
    blocked: bool
    reason: str


@dataclass(frozen=True)
class EgressRules:
    """The private-network rule of one capture and the origins let through it."""

    block_private: bool = True
    allowed: frozenset[str] = field(default_factory=frozenset)
    """`host:port` origins that pass the private-network rule (`collector init --allow-host`)."""

    def judge(self, host: str, port: int, addresses: list[str]) -> Verdict:
        """May the capture connect to `host:port`, which resolved to `addresses`?"""
        if is_browser_service(host):
            return Verdict(True, f"{host}: the browser's own service, kept off the network")
        if not addresses:
            return Verdict(True, f"{host}: does not resolve (an unresolvable name is refused)")
        if origin_key(host, port) in self.allowed:
            return Verdict(False, f"{origin_key(host, port)}: allowed origin")
        if not self.block_private:
            return Verdict(False, f"{host}: private networks allowed by this store")
        for text in addresses:
            ip = parse_ip(text)
            if ip is None:
                return Verdict(True, f"{host}: resolved to something that is not an address")
            category = address_category(ip)
            if category is None:
                continue
            if origin_key(text, port) in self.allowed:
                continue
            via = "" if parse_ip(host) is not None else f"resolves to {text}, "
            return Verdict(True, f"{host}:{port}: {via}{category} address")
        return Verdict(False, f"{host}: public")


def is_browser_service(host: str) -> bool:
    """A name the launch switches gave one of the browser's own services."""
    return host.lower().rstrip(".").endswith("." + BROWSER_SERVICES)
