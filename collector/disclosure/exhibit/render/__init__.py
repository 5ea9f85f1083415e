"""Rendering an exhibit packet: HTML from Jinja2 templates, a PDF from the same Chromium.

`render_html(packet)` is the whole packet as one self-contained HTML document (the
screenshot slices are `data:` images; no script, no external resource). `render_pdf(packet,
out)` renders the same section templates in headless Chromium, launched by path, with
JavaScript disabled and every request aborted, and writes one PDF in this order: table of
contents; per bundle the cover, the screenshot (one slice per page), the post metadata, the
technical report, the artifact table, the chain of custody and the verification
instructions; then the redaction log (redacted copies), the certification under FRE
902(13)/(14) and the notice under FRE 902(11).

Footers and Bates numbers. Chromium's `page.pdf` header/footer templates cannot add an
offset to a page number or pad it, and its CSS `@page` margin boxes (Chromium 131+) number
pages correctly but miscount custom counters on named pages (tested on Chromium 156: a
Bates counter reset on the first bundle's pages repeats its value). So the numbers are
computed in Python: every section is rendered to its own PDF (each starts on a new page),
the pages are counted, the table of contents is rendered with the page numbers until its
own length is stable, and one more Chromium render produces a page of footer text for
every page (exhibit number, source URL, capture time in UTC, bundle id, "Page i of n",
Bates number); pypdf lays each footer page over its page. The page count of every render is
checked, so a footer can never land on the wrong page.

Everything from a captured page (titles, names, post text, URLs, header values) is
untrusted: it reaches the HTML only through Jinja2 autoescaping (no `|safe`, no `Markup`
around captured data), and the environment's `finalize` makes bidirectional-override and
control characters visible as `⟨U+202E⟩` so they cannot reorder the text around them.

Modules: `geometry` (fixed facts), `redacted` (the redacted copy's input), `pages` (small
rules and checks), `view` (HTML), `pdf` (PDF).
"""

from __future__ import annotations

from collector.disclosure.exhibit.render.geometry import VERIFY_COMMANDS, RenderFailed
from collector.disclosure.exhibit.render.pages import RenderResult, TocEntry
from collector.disclosure.exhibit.render.pdf import render_pdf
from collector.disclosure.exhibit.render.redacted import RedactedView, RedactionEntry
from collector.disclosure.exhibit.render.view import render_html

__all__ = [
    "VERIFY_COMMANDS",
    "RedactedView",
    "RedactionEntry",
    "RenderFailed",
    "RenderResult",
    "TocEntry",
    "render_html",
    "render_pdf",
]
