"""A parsed page, read defensively: charset decided from the bytes, JSON parsed leniently.

Page content is hostile. Nothing here raises on what a page contains: problems become
`notes` that end up in `Post.notes`.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import lxml.html
from lxml import etree

MAX_JSON_SCRIPT_CHARS = 20_000_000
_META_CHARSET_RE = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE
)
_HEADER_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)


@dataclass(frozen=True)
class PageInput:
    """What a capture hands to the reader."""

    url: str
    raw: bytes = b""
    rendered: str | None = None
    status: int | None = None
    content_type: str | None = None
    fragment: str | None = None
    """The requested URL's fragment (`#p123`) when the final URL has none: HTTP never sends a
    fragment and a browser keeps it across redirects, so it still says which part of the page
    (which post of a thread) was asked for."""


@dataclass
class JsonLd:
    """One JSON-LD object (top level or inside `@graph`), with where it was found."""

    data: dict[str, Any]
    where: str

    @property
    def types(self) -> list[str]:
        kind = self.data.get("@type")
        if isinstance(kind, list):
            return [str(k) for k in kind]
        return [str(kind)] if kind else []


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def decide_charset(raw: bytes, content_type: str | None) -> tuple[str, list[str]]:
    """Decode `raw`: valid UTF-8 wins over a contrary declaration, and the decision is noted."""
    notes: list[str] = []
    header = _HEADER_CHARSET_RE.search(content_type or "")
    declared_header = _codec(header.group(1)) if header else None
    meta = _META_CHARSET_RE.search(raw[:200_000])
    declared_meta = _codec(meta.group(1).decode("ascii", "replace")) if meta else None
    declared = declared_header or declared_meta
    where = "the Content-Type header" if declared_header else "a <meta charset>"
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8", errors="replace"), notes
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if declared not in (None, "utf-8") and not raw.isascii():
            notes.append(
                f"charset: the bytes are valid UTF-8 but {where} declares {declared}; read as "
                "UTF-8 (a browser following the declaration shows mis-decoded text)"
            )
        return text, notes
    codec = declared or "cp1252"
    if declared is None:
        notes.append("charset: not declared and not UTF-8; read as windows-1252")
    elif declared == "utf-8":
        notes.append("charset: declared UTF-8 but the bytes are not; invalid bytes replaced")
    return raw.decode(codec, errors="replace"), notes


@dataclass
class PageDoc:
    """The page's markup as an lxml tree, plus lenient readers for what platforms embed."""

    url: str
    html: str
    status: int | None = None
    notes: list[str] = field(default_factory=list)
    tree: Any = None
    fragment: str | None = None
    _json_ld: list[JsonLd] | None = None
    _visible: str | None = None

    @classmethod
    def parse(cls, page: PageInput) -> PageDoc:
        notes: list[str] = []
        text, charset_notes = decide_charset(page.raw, page.content_type)
        notes += charset_notes
        html = text
        if page.rendered is not None and not charset_notes:
            html = page.rendered
        elif page.rendered is not None:
            notes.append("read from the response bytes, not the rendered DOM, for the charset")
        fragment = page.fragment if page.fragment and "#" not in page.url else None
        doc = cls(url=page.url, html=html, status=page.status, notes=notes, fragment=fragment)
        doc.tree = _parse_html(html, notes)
        return doc

    @property
    def addressed_url(self) -> str:
        """The final URL with the requested fragment: which part of the page was asked for.
        Only for choosing among a page's parts; `url` stays the URL the page was served under."""
        return f"{self.url}#{self.fragment}" if self.fragment else self.url

    # ------------------------------------------------------------------ markup

    def xpath(self, expr: str) -> list[Any]:
        if self.tree is None:
            return []
        try:
            result = self.tree.xpath(expr)
        except etree.XPathError:
            return []
        return list(result) if isinstance(result, list) else [result]

    def first_text(self, expr: str) -> str | None:
        """Normalised text of the first node (or attribute value) matching `expr`."""
        for node in self.xpath(expr):
            value = node if isinstance(node, str) else node.text_content()
            value = clean(value)
            if value:
                return value
        return None

    def meta(self, key: str) -> str | None:
        """Content of <meta property|name|itemprop=key>, the first non-empty one
        (`value=` is read where a theme writes it instead of `content=`)."""
        lower = key.lower()
        for node in self.xpath("//meta[@content or @value]"):
            for attr in ("property", "name", "itemprop"):
                if (node.get(attr) or "").strip().lower() == lower:
                    value = clean(node.get("content") or node.get("value"))
                    if value:
                        return value
        return None

    def links(self, rel: str) -> list[str]:
        """Every distinct href of <link rel=...>, in page order."""
        out: list[str] = []
        for node in self.xpath("//link[@href]"):
            if rel in (node.get("rel") or "").lower().split():
                href = (node.get("href") or "").strip()
                if href and self.absolute(href) not in out:
                    out.append(self.absolute(href))
        return out

    def link(self, rel: str) -> str | None:
        """The first href of <link rel=...>, absolute."""
        found = self.links(rel)
        return found[0] if found else None

    def absolute(self, href: str) -> str:
        try:
            return urljoin(self.url, href.strip())
        except ValueError:
            return href.strip()

    def text(self) -> str:
        if self.tree is None:
            return ""
        body = self.tree.find("body")
        node = body if body is not None else self.tree
        return clean(" ".join(node.itertext())) or ""

    def visible_text(self) -> str:
        """The body's text as a reader sees it: without scripts, styles, templates, `noscript`
        and HTML comments (read once: the page state, the library reader and the last-resort date
        all ask)."""
        if self._visible is None:
            self._visible = clean(" ".join(self.visible_strings())) or ""
        return self._visible

    def visible_strings(self, node: Any = None) -> list[str]:
        """The text pieces of `node` (default the body) that a reader sees, in order."""
        if self.tree is None:
            return []
        if node is None:
            body = self.tree.find("body")
            node = body if body is not None else self.tree
        out: list[str] = []
        _visible(node, out)
        return out

    def title(self) -> str | None:
        return self.first_text("//title")

    # ------------------------------------------------------------------ embedded data

    def script_texts(self, *, type_: str | None = None, id_: str | None = None) -> list[str]:
        out = []
        for node in self.xpath("//script"):
            if type_ is not None and (node.get("type") or "").strip().lower() != type_:
                continue
            if id_ is not None and node.get("id") != id_:
                continue
            body = node.text or ""
            if body.strip():
                out.append(body)
        return out

    def script_json(self, *, type_: str | None = None, id_: str | None = None) -> list[Any]:
        """Parsed JSON of matching <script> elements; parse failures become notes."""
        found = []
        for i, body in enumerate(self.script_texts(type_=type_, id_=id_)):
            label = f"script{'#' + id_ if id_ else ''}{'[type=' + type_ + ']' if type_ else ''}"
            value = loads_lenient(body, f"{label} #{i + 1}", self.notes)
            if value is not None:
                found.append(value)
        return found

    def json_ld(self) -> list[JsonLd]:
        """Every JSON-LD object on the page, `@graph` members flattened, errors noted."""
        if self._json_ld is not None:
            return self._json_ld
        items: list[JsonLd] = []
        for n, body in enumerate(self.script_texts(type_="application/ld+json"), start=1):
            value = loads_lenient(body, f"JSON-LD block {n}", self.notes)
            for obj in _flatten(value):
                items.append(JsonLd(obj, f"JSON-LD block {n}"))
        self._json_ld = items
        return items


_WRAPPERS = (
    ("an HTML comment", re.compile(r"<!--"), re.compile(r"-->$")),
    ("<![CDATA[ ]]>", re.compile(r"(?://|/\*)?\s*<!\[CDATA\[\s*(?:\*/)?"),
     re.compile(r"(?://|/\*)?\s*\]\]>\s*(?:\*/)?$")),
)
"""What pages wrap a JSON-LD block in (the HTML comment first: it may hold the CDATA section)."""


def loads_lenient(body: str, label: str, notes: list[str]) -> Any:
    """JSON that tolerates raw control characters in strings; failures are noted, not raised."""
    text = body.strip()
    for wrapper, opening, closing in _WRAPPERS:
        opened, closed = opening.match(text), closing.search(text)
        if opened and closed and opened.end() <= closed.start():
            text = text[opened.end() : closed.start()].strip()
            notes.append(f"{label}: read from inside {wrapper}")
    if len(text) > MAX_JSON_SCRIPT_CHARS:
        notes.append(f"{label}: {len(text)} characters, larger than the reader's limit; skipped")
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        value = json.loads(text, strict=False)
    except ValueError as exc:
        notes.append(f"{label}: not valid JSON ({_one_line(exc)}); ignored")
        return None
    notes.append(f"{label}: control characters inside strings (invalid strict JSON); read leniently")
    return value


def _flatten(value: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            stack[0:0] = item
        elif isinstance(item, dict):
            graph = item.get("@graph")
            if isinstance(graph, list):
                stack[0:0] = graph
            if "@type" in item:
                out.append(item)
    return out


def _parse_html(html: str, notes: list[str]) -> Any:
    if not html.strip():
        notes.append("the page is empty")
        return None
    try:
        parser = lxml.html.HTMLParser(encoding="utf-8", recover=True, huge_tree=True)
        return lxml.html.document_fromstring(html.encode("utf-8", errors="replace"), parser=parser)
    except (etree.ParserError, ValueError) as exc:
        notes.append(f"the markup could not be parsed ({_one_line(exc)})")
        return None


_SPACE_RE = re.compile(r"\s+")


INVISIBLE_TAGS = frozenset({"script", "style", "template", "noscript", "head"})


def _visible(root: Any, out: list[str]) -> None:
    """Append the text a reader sees under `root` (iteratively: a hostile page may nest deep)."""
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:  # after the node's children: the text that follows it in its parent
            if node is not root and node.tail:
                out.append(node.tail)
            continue
        tag = node.tag if isinstance(node.tag, str) else None
        stack.append((node, True))
        if tag is None or tag.lower() in INVISIBLE_TAGS:
            continue  # a comment or processing instruction, or an invisible element: its tail only
        if node.text:
            out.append(node.text)
        stack.extend((child, False) for child in reversed(node))


def clean(value: Any) -> str | None:
    """Collapse whitespace; None for empty or non-text values."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = _SPACE_RE.sub(" ", str(value)).strip()
    return text or None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
