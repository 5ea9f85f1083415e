"""URLs and scope globs: parsing hostile input into something the gate can reason about."""

from __future__ import annotations

import fnmatch
import ipaddress
import posixpath
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from collector.errors import Refused, UsageError

MAX_URL_LENGTH = 8192
DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_HOST_PATTERN = re.compile(r"^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$|^\[[0-9a-f:.]+\]$")


@dataclass(frozen=True)
class Url:
    """A normalised http(s) URL: lower-case scheme and host, explicit port, dot-segments resolved."""

    scheme: str
    host: str
    port: int
    path: str
    query: str

    @property
    def normalized(self) -> str:
        netloc = (
            self.host if self.port == DEFAULT_PORTS[self.scheme] else f"{self.host}:{self.port}"
        )
        return urlunsplit(SplitResult(self.scheme, netloc, self.path, self.query, ""))

    @property
    def path_and_query(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


def parse_url(text: str) -> Url:
    """Parse a URL to capture. Non-http(s) schemes and credentials in URLs are refused."""
    if len(text) > MAX_URL_LENGTH:
        raise UsageError(f"URL longer than {MAX_URL_LENGTH} characters")
    if _CONTROL.search(text):
        raise UsageError("URL contains whitespace or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise Refused(f"scheme {scheme or '(none)'!r} is not allowed: only http and https")
    if parts.username is not None or parts.password is not None:
        raise Refused("URLs with embedded credentials are not allowed")
    host = _normalize_host(parts.hostname or "")
    path = _normalize_path(parts.path)
    return Url(scheme, host, port or DEFAULT_PORTS[scheme], path, parts.query)


def _normalize_host(host: str) -> str:
    if not host:
        raise UsageError("URL has no host")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return f"[{ip.compressed}]" if ip.version == 6 else ip.compressed
    try:
        ascii_host = host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError as exc:
        raise UsageError(f"invalid host name: {exc}") from exc
    if not _HOST_PATTERN.match(ascii_host):
        raise UsageError("invalid host name")
    return ascii_host


def _normalize_path(path: str) -> str:
    if not path:
        return "/"
    normalized = posixpath.normpath(path)
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    if path.endswith("/") and not normalized.endswith("/"):
        normalized += "/"
    return normalized


@dataclass(frozen=True)
class Scope:
    """A scope glob such as `https://*.social.example/@alice/*`."""

    text: str
    scheme: str
    host: str
    port: int
    path: str

    def matches(self, url: Url) -> bool:
        if url.scheme != self.scheme or url.port != self.port:
            return False
        if self.host.startswith("*."):
            suffix = self.host[1:]
            if not (url.host.endswith(suffix) and len(url.host) > len(suffix)):
                return False
        elif url.host != self.host:
            return False
        return fnmatch.fnmatchcase(url.path_and_query, self.path)


def parse_scope(text: str) -> Scope:
    """Validate a scope: an http(s) URL whose host is concrete (or `*.` + domain)."""
    match = re.match(r"^(https?)://([^/?#]+)(/.*)?$", text.strip())
    if not match:
        raise UsageError(f"scope {text!r} must be an http(s) URL glob like https://host/path*")
    scheme, netloc, path = match.group(1), match.group(2), match.group(3) or "/"
    if "@" in netloc:
        raise UsageError(f"scope {text!r} must not contain credentials")
    host, port = netloc, DEFAULT_PORTS[scheme]
    port_match = re.match(r"^(.*):(\d{1,5})$", netloc)
    if port_match and not netloc.endswith("]"):
        host, port = port_match.group(1), int(port_match.group(2))
    host = host.lower()
    wildcard = host.startswith("*.")
    if "*" in host[2:] if wildcard else "*" in host:
        raise UsageError(f"scope {text!r}: only a leading '*.' is allowed in the host")
    bare = _normalize_host(host[2:] if wildcard else host)
    if wildcard and bare.count(".") < 1:
        raise UsageError(f"scope {text!r}: a wildcard must sit above a registrable domain")
    return Scope(text.strip(), scheme, ("*." if wildcard else "") + bare, port, path)


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
