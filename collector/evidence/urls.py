"""URLs and scope globs: hostile input read exactly as a browser reads it.

Every URL is parsed by the WHATWG URL Standard (`ada-url`, the parser Node.js uses), the
standard Chromium implements: percent-encoded dot segments and backslashes are resolved,
tabs and newlines removed, hosts lower-cased and IDNA-encoded, IPv4 shorthands (`0x7f.1`,
`2130706433`) written out, default ports dropped. The normalised URL is what the gate
judges, what the browser is given and what the bundle records. A path with an encoded
separator (`%2F`, `%5C`) is outside every scope narrower than a whole host, because a
server may decode it into a separator the parser did not see.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from dataclasses import dataclass

import ada_url

from collector.errors import Refused, UsageError

MAX_URL_LENGTH = 8192
DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c)", re.IGNORECASE)
_HOST_LABEL = re.compile(r"^(xn--)?[a-z0-9]([a-z0-9-]*[a-z0-9])?$|^[a-z0-9_]$")


@dataclass(frozen=True)
class Url:
    """An http(s) URL as the WHATWG URL Standard serialises it."""

    href: str
    """The whole serialisation, fragment included: what the browser is given."""
    scheme: str
    host: str
    port: int
    path: str
    query: str

    @property
    def normalized(self) -> str:
        """The URL without its fragment: what is requested from the server."""
        return self.href.split("#", 1)[0]

    @property
    def path_and_query(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    @property
    def encoded_separator(self) -> bool:
        """The path holds `%2F` or `%5C`, which a server may decode into a separator."""
        return _ENCODED_SEPARATOR.search(self.path) is not None


def whatwg(text: str) -> ada_url.URL:
    """Parse `text` by the WHATWG URL Standard, or raise UsageError."""
    try:
        return ada_url.URL(text)
    except ValueError as exc:
        raise UsageError(f"malformed URL: {text[:200]!r} is not a valid URL") from exc


def parse_url(text: str) -> Url:
    """Parse a URL to capture. Non-http(s) schemes and credentials in URLs are refused.

    Typed input with whitespace or control characters is refused outright, although a
    browser would strip some of them: what the investigator typed must be what is judged.
    """
    if len(text) > MAX_URL_LENGTH:
        raise UsageError(f"URL longer than {MAX_URL_LENGTH} characters")
    if _CONTROL.search(text):
        raise UsageError("URL contains whitespace or control characters")
    return from_browser(text)


def from_browser(text: str) -> Url:
    """Read a URL as the browser serialised it (a redirect target, the final address)."""
    if len(text) > MAX_URL_LENGTH:
        raise UsageError(f"URL longer than {MAX_URL_LENGTH} characters")
    parsed = whatwg(text)
    scheme = parsed.protocol.rstrip(":")
    if scheme not in DEFAULT_PORTS:
        raise Refused(f"scheme {scheme or '(none)'!r} is not allowed: only http and https")
    if parsed.username or parsed.password:
        raise Refused("URLs with embedded credentials are not allowed")
    host = _checked_host(parsed.hostname)
    port = int(parsed.port) if parsed.port else DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise UsageError(f"port {port} is not a usable port")
    return Url(
        href=parsed.href,
        scheme=scheme,
        host=host,
        port=port,
        path=parsed.pathname or "/",
        query=parsed.search.removeprefix("?"),
    )


def _checked_host(host: str) -> str:
    """A host the WHATWG parser accepted, held to DNS rules: labels of letters, digits and
    hyphens (one trailing dot allowed), valid punycode. IP literals pass as serialised."""
    if not host:
        raise UsageError("URL has no host")
    if host.startswith("[") or _is_ipv4(host):
        return host
    labels = host.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels = labels[:-1]  # the root label of a fully qualified name
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise UsageError(f"invalid host name {host[:100]!r}")
    for label in labels:
        if label.startswith("xn--") and not _valid_punycode(label):
            raise UsageError(f"invalid host name {host[:100]!r}: {label!r} is not valid IDNA")
    return host


def _valid_punycode(label: str) -> bool:
    """An A-label that decodes, and that IDNA (UTS #46) maps back to itself."""
    try:
        unicode = label[4:].encode("ascii").decode("punycode")
    except UnicodeError:
        return False
    return bytes(ada_url.idna_to_ascii(unicode)).decode("ascii", "replace") == label


def _is_ipv4(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 4
    except ValueError:
        return False


@dataclass(frozen=True)
class Scope:
    """A scope glob such as `https://*.social.example/@alice/*`."""

    text: str
    scheme: str
    host: str
    port: int
    path: str

    @property
    def whole_host(self) -> bool:
        """The scope names a whole host (`/*`), not a part of it."""
        return self.path in ("/*", "*")

    def matches(self, url: Url) -> bool:
        return self.refusal(url) is None

    def refusal(self, url: Url) -> str | None:
        """Why `url` is outside this scope, or None when it is inside."""
        if url.scheme != self.scheme or url.port != self.port:
            return "scheme or port differs"
        if self.host.startswith("*."):
            suffix = self.host[1:]
            if not (url.host.endswith(suffix) and len(url.host) > len(suffix)):
                return "host differs"
        elif url.host != self.host:
            return "host differs"
        if url.encoded_separator and not self.whole_host:
            return "the path holds an encoded separator (%2F or %5C) a server may decode"
        if not fnmatch.fnmatchcase(url.path_and_query, self.path):
            return "path differs"
        return None


def parse_scope(text: str) -> Scope:
    """Validate a scope: an http(s) URL whose host is concrete (or `*.` + domain)."""
    text = text.strip()
    if len(text) > MAX_URL_LENGTH or _CONTROL.search(text):
        raise UsageError(f"scope {text[:200]!r} is too long or contains whitespace")
    match = re.match(r"^(https?)://([^/?#\\]+)([/?].*)?$", text, re.IGNORECASE)
    if not match:
        raise UsageError(f"scope {text!r} must be an http(s) URL glob like https://host/path*")
    netloc = match.group(2)
    if "@" in netloc:
        raise UsageError(f"scope {text!r} must not contain credentials")
    wildcard = netloc.startswith("*.")
    if "*" in (netloc[2:] if wildcard else netloc):
        raise UsageError(f"scope {text!r}: only a leading '*.' is allowed in the host")
    try:
        parsed = from_browser(text.replace("*.", "", 1) if wildcard else text)
    except (Refused, UsageError) as exc:
        raise UsageError(f"scope {text!r}: {exc}") from exc
    if match.group(3) is None:
        raise UsageError(f"scope {text!r} must name a path, e.g. {text}/*")
    if wildcard and parsed.host.count(".") < 1:
        raise UsageError(f"scope {text!r}: a wildcard must sit above a registrable domain")
    if "#" in parsed.href:
        raise UsageError(f"scope {text!r} must not contain a fragment")
    host = ("*." if wildcard else "") + parsed.host
    return Scope(text, parsed.scheme, host, parsed.port, parsed.path_and_query)
