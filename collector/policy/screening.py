"""Information-limitations screening (28 CFR 23.20(b)): protected-category terms in page text.

Pure functions: `page_text` turns a captured HTML document into its visible text and
`screen` looks for the agency policy's terms (`[policy.screening.categories]`) in that text.
The result describes the page text only: which policy terms occur, how often and where.
It never says anything about a person.

Matching rules (what a term in the policy matches):

* Case is ignored (Unicode case folding: "PROTEST", "Protest" and "protest" are alike;
  "STRASSE" matches "straße"). No other Unicode normalisation is applied.
* Whole words only. A term never matches inside a longer word: "rally" does not match
  "rallye" or "generally", "church" does not match "Churchill", "temple" does not match
  "templates", "age" does not match "page". Letters, digits, "_", combining marks and
  zero-width (non-)joiners of every script count as word characters; punctuation does not,
  so "church's", "#protest" and "anti-protest" contain the word "protest"/"church".
  Exception: at an edge of a term written in a script without spaces between words
  (Chinese, Japanese, Thai, Lao, Khmer, Myanmar) no word boundary is required there.
* Simple English plurals of a single-word term, or of the last word of a phrase, whose
  last word is plain ASCII letters: +"s" ("protest" -> "protests"); +"es" after
  s, x, z, ch, sh ("church" -> "churches"); consonant+"y" -> "ies" ("rally" -> "rallies",
  "political party" -> "political parties"). Nothing else: no irregular plurals, no verb
  forms ("protester", "protesting", "unionized" do not match "protest"/"union"); add
  those forms as terms of their own to screen for them. Word sense is not judged:
  "demonstrations of the product" matches "demonstration" - a match is for human review.
* Phrases: the words of a multi-word term match across any run of spaces/tabs with at
  most one line break, or across a single hyphen directly between them ("-", U+2010,
  U+2011): "protest march" matches "Protest  March", "protest\\nmarch" and
  "protest-march". A term written with a hyphen ("anti-union") is the same as the
  spaced phrase. A phrase never spans a blank line: `page_text` separates blocks
  (paragraphs, list items, table cells, headings, divs ...) with a blank line, so
  "<li>labor</li><li>union</li>" never matches "labor union". Inline markup does not
  separate words ("<b>labor</b> union" matches); `<br>` is a line break within a block.
* Overlaps: within one category each place in the text counts once; where two terms
  start at the same place the longer one wins ("protest march" over "protest").
  Categories are screened independently of each other.
* Empty or blank terms are ignored; duplicate terms are harmless. Terms are literal text,
  never regular expressions.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import unicodedata
from enum import Enum
from html import unescape
from html.parser import HTMLParser

import rfc8785

from collector.evidence.model import Match, ScreeningResult

__all__ = ["Match", "ScreeningResult", "page_text", "screen"]

# --------------------------------------------------------------------- page text

_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "iframe"})
"""Elements whose content is never shown as text (an <iframe>'s content is its fallback)."""

_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "body", "button", "caption", "center", "dd",
    "details", "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure",
    "footer", "form", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header",
    "hgroup", "hr", "html", "legend", "li", "listing", "main", "menu", "nav", "ol", "optgroup",
    "option", "p", "plaintext", "pre", "section", "select", "summary", "table", "tbody", "td",
    "textarea", "tfoot", "th", "thead", "title", "tr", "ul", "xmp",
})  # fmt: skip

_BREAKOUT = frozenset({
    "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em",
    "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing",
    "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span", "strong", "strike",
    "sub", "sup", "table", "tt", "u", "ul", "var",
})  # fmt: skip
"""HTML start tags that close an open <svg> in a browser's parser (so content is not hidden)."""


class _Break(Enum):
    BLOCK = "block"
    LINE = "line"


_PRE = frozenset({"pre", "listing", "textarea", "plaintext", "xmp"})
_SURROGATES = re.compile("[\ud800-\udfff]")


class _TextParser(HTMLParser):
    """Collects text and block/line boundaries, skipping non-rendered elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str | _Break] = []
        self.skipping: list[str] = []
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKOUT:
            while self.skipping and self.skipping[-1] == "svg":
                self.skipping.pop()
        if tag in _SKIP:
            self.skipping.append(tag)
        elif tag == "br":
            self.pieces.append(_Break.LINE)
        elif tag in _BLOCK:
            self.pieces.append(_Break.BLOCK)
            self.pre += tag in _PRE

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            if tag in self.skipping:
                while self.skipping.pop() != tag:
                    pass
        elif tag == "br":
            self.pieces.append(_Break.LINE)
        elif tag in _BLOCK:
            self.pieces.append(_Break.BLOCK)
            if tag in _PRE and self.pre:
                self.pre -= 1

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.pre:
            for index, line in enumerate(data.split("\n")):
                if index:
                    self.pieces.append(_Break.LINE)
                self.pieces.append(line)
        else:
            self.pieces.append(data)

    def parse_html_declaration(self, i: int) -> int:
        # Python 3.11 raises AssertionError on some malformed "<![" sections: treat those
        # as a bogus comment up to the next ">", as browsers do.
        try:
            return super().parse_html_declaration(i)
        except AssertionError:
            return self.parse_bogus_comment(i)


def _assemble(pieces: list[str | _Break]) -> str:
    blocks: list[str] = []
    lines: list[str] = []
    current: list[str] = []

    def end_line() -> None:
        line = " ".join("".join(current).split())
        current.clear()
        if line:
            lines.append(line)

    def end_block() -> None:
        end_line()
        if lines:
            blocks.append("\n".join(lines))
            lines.clear()

    for piece in pieces:
        if piece is _Break.BLOCK:
            end_block()
        elif piece is _Break.LINE:
            end_line()
        else:
            current.append(piece)
    end_block()
    return "\n\n".join(blocks)


def page_text(html: str) -> str:
    """The visible text of an HTML document, with its <title>; never raises on bad markup.

    Script, style, noscript, template, svg and iframe content, comments and attributes
    (alt, title, ...) are dropped; entities are decoded. Whitespace is collapsed; a `<br>`
    gives a line break, and blocks (p, div, li, td, h1 ...) are separated by a blank line,
    which `screen` never matches a phrase across. CSS is not applied: text hidden by a
    style sheet is included (screening errs towards over-inclusion).
    """
    html = _SURROGATES.sub("\ufffd", html)
    parser = _TextParser()
    try:
        parser.feed(html)
        parser.close()
        pieces = parser.pieces
    except Exception:  # hostile markup must never stop screening: strip tags crudely instead
        pieces = []
        for part in re.split(r"<[^>]*>", html):
            pieces += [unescape(part), _Break.BLOCK]
    return _assemble(pieces)


# --------------------------------------------------------------------- screening


_HYPHENS = r"\-\u2010\u2011"
_TERM_SPLIT = re.compile(rf"[\s{_HYPHENS}]+")
_GAP = rf"(?:[{_HYPHENS}]|(?=\s)[^\S\n]*+\n?+[^\S\n]*+)"
"""Between a phrase's words: one hyphen, or whitespace holding at most one line break."""

_CONTEXT = 30
_MAX_EXCERPTS = 3
_UNSPACED_SCRIPTS = (
    "CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH", "HIRAGANA", "KATAKANA",
    "HALFWIDTH KATAKANA", "THAI ", "LAO ", "KHMER ", "MYANMAR ",
)  # fmt: skip


@functools.cache
def _word_char() -> re.Pattern[str]:
    return re.compile(f"[{_word_class()}]")


@functools.cache
def _word_class() -> str:
    """A regex class body: word characters, including combining marks of every script."""
    marks: list[str] = []
    start = previous = -2
    for code in (*range(0x20000), *range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(code))[0] != "M":
            continue
        if code != previous + 1:
            if start >= 0:
                marks.append(_class_range(start, previous))
            start = code
        previous = code
    marks.append(_class_range(start, previous))
    return r"\w\u200c\u200d" + "".join(marks)


def _class_range(first: int, last: int) -> str:
    # The characters themselves rather than \U escapes: the same class, compiled three times
    # faster. Combining marks are never one of a class's special characters (\ ] [ ^ -).
    return chr(first) if first == last else f"{chr(first)}-{chr(last)}"


def _unspaced(char: str) -> bool:
    return unicodedata.name(char, "").startswith(_UNSPACED_SCRIPTS)


def _plural(word: str) -> str:
    """`word` as a pattern that also matches its simple English plural."""
    escaped = re.escape(word)
    if not re.fullmatch(r"[a-z]+", word):
        return escaped
    if re.search(r"[^aeiou]y$", word):
        return re.escape(word[:-1]) + "(?:y|ies)"
    if re.search(r"(?:[sxz]|ch|sh)$", word):
        return escaped + "(?:es)?+"
    return escaped + "s?+"


def _alternative(words: list[str], marker: str) -> str:
    """One term's pattern, starting with a literal so the regex engine can skip ahead."""
    wc = _word_class()
    first = words[0]
    body = _GAP.join([*(re.escape(w) for w in words[:-1]), _plural(words[-1])])
    head, rest = re.escape(first[0]), body[len(re.escape(first[0])) :]
    before = "" if _unspaced(first[0]) or not _word_char().match(first[0]) else f"(?<![{wc}].)"
    last = words[-1][-1]
    after = "" if _unspaced(last) or not _word_char().match(last) else f"(?![{wc}])"
    return f"{head}{before}{rest}{after}(?P<{marker}>)"


def _category_pattern(terms: list[str]) -> tuple[re.Pattern[str], dict[str, list[str]]] | None:
    """The category's regex and, per marker group, the policy terms it stands for."""
    by_key: dict[tuple[str, ...], list[str]] = {}
    for term in terms:
        words = [w for w in _TERM_SPLIT.split(term.casefold()) if w]
        if words:
            by_key.setdefault(tuple(words), []).append(term.strip())
    if not by_key:
        return None
    keys = sorted(by_key, key=lambda k: (-len(k), -len(" ".join(k)), k))
    markers = {f"t{i}": by_key[key] for i, key in enumerate(keys)}
    alternatives = [_alternative(list(key), f"t{i}") for i, key in enumerate(keys)]
    return re.compile("|".join(alternatives), re.DOTALL), markers


def _folded(text: str) -> tuple[str, list[int] | None]:
    """Case-folded text and, if folding changed its length, folded index -> text index."""
    folded = text.casefold()
    if len(folded) == len(text):  # no character folds to more than one: indices agree
        return folded, None
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        fold = char.casefold()
        parts.append(fold)
        origin.extend([index] * len(fold))
    origin.append(len(text))
    return "".join(parts), origin


def _excerpt(text: str, start: int, end: int) -> str:
    left, right = max(0, start - _CONTEXT), min(len(text), end + _CONTEXT)
    snippet = " ".join(text[left:right].split())
    return ("…" if left else "") + snippet + ("…" if right < len(text) else "")


def _sha256_text(text: str) -> str:
    # "surrogatepass" only matters for lone surrogates, which page_text never emits.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def policy_terms_sha256(categories: dict[str, list[str]]) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of a categories table."""
    return hashlib.sha256(rfc8785.dumps(categories)).hexdigest()


@functools.lru_cache(maxsize=256)
def _compiled(terms: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, list[str]]] | None:
    """`_category_pattern`, compiled once per list of terms (a batch screens many pages)."""
    return _category_pattern(list(terms))


def prepare(categories: dict[str, list[str]]) -> None:
    """Compile the categories' patterns now, so `screen` finds them ready."""
    for terms in categories.values():
        _compiled(tuple(terms))


def prepare_ahead(categories: dict[str, list[str]]) -> None:
    """`prepare` on a thread of its own (a capture starts it as the browser starts, when the
    capture's own thread only waits)."""
    threading.Thread(target=prepare, args=(categories,), name="screening", daemon=True).start()


def screen(text: str, categories: dict[str, list[str]]) -> ScreeningResult:
    """Find each category's policy terms in `text` (see the module docstring for the rules)."""
    folded, origin = _folded(text)
    matches: list[Match] = []
    for category in sorted(categories):
        compiled = _compiled(tuple(categories[category]))
        if compiled is None:
            continue
        pattern, markers = compiled
        found: set[str] = set()
        count = 0
        excerpts: list[str] = []
        for hit in pattern.finditer(folded):
            count += 1
            found.update(markers[hit.lastgroup or ""])
            if len(excerpts) < _MAX_EXCERPTS:
                start, end = hit.span()
                if origin is not None:
                    start, end = origin[start], origin[end]
                excerpts.append(_excerpt(text, start, end))
        if count:
            matches.append(
                Match(category=category, terms=sorted(found), count=count, excerpts=excerpts)
            )
    return ScreeningResult(
        matched=bool(matches),
        matches=matches,
        text_sha256=_sha256_text(text),
        characters=len(text),
        policy_terms_sha256=policy_terms_sha256(categories),
    )
