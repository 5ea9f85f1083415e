"""Keeping an alias's credentials out of a capture made while logged in.

A capture under an approved alias runs with the alias's Playwright storage state (cookies and
localStorage). Those credentials, and the ones the browser sends or receives with them, must
never be stored in clear. Each secret value is replaced by

    redacted:hmac-sha256:<first 16 hex digits of HMAC-SHA256(redaction_key, value)>

The key is the store's: the same secret always maps to the same digest within a store (so an
analyst can see that two requests carried the same session), but nobody without the key can
reverse a digest or confirm a guessed value.

What is replaced, and where (`Redactor`):

- HTTP headers (WARC request and response records, and the main document's headers in the
  capture record): every `Cookie` value (cookie names kept), `Authorization` and
  `Proxy-Authorization` credentials (the scheme kept), every `Set-Cookie` value (name and
  attributes kept), and the whole value of any other header whose name looks like a
  credential (`X-Auth-Token`, `X-Api-Key`, ...);
- URLs (WARC-Target-URI, the request line, and URLs inside header values such as `Referer`
  or `Location`): the value of every query or fragment parameter whose name looks like a
  credential (`CREDENTIAL_PARAMS`), and form-encoded request bodies likewise;
- exact occurrences of the storage state's cookie values and localStorage values of at least
  `MIN_STORED_SECRET` characters (and credential-named strings inside JSON localStorage
  values), byte for byte, in every WARC body, in page.html, response.html and page.mhtml,
  in header values and in URL paths and queries. The raw, percent-encoded, HTML-escaped and
  JSON-escaped spellings are all found; in the MHTML also their quoted-printable form, soft
  line breaks included.

Every replacement is counted in a `collector.models.Redaction` (where, what kind, which
digest, how many times; never the value). The screenshot cannot be redacted.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

from collector.evidence.model import CaptureRecord, Redaction, RedactionKind

DIGEST_PREFIX = "redacted:hmac-sha256:"
DIGEST_HEX = 16
MIN_KEY_BYTES = 16
MIN_STORED_SECRET = 8
"""Shorter storage-state values are not searched for in bodies (too many false matches)."""

CREDENTIAL_PARAMS: frozenset[str] = frozenset(
    {
        "token",
        "access_token",
        "auth",
        "session",
        "sid",
        "key",
        "api_key",
        "password",
        "sig",
        "signature",
        # the same things, spelled in one word
        "apikey",
        "sessionid",
        "passwd",
        "secret",
        "jwt",
    }
)
"""Parameter (and header) names that look like credentials, compared case-insensitively.

A name matches when it is one of these, or when one of its parts is (split at non-alphanumerics
and camelCase): `oauth_token`, `X-Amz-Signature`, `sessionId`, `auth[token]` all match;
`keyword`, `page`, `q` do not.
"""
CREDENTIAL_HEADERS: frozenset[str] = frozenset({"cookie", "authorization", "proxy-authorization"})
SET_COOKIE = "set-cookie"
UNSCANNED_HEADERS: frozenset[str] = frozenset({"host"})
"""Headers never changed: the address of the exchange."""

HeaderList = list[tuple[str, str]]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_PARTS = re.compile(r"[^a-z0-9]+")
_URL_PARAM = re.compile(r"(?P<lead>[?&#])(?P<name>[^=&#?\s\"'<>]+)=(?P<value>[^&#\s\"'<>;,]*)")
_DIGEST = re.compile(re.escape(DIGEST_PREFIX) + f"[0-9a-f]{{{DIGEST_HEX}}}")
_AUTH = re.compile(r"\s*(?P<scheme>[A-Za-z][A-Za-z0-9._~+-]*)\s+(?P<credentials>\S.*?)\s*", re.S)


def keyed_digest(key: bytes, value: str | bytes) -> str:
    """`redacted:hmac-sha256:` and the first 16 hex digits of HMAC-SHA256(key, value)."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    return DIGEST_PREFIX + hmac.new(key, data, hashlib.sha256).hexdigest()[:DIGEST_HEX]


def is_digest(value: str) -> bool:
    """Whether `value` is already a redaction digest (redacting is idempotent)."""
    return _DIGEST.fullmatch(value.strip()) is not None


def is_credential_name(name: str) -> bool:
    """Whether a parameter or header name looks like it carries a credential."""
    text = unquote_plus(name).strip()
    if text.lower() in CREDENTIAL_PARAMS:
        return True
    parts = _PARTS.split(_CAMEL.sub("_", text).lower())
    return any(part in CREDENTIAL_PARAMS for part in parts if part)


# --------------------------------------------------------------------- stored secrets


@dataclass(frozen=True)
class StoredSecret:
    """A value from the storage state searched for everywhere. `name` is its cookie or key."""

    value: str = field(repr=False)
    kind: RedactionKind
    name: str


def stored_secrets(storage_state: Mapping[str, Any]) -> list[StoredSecret]:
    """The storage state's values to search for: cookie values and localStorage values of at
    least MIN_STORED_SECRET characters (JSON numbers and booleans excepted), and the
    credential-named strings inside JSON localStorage values."""
    found: list[StoredSecret] = []
    for cookie in storage_state.get("cookies") or []:
        if isinstance(cookie, Mapping):
            value = cookie.get("value")
            if isinstance(value, str) and len(value) >= MIN_STORED_SECRET:
                found.append(StoredSecret(value, "stored-cookie", str(cookie.get("name", ""))))
    for origin in storage_state.get("origins") or []:
        if not isinstance(origin, Mapping):
            continue
        for entry in origin.get("localStorage") or []:
            if not isinstance(entry, Mapping):
                continue
            name, value = str(entry.get("name", "")), entry.get("value")
            if not isinstance(value, str):
                continue
            try:
                parsed: Any = json.loads(value)
            except ValueError:
                parsed = None
            if len(value) >= MIN_STORED_SECRET and not (
                parsed is not None and isinstance(parsed, bool | int | float)
            ):
                found.append(StoredSecret(value, "stored-local-storage", name))
            for leaf_name, leaf in _credential_leaves(parsed, name):
                if len(leaf) >= MIN_STORED_SECRET:
                    found.append(StoredSecret(leaf, "stored-local-storage", leaf_name))
    unique: dict[str, StoredSecret] = {}
    for secret in found:
        unique.setdefault(secret.value, secret)
    return list(unique.values())


def _credential_leaves(value: Any, path: str) -> Iterable[tuple[str, str]]:
    """Strings under credential-looking keys anywhere in a parsed JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}"
            if isinstance(item, str) and is_credential_name(str(key)):
                yield inner, item
            else:
                yield from _credential_leaves(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _credential_leaves(item, f"{path}[{index}]")


def _spellings(value: str) -> list[bytes]:
    """The ways a value commonly appears in a document: raw, URL-, HTML- and JSON-escaped."""
    json_ascii = json.dumps(value)[1:-1]
    forms = {
        value,
        quote(value, safe=""),
        quote_plus(value, safe=""),
        html.escape(value, quote=True),
        html.escape(value, quote=False),
        json_ascii,
        json_ascii.replace("/", "\\/"),
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    return sorted((f.encode("utf-8") for f in forms if f), key=len, reverse=True)


def _qp_flexible(data: bytes) -> bytes:
    """A regex for `data` written quoted-printable: any byte may be =XX, soft breaks anywhere."""
    parts: list[bytes] = []
    for byte in data:
        alternatives = [re.escape(b"=%02X" % byte)]
        if (32 <= byte <= 126 and byte != ord("=")) or byte == 9:
            alternatives.insert(0, re.escape(bytes([byte])))
        parts.append(b"(?:" + b"|".join(alternatives) + b")")
    return rb"(?:=\r?\n)?".join(parts)


# --------------------------------------------------------------------- the redactor


@dataclass(frozen=True)
class _Hit:
    name: str | None
    kind: RedactionKind
    digest: str


class Redactor:
    """Replaces credentials with keyed digests and counts every replacement it makes."""

    def __init__(self, key: bytes, secrets: Sequence[StoredSecret] = ()) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"a redaction key needs at least {MIN_KEY_BYTES} bytes")
        self._key = key
        self._secrets = sorted(
            {s.value: s for s in secrets}.values(), key=lambda s: len(s.value), reverse=True
        )
        self._needles = [_spellings(s.value) for s in self._secrets]
        self._qp_patterns = [
            [re.compile(_qp_flexible(n)) for n in needles] for needles in self._needles
        ]
        self._log: dict[tuple[str, str | None, str, str | None, RedactionKind, str], int] = {}
        self._lock = threading.Lock()  # files are redacted in a worker thread

    @classmethod
    def for_storage_state(cls, key: bytes, storage_state: Mapping[str, Any]) -> Redactor:
        """A redactor searching for the values of this storage state."""
        return cls(key, stored_secrets(storage_state))

    # ------------------------------------------------------------------ bookkeeping

    def digest(self, value: str | bytes) -> str:
        """The text that replaces `value`."""
        return keyed_digest(self._key, value)

    @property
    def redactions(self) -> list[Redaction]:
        """Every replacement so far, one entry per place, kind and digest, in order."""
        with self._lock:
            entries = list(self._log.items())
        return [
            Redaction(
                artifact=artifact,
                url=url,
                where=where,
                name=name,
                kind=kind,
                digest=digest,
                count=count,
            )
            for (artifact, url, where, name, kind, digest), count in entries
        ]

    def total(self, artifact: str | None = None) -> int:
        """Replacements made (in one artifact, or in all)."""
        with self._lock:
            entries = list(self._log.items())
        return sum(count for (art, *_), count in entries if artifact is None or art == artifact)

    def _note(self, hits: Iterable[_Hit], artifact: str, url: str | None, where: str) -> None:
        with self._lock:
            for hit in hits:
                key = (artifact, url, where, hit.name, hit.kind, hit.digest)
                self._log[key] = self._log.get(key, 0) + 1

    # ------------------------------------------------------------------ pieces (no logging)

    def _spans(self, data: bytes, qp: bool) -> list[tuple[int, int, int]]:
        """Non-overlapping (start, end, secret index) of stored values in `data`, leftmost
        first and, where two start together, the longer one."""
        found: list[tuple[int, int, int]] = []
        for index, needles in enumerate(self._needles):
            for needle in needles:  # bytes.find: fast even on large bodies
                start = data.find(needle)
                while start != -1:
                    found.append((start, start + len(needle), index))
                    start = data.find(needle, start + len(needle))
            if qp:
                for pattern in self._qp_patterns[index]:
                    found.extend((m.start(), m.end(), index) for m in pattern.finditer(data))
        found.sort(key=lambda span: (span[0], span[0] - span[1]))
        chosen: list[tuple[int, int, int]] = []
        end = 0
        for span in found:
            if span[0] >= end:
                chosen.append(span)
                end = span[1]
        return chosen

    def _stored(self, data: bytes, *, qp: bool = False) -> tuple[bytes, list[_Hit]]:
        if not self._secrets or not data:
            return data, []
        spans = self._spans(data, qp)
        if not spans:
            return data, []
        hits: list[_Hit] = []
        out: list[bytes] = []
        position = 0
        for start, end, index in spans:
            secret = self._secrets[index]
            digest = self.digest(secret.value)
            hits.append(_Hit(secret.name, secret.kind, digest))
            out += [data[position:start], digest.encode("ascii")]
            position = end
        out.append(data[position:])
        return b"".join(out), hits

    def _stored_text(self, text: str) -> tuple[str, list[_Hit]]:
        if not self._secrets or not text:
            return text, []
        data, hits = self._stored(text.encode("utf-8"))
        return (data.decode("utf-8") if hits else text), hits

    def _params(self, query: str, kind: RedactionKind = "url-parameter") -> tuple[str, list[_Hit]]:
        """A `name=value&...` string with credential-named values replaced."""
        if "=" not in query:
            return query, []
        hits: list[_Hit] = []
        pieces = []
        for piece in query.split("&"):
            name, eq, value = piece.partition("=")
            if eq and value and is_credential_name(name) and not is_digest(unquote_plus(value)):
                digest = self.digest(unquote_plus(value))
                hits.append(_Hit(unquote_plus(name), kind, digest))
                piece = f"{name}={digest}"
            pieces.append(piece)
        return "&".join(pieces), hits

    def _url(self, url: str) -> tuple[str, list[_Hit]]:
        parts = urlsplit(url)
        query, hits = self._params(parts.query)
        fragment, fragment_hits = self._params(parts.fragment)
        hits += fragment_hits
        path, stored = self._stored_text(parts.path)
        hits += stored
        query, stored = self._stored_text(query)
        hits += stored
        fragment, stored = self._stored_text(fragment)
        hits += stored
        if not hits:
            return url, []
        return urlunsplit((parts.scheme, parts.netloc, path, query, fragment)), hits

    def _free_text(self, text: str) -> tuple[str, list[_Hit]]:
        """Credential-named URL parameters anywhere in the text, then stored values."""
        hits: list[_Hit] = []

        def replace(match: re.Match[str]) -> str:
            name, value = match["name"], match["value"]
            if not value or not is_credential_name(name) or is_digest(unquote_plus(value)):
                return match[0]
            digest = self.digest(unquote_plus(value))
            hits.append(_Hit(unquote_plus(name), "url-parameter", digest))
            return f"{match['lead']}{name}={digest}"

        if "=" in text:
            text = _URL_PARAM.sub(replace, text)
        text, stored = self._stored_text(text)
        return text, hits + stored

    def _cookie(self, value: str) -> tuple[str, list[_Hit]]:
        hits: list[_Hit] = []
        out = []
        for piece in value.split(";"):
            name, eq, content = (p.strip() for p in piece.partition("="))
            if not eq:
                name, content = "", name
            if content and is_digest(content):
                out.append(f"{name}={content}" if eq else content)
            elif content:
                digest = self.digest(content)
                hits.append(_Hit(name or None, "cookie", digest))
                out.append(f"{name}={digest}" if eq else digest)
            elif name or eq:
                out.append(f"{name}{eq}")
        return "; ".join(out), hits

    def _set_cookie(self, value: str) -> tuple[str, list[_Hit]]:
        hits: list[_Hit] = []
        lines = []
        for line in value.split("\n"):
            first, sep, attributes = line.partition(";")
            name, eq, content = first.partition("=")
            if not eq:
                name, content = "", name
            if content.strip() and not is_digest(content):
                digest = self.digest(content.strip())
                hits.append(_Hit(name.strip() or None, "set-cookie", digest))
                first = f"{name.strip()}={digest}" if eq else digest
            lines.append(first + sep + attributes)
        return "\n".join(lines), hits

    def _authorization(self, value: str) -> tuple[str, list[_Hit]]:
        if not value.strip() or is_digest(value):
            return value, []
        match = _AUTH.fullmatch(value)
        if match is None:
            digest = self.digest(value.strip())
            return digest, [_Hit(None, "authorization", digest)]
        if is_digest(match["credentials"]):
            return value, []
        digest = self.digest(match["credentials"])
        return f"{match['scheme']} {digest}", [_Hit(match["scheme"], "authorization", digest)]

    def _header(self, name: str, value: str) -> tuple[str, list[_Hit]]:
        lower = name.lower()
        if lower in UNSCANNED_HEADERS:
            return value, []
        if lower == "cookie":
            return self._cookie(value)
        if lower in CREDENTIAL_HEADERS:
            return self._authorization(value)
        if lower == SET_COOKIE:
            return self._set_cookie(value)
        if is_credential_name(name.lstrip(":")) and value.strip() and not is_digest(value):
            digest = self.digest(value)
            return digest, [_Hit(None, "credential-header", digest)]
        return self._free_text(value)

    def scrub(self, text: str) -> str:
        """`text` (an error message, say) with URL credentials and stored values replaced;
        nothing is recorded."""
        return self._free_text(text)[0]

    # ------------------------------------------------------------------ public, recorded

    def url(self, url: str, *, artifact: str, where: str = "target URI") -> str:
        """A URL with credential parameters and stored values replaced (scheme and host kept)."""
        result, hits = self._url(url)
        self._note(hits, artifact, result, where)
        return result

    def headers(
        self, headers: Sequence[tuple[str, str]], *, artifact: str, url: str | None, where: str
    ) -> HeaderList:
        """Header (name, value) pairs with credentials replaced; `where` e.g. 'request header'."""
        out: HeaderList = []
        for name, value in headers:
            redacted, hits = self._header(name, value)
            self._note(hits, artifact, url, f"{where} {name}")
            out.append((name, redacted))
        return out

    def body(self, data: bytes, *, artifact: str, url: str | None, where: str) -> bytes:
        """Bytes with every stored value replaced."""
        result, hits = self._stored(data)
        self._note(hits, artifact, url, where)
        return result

    def form_body(self, data: bytes, *, artifact: str, url: str | None, where: str) -> bytes:
        """A form-encoded (application/x-www-form-urlencoded) body: credential fields and
        stored values replaced."""
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            return self.body(data, artifact=artifact, url=url, where=where)
        text, hits = self._params(text, "form-parameter")
        self._note(hits, artifact, url, where)
        return self.body(text.encode("ascii"), artifact=artifact, url=url, where=where)

    def mhtml(self, data: bytes, *, artifact: str) -> bytes:
        """An MHTML file: stored values replaced, also where quoted-printable encoded them."""
        result, hits = self._stored(data, qp=True)
        self._note(hits, artifact, None, "file")
        return result

    def record(self, record: CaptureRecord, *, artifact: str = "capture-record") -> CaptureRecord:
        """The capture record with credentials replaced in every string it holds, and
        `redactions` set to everything this redactor replaced (files and WARC included)."""
        data = record.model_dump(mode="json", exclude={"redactions"})
        for key in ("request_headers", "response_headers"):
            pairs = [(h["name"], h["value"]) for h in data[key]]
            data[key] = [
                {"name": n, "value": v}
                for n, v in self.headers(pairs, artifact=artifact, url=None, where=key)
            ]
        for key, value in data.items():
            if key not in ("request_headers", "response_headers"):
                data[key] = self._walk(value, key, artifact)
        data["redactions"] = [r.model_dump(mode="json") for r in self.redactions]
        return CaptureRecord.model_validate(data)

    def _walk(self, value: Any, path: str, artifact: str) -> Any:
        if isinstance(value, str):
            result, hits = self._free_text(value)
            self._note(hits, artifact, None, path)
            return result
        if isinstance(value, list):
            return [self._walk(v, f"{path}[{i}]", artifact) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: self._walk(v, f"{path}.{k}", artifact) for k, v in value.items()}
        return value


def redaction_lines(redactions: Sequence[Redaction]) -> list[tuple[str, str]]:
    """warcinfo fields describing the redaction scheme and each replacement."""
    lines = [
        (
            "redaction",
            "captured under an alias: credentials replaced by redacted:hmac-sha256:<first "
            f"{DIGEST_HEX} hex digits of HMAC-SHA256 over the value, keyed per evidence store>; "
            "cookie names, authorization schemes and cookie attributes are kept; payload and "
            "block digests are of the redacted bytes",
        ),
        ("redactions", str(sum(r.count for r in redactions))),
    ]
    lines.extend(
        (
            "redacted",
            f"{r.artifact} | {r.url or '-'} | {r.where} | {r.name or '-'} | {r.kind} | "
            f"{r.digest} x{r.count}",
        )
        for r in redactions
    )
    return lines


# --------------------------------------------------------------------- the alias session


@dataclass(frozen=True)
class AliasSession:
    """What a logged-in capture runs with: the alias's Playwright storage state (cookies and
    origins with localStorage, as `collector.aliases.load_profile` returns it) and the store's
    redaction key (32 random bytes). Never printed: both fields are left out of `repr`."""

    storage_state: dict[str, Any] = field(repr=False)
    redaction_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.redaction_key) < MIN_KEY_BYTES:
            raise ValueError(f"the redaction key needs at least {MIN_KEY_BYTES} bytes")
        if not isinstance(self.storage_state.get("cookies", []), list) or not isinstance(
            self.storage_state.get("origins", []), list
        ):
            raise ValueError("a storage state has a cookies list and an origins list")

    def redactor(self) -> Redactor:
        return Redactor.for_storage_state(self.redaction_key, self.storage_state)

    def describe(self) -> str:
        """Counts only, for the capture journal."""
        cookies = len(self.storage_state.get("cookies", []))
        origins = self.storage_state.get("origins", [])
        entries = sum(len(o.get("localStorage", [])) for o in origins if isinstance(o, dict))
        return (
            f"alias storage state loaded: {cookies} cookie(s), {len(origins)} origin(s) with "
            f"{entries} localStorage entr{'y' if entries == 1 else 'ies'}"
        )
