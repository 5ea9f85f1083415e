"""Personal identifiers under Fed. R. Crim. P. 49.1, found by pattern, for a redacted copy.

Public API::

    find_identifiers(text, explicit) -> list[Hit]        # sorted, non-overlapping
    redact_text(text, explicit) -> (redacted, hits)
    redaction_log(field, text, hits, key=None) -> list[RedactionLog]
    redact_fields({field: text}, explicit, key=None) -> ({field: redacted}, log)

What is found, and what rule 49.1(a) lets a filing keep:

- social-security numbers (and taxpayer-identification numbers: ITIN by structure, EIN
  when labelled): ``123-45-6789``, ``123 45 6789``, and a bare ``123456789`` only when
  labelled (SSN, social security, SS#). The structure must be an SSN's: area not 000,
  666 or 900-999, group not 00, serial not 0000. Kept: the last four digits.
- financial-account numbers: card numbers of 13-19 digits with a card network's prefix
  and length that pass the Luhn check (never inside a URL, never after ``+``: post ids
  and phone numbers stay); IBANs whose mod-97 check holds; any number labelled
  "account", "acct" or "a/c". Kept: the last four digits.
- birth dates: a date shortly after "born", "DOB", "date of birth", "birthday", in
  ISO, numeric (US and day-first) and written-month forms, with or without a year.
  Kept: the year.
- the declarant's explicit list (minors' names, any term): case-insensitive, whole
  words, any run of white space between words. Nothing kept.

The original text is never changed: `redact_text` returns a new string. The log records
a digest of each removed string, never the string itself.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Literal

from pydantic import Field

from collector.evidence.model import Model

HitKind = Literal["ssn", "tin", "card", "iban", "account", "birth-date", "listed-term"]

RULES: dict[str, str] = {
    "ssn": "Fed. R. Crim. P. 49.1(a)(1): social-security number, last four digits only",
    "tin": "Fed. R. Crim. P. 49.1(a)(1): taxpayer-identification number, last four digits only",
    "birth-date": "Fed. R. Crim. P. 49.1(a)(2): birth date, year only",
    "listed-term": "Fed. R. Crim. P. 49.1(a)(3) and the declarant's list: minors' names and listed terms",
    "card": "Fed. R. Crim. P. 49.1(a)(4): financial-account number, last four digits only",
    "iban": "Fed. R. Crim. P. 49.1(a)(4): financial-account number, last four digits only",
    "account": "Fed. R. Crim. P. 49.1(a)(4): financial-account number, last four digits only",
}

# When two findings overlap, the one starting first wins; at the same start the longer;
# at the same span the more specific kind (lower number).
_PRIORITY: dict[str, int] = {
    "listed-term": 0,
    "ssn": 1,
    "tin": 2,
    "card": 3,
    "iban": 4,
    "account": 5,
    "birth-date": 6,
}


class Hit(Model):
    """One identifier found in a text: what it is, where, and what replaces it."""

    kind: HitKind
    span: tuple[int, int] = Field(description="[start, end) in the original text.")
    replacement: str
    rule: str

    @property
    def start(self) -> int:
        return self.span[0]

    @property
    def end(self) -> int:
        return self.span[1]


class RedactionLog(Model):
    """One redaction in the redacted copy; the removed string itself is never recorded."""

    field: str = Field(description="Which text of the exhibit, e.g. 'post.text' or 'title'.")
    kind: HitKind
    original_sha256: str = Field(
        description="Digest of the removed string (UTF-8): SHA-256, or HMAC-SHA256 under a key "
        "kept with the original exhibit when `digest` says so."
    )
    digest: Literal["sha256", "hmac-sha256"] = "sha256"
    replacement: str
    rule: str


# ------------------------------------------------------------------------ public API


def find_identifiers(text: str, explicit: Sequence[str] = ()) -> list[Hit]:
    """Every identifier in `text`, sorted by position, none overlapping another."""
    found: list[Hit] = []
    for finder in _FINDERS:
        found.extend(finder(text))
    found.extend(_listed_terms(text, explicit))
    found.sort(key=lambda h: (h.start, -(h.end - h.start), _PRIORITY[h.kind]))
    kept: list[Hit] = []
    for hit in found:
        if kept and hit.start < kept[-1].end:
            continue
        kept.append(hit)
    return kept


def redact_text(text: str, explicit: Sequence[str] = ()) -> tuple[str, list[Hit]]:
    """`text` with every identifier replaced, and the hits (spans in the original)."""
    hits = find_identifiers(text, explicit)
    parts: list[str] = []
    at = 0
    for hit in hits:
        parts.append(text[at : hit.start])
        parts.append(hit.replacement)
        at = hit.end
    parts.append(text[at:])
    return "".join(parts), hits


def redaction_log(
    field: str, text: str, hits: Sequence[Hit], key: bytes | None = None
) -> list[RedactionLog]:
    """Log entries for `hits` found in `text`.

    Without `key` the digest is a plain SHA-256 of the removed string. A removed SSN or
    birth date has few possible values once its last four digits or its year are shown,
    so a plain digest can be reversed by trying them all: when the log travels with the
    redacted copy, pass a secret `key` kept with the original exhibit (HMAC-SHA256).
    """
    entries = []
    method: Literal["sha256", "hmac-sha256"] = "sha256" if key is None else "hmac-sha256"
    for hit in hits:
        original = text[hit.start : hit.end].encode("utf-8")
        if key is None:
            digest = hashlib.sha256(original).hexdigest()
        else:
            digest = hmac.new(key, original, hashlib.sha256).hexdigest()
        entries.append(
            RedactionLog(
                field=field,
                kind=hit.kind,
                original_sha256=digest,
                digest=method,
                replacement=hit.replacement,
                rule=hit.rule,
            )
        )
    return entries


def redact_fields(
    fields: Mapping[str, str | None], explicit: Sequence[str] = (), key: bytes | None = None
) -> tuple[dict[str, str | None], list[RedactionLog]]:
    """Redact several named texts at once; empty fields stay empty."""
    out: dict[str, str | None] = {}
    log: list[RedactionLog] = []
    for name, text in fields.items():
        if text is None:
            out[name] = None
            continue
        redacted, hits = redact_text(text, explicit)
        out[name] = redacted
        log.extend(redaction_log(name, text, hits, key))
    return out, log


# ------------------------------------------------------------------------ helpers


def _hit(kind: HitKind, start: int, end: int, replacement: str) -> Hit:
    return Hit(kind=kind, span=(start, end), replacement=replacement, rule=RULES[kind])


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _url_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the white-space separated tokens that are URLs (linear time on any input)."""
    return [m.span() for m in re.finditer(r"\S+", text) if _URL.match(m.group(0))]


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    at = bisect.bisect_right(spans, (start, sys.maxsize)) - 1  # the last token starting <= start
    return at >= 0 and spans[at][0] <= start and end <= spans[at][1]


_URL = re.compile(r"[(<\[\"']?(?:[a-z][a-z0-9+.-]*://|www\.|[\w-]+(?:\.[\w-]+)+/)", re.IGNORECASE)


# ------------------------------------------------------------------------ SSN and TIN


def _ssn_ok(area: str, group: str, serial: str) -> bool:
    return (
        area != "000"
        and area != "666"
        and not area.startswith("9")
        and group != "00"
        and serial != "0000"
    )


def _itin_ok(area: str, group: str, serial: str) -> bool:
    g = int(group)
    return area.startswith("9") and (
        50 <= g <= 65 or 70 <= g <= 88 or 90 <= g <= 92 or 94 <= g <= 99
    )


_SSN_GROUPED = re.compile(r"(?<![\w-])(?<!\d )(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])(?! \d)")
_SSN_LABEL = re.compile(
    r"\b(?:SSN|SS\s?#|SS\s?No\.?|soc(?:ial)?\.?\s*sec(?:urity)?\.?(?:\s*(?:number|no\.?|num\.?|#))?)"
    r"[^\w\n]{0,6}(?:is\s+|was\s+|:\s*)?(\d{9})(?!\d)",
    re.IGNORECASE,
)
_EIN_LABEL = re.compile(
    r"\b(?:EIN|TIN|employer\s+identification\s+(?:number|no\.?)|tax\s*(?:payer)?\s*id(?:entification)?"
    r"(?:\s*(?:number|no\.?|#))?)[^\w\n]{0,6}(?:is\s+)?(\d{2}-?\d{7})(?![\d-])",
    re.IGNORECASE,
)


def _ssns(text: str) -> Iterator[Hit]:
    for m in _SSN_GROUPED.finditer(text):
        area, group, serial = m.group(1), m.group(3), m.group(4)
        if _ssn_ok(area, group, serial):
            yield _hit("ssn", m.start(), m.end(), f"[REDACTED SSN xxx-xx-{serial}]")
        elif _itin_ok(area, group, serial):
            yield _hit("tin", m.start(), m.end(), f"[REDACTED TIN xxx-xx-{serial}]")
    for m in _SSN_LABEL.finditer(text):
        number = m.group(1)
        area, group, serial = number[:3], number[3:5], number[5:]
        if _ssn_ok(area, group, serial):
            yield _hit("ssn", m.start(1), m.end(1), f"[REDACTED SSN xxx-xx-{serial}]")
        elif _itin_ok(area, group, serial):
            yield _hit("tin", m.start(1), m.end(1), f"[REDACTED TIN xxx-xx-{serial}]")
    for m in _EIN_LABEL.finditer(text):
        number = _digits(m.group(1))
        if number[:2] != "00":
            yield _hit("tin", m.start(1), m.end(1), f"[REDACTED TIN xx-xxx{number[-4:]}]")


# ------------------------------------------------------------------------ cards


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_network(digits: str) -> str | None:
    """The card network whose prefix (IIN) and length `digits` fits, if any."""
    n = len(digits)

    def prefix(lo: int, hi: int, width: int) -> bool:
        return lo <= int(digits[:width]) <= hi

    if digits[0] == "4" and n in (13, 16, 19):
        return "Visa"
    if n == 16 and (prefix(51, 55, 2) or prefix(2221, 2720, 4)):
        return "Mastercard"
    if n == 15 and digits[:2] in ("34", "37"):
        return "American Express"
    if 16 <= n <= 19 and (digits.startswith("6011") or prefix(644, 649, 3) or digits[:2] == "65"):
        return "Discover"
    if 16 <= n <= 19 and prefix(3528, 3589, 4):
        return "JCB"
    if 14 <= n <= 19 and (prefix(300, 305, 3) or digits[:2] in ("36", "38", "39")):
        return "Diners Club"
    if 16 <= n <= 19 and digits[:2] == "62":
        return "UnionPay"
    if 12 <= n <= 19 and (
        digits[:2] in ("50", "56", "57", "58")
        or digits[:4] in ("6304", "6759", "6761", "6762", "6763")
    ):
        return "Maestro"
    return None


# 4-4-4-4(-3), Amex 4-6-5, Diners 4-6-4, or one unbroken run of 13-19 digits.
_CARD = re.compile(
    r"(?<![\w+.,/-])(?<!\d )(?:"
    r"\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?"
    r"|\d{4}([ -])\d{6}\2\d{4,5}"
    r"|\d{13,19}"
    r")(?![\w-]|[.,]\d| \d)"
)


def _cards(text: str) -> Iterator[Hit]:
    urls = _url_spans(text)
    for m in _CARD.finditer(text):
        digits = _digits(m.group(0))
        if not (13 <= len(digits) <= 19) or _inside(urls, m.start(), m.end()):
            continue
        if card_network(digits) and luhn_ok(digits):
            yield _hit("card", m.start(), m.end(), f"[REDACTED CARD xxxx{digits[-4:]}]")


# ------------------------------------------------------------------------ IBAN

_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")


def iban_ok(value: str) -> bool:
    """ISO 13616: 15-34 characters, country letters, and the mod-97 check equals 1."""
    compact = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def _ibans(text: str) -> Iterator[Hit]:
    for m in _IBAN.finditer(text):
        candidate = m.group(0)
        # the pattern may run into a following word in capitals: try the longest valid prefix
        ends = [
            i for i in range(len(candidate), 0, -1) if i == len(candidate) or candidate[i] == " "
        ]
        for end in ends:
            if iban_ok(candidate[:end]):
                digits = candidate[:end].replace(" ", "")
                yield _hit("iban", m.start(), m.start() + end, f"[REDACTED IBAN xxxx{digits[-4:]}]")
                break


# ------------------------------------------------------------------------ labelled accounts

_ACCOUNT = re.compile(
    r"\b(?:account|acct|a/c)\b\.?"
    r"(?:\s*(?:number|no\.?|num\.?|nr\.?|#))?\s*(?:is\s+|was\s+)?[:#]?\s*"
    r"(\d[\d -]{3,30}\d)(?![\w-])",
    re.IGNORECASE,
)


def _accounts(text: str) -> Iterator[Hit]:
    for m in _ACCOUNT.finditer(text):
        raw = m.group(1).rstrip(" -")
        digits = _digits(raw)
        if len(digits) < 5:
            continue
        yield _hit(
            "account", m.start(1), m.start(1) + len(raw), f"[REDACTED ACCOUNT xxxx{digits[-4:]}]"
        )


# ------------------------------------------------------------------------ birth dates

_MONTH = (
    r"\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_DATES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"(?P<year>(?:19|20)\d{2})[-/.](?:0?[1-9]|1[0-2])[-/.](?:[12]\d|3[01]|0?[1-9])(?!\d)",
        r"(?:[12]\d|3[01]|0?[1-9])[-/.](?:[12]\d|3[01]|0?[1-9])[-/.](?P<year>(?:19|20)?\d{2})(?!\d)",
        rf"{_MONTH}\s+{_DAY}(?:,?\s+(?P<year>(?:19|20)\d{{2}}))?(?!\d)",
        rf"{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+(?P<year>(?:19|20)\d{{2}}))?(?!\d)",
        rf"{_MONTH},?\s+(?P<year>(?:19|20)\d{{2}})(?!\d)",
        r"(?:[12]\d|3[01]|0?[1-9])/(?:[12]\d|3[01]|0?[1-9])(?![\d/])",
    )
]
_BIRTH_WORD = re.compile(
    r"\b(?:born|D\.?O\.?B\b\.?|date\s+of\s+birth|birth\s*date|birthday|b-?day)",
    re.IGNORECASE,
)
_BIRTH_GAP = 30  # characters allowed between the word and the date


def _birth_dates(text: str) -> Iterator[Hit]:
    for word in _BIRTH_WORD.finditer(text):
        window_end = min(len(text), word.end() + _BIRTH_GAP + 40)
        best: re.Match[str] | None = None
        for pattern in _DATES:
            m = pattern.search(text, word.end(), window_end)
            if m is None or m.start() - word.end() > _BIRTH_GAP:
                continue
            gap = text[word.end() : m.start()]
            if re.search(r"[\n!?]|\.\s|\d", gap):  # another sentence, or a number between
                continue
            if best is None or (m.start(), -m.end()) < (best.start(), -best.end()):
                best = m
        if best is not None:
            year = best.groupdict().get("year")
            replacement = f"[REDACTED DOB {year}]" if year else "[REDACTED DOB]"
            yield _hit("birth-date", best.start(), best.end(), replacement)


# ------------------------------------------------------------------------ the declarant's list


def _listed_terms(text: str, explicit: Sequence[str]) -> Iterator[Hit]:
    terms = sorted(
        {" ".join(t.split()) for t in explicit if t and t.strip()}, key=len, reverse=True
    )
    for term in terms:
        words = [re.escape(w) for w in term.split(" ")]
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)
        for m in pattern.finditer(text):
            yield _hit("listed-term", m.start(), m.end(), "[REDACTED: listed term]")


_FINDERS: tuple[Callable[[str], Iterator[Hit]], ...] = (
    _ssns,
    _cards,
    _ibans,
    _accounts,
    _birth_dates,
)
