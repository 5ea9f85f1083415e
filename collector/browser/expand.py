"""Expanding truncated text: "Show more", "See more", "Read more", "… more".

A maintained list of platform selectors and visible labels finds the expanders; each is
clicked once (a bounded number per capture), never when clicking would leave the page (a link
to another address, a form's submit button). Every click is a PageChange with what was
clicked and the length of the surrounding item's text before and after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import JSHandle, Page

from collector.browser.feed import ITEM_SELECTORS
from collector.browser.journal import Journal, one_line

EXPANDER_SELECTORS: tuple[str, ...] = (
    '[data-testid="tweet-text-show-more-link"]',  # X: long posts in a timeline
    "button.status__content__spoiler-link",  # Mastodon: content warnings
    "ytd-text-inline-expander #expand",  # YouTube: video description
    "tp-yt-paper-button#expand",  # YouTube: older description expander
    "button.feed-shared-inline-show-more-text__see-more-less-toggle",  # LinkedIn
    "a.see_more_link",  # Facebook (classic markup)
    '[data-e2e="browse-video-desc"] button',  # TikTok: video description
)
"""Platform expanders, clicked whatever their label."""

EXPANDER_LABELS: tuple[str, ...] = (
    r"(?:show|see|read|view) more",
    r"(?:…|\.\.\.)\s*(?:show |see |read )?more",
    r"mehr anzeigen|weiterlesen|voir plus|afficher la suite|ver más|leer más|mostra altro",
)
"""Visible labels of buttons that expand text, matched against the whole label, any case.
"Show more replies" and the like do not match: they load more items, not more text."""

_CANDIDATES = 'button, [role="button"], a, summary'
EXPAND_WAIT_MS = 300
"""Time given to the page to expand after a round of clicks."""

_EXPAND_JS = """async ([clicked, marks, opts]) => {
  const labels = opts.labels.map((p) => new RegExp('^(?:' + p + ')$', 'i'));
  const itemSel = opts.itemSelectors.join(',');
  const norm = (t) => (t || '').replace(/\\s+/g, ' ').trim();
  const describe = (el) => {
    let d = el.tagName.toLowerCase();
    if (el.id) { d += '#' + el.id; }
    const cls = (el.getAttribute('class') || '').trim().split(/\\s+/).filter(Boolean).slice(0, 2);
    if (cls.length) { d += '.' + cls.join('.'); }
    return d;
  };
  const leaves = (el) => {
    const a = el.closest('a[href]');
    if (a) {
      const href = (a.getAttribute('href') || '').trim();
      if (href && !href.startsWith('#') && !/^javascript:/i.test(href)) { return true; }
    }
    const b = el.closest('button, input');
    return !!(b && b.form && (b.type === 'submit' || b.type === 'image'));
  };
  const usable = (el) => !clicked.has(el) && el.getClientRects().length > 0 && !el.disabled
    && el.getAttribute('aria-disabled') !== 'true' && el.getAttribute('aria-expanded') !== 'true'
    && !leaves(el);
  const picks = [];
  const add = (el, via) => {
    if (picks.length >= opts.limit || !usable(el)) { return; }
    if (picks.some((p) => p.el === el || p.el.contains(el) || el.contains(p.el))) { return; }
    picks.push({el, via});
  };
  const skipped = [];
  for (const sel of opts.selectors) {
    for (const el of document.querySelectorAll(sel)) { add(el, sel); }
  }
  for (const el of document.querySelectorAll(opts.candidates)) {
    const text = norm(el.innerText || el.getAttribute('aria-label') || '');
    if (!text || text.length > 40 || !labels.some((r) => r.test(text))) { continue; }
    if (leaves(el) && !clicked.has(el)) {
      clicked.add(el);
      skipped.push(describe(el) + ' ' + JSON.stringify(text));
      continue;
    }
    add(el, 'label');
  }
  const rounds = picks.map(({el, via}) => {
    const box = (itemSel && el.parentElement && el.parentElement.closest(itemSel))
      || (el.parentElement && el.parentElement.parentElement) || el.parentElement || el;
    return {el, via, box, label: norm(el.innerText || el.getAttribute('aria-label') || '').slice(0, 80),
            container: describe(box), before: norm(box.innerText).length, error: ''};
  });
  for (const r of rounds) {
    clicked.add(r.el);
    if (marks) { marks.add(r.box); }
    try { r.el.click(); } catch (e) { r.error = String(e).slice(0, 200); }
  }
  if (rounds.length) { await new Promise((res) => setTimeout(res, opts.waitMs)); }
  return {
    skipped,
    clicks: rounds.map((r) => ({via: r.via, label: r.label, container: r.container, before: r.before,
      after: r.box.isConnected ? norm(r.box.innerText).length : -1, error: r.error})),
  };
}"""


def is_expander_label(text: str) -> bool:
    """True when a visible label is one of EXPANDER_LABELS (whole label, any case)."""
    flat = " ".join(text.split())
    return any(re.fullmatch(p, flat, re.IGNORECASE) for p in EXPANDER_LABELS)


@dataclass
class Expander:
    """Clicks expanders, at most `max_clicks` over the whole capture; each click is a change."""

    journal: Journal
    max_clicks: int
    clicked: int = 0
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _seen: JSHandle | None = None

    @property
    def remaining(self) -> int:
        return max(0, self.max_clicks - self.clicked)

    @property
    def limit_reached(self) -> bool:
        return self.max_clicks > 0 and self.clicked >= self.max_clicks

    async def run(self, page: Page, marks: JSHandle | None = None) -> int:
        """One round: click every usable expander in the DOM (within the limit).

        `marks` (a page-side WeakSet) receives each expanded item, so a feed collector that
        saw the item before reads it again.
        """
        if self.remaining <= 0:
            return 0
        url = page.url
        try:
            if self._seen is None:
                self._seen = await page.evaluate_handle("() => new WeakSet()")
            options = {
                "selectors": list(EXPANDER_SELECTORS),
                "labels": list(EXPANDER_LABELS),
                "candidates": _CANDIDATES,
                "itemSelectors": list(ITEM_SELECTORS),
                "limit": self.remaining,
                "waitMs": EXPAND_WAIT_MS,
            }
            result: dict[str, Any] = await page.evaluate(_EXPAND_JS, [self._seen, marks, options])
        except PlaywrightError as exc:
            self._seen = None
            self.errors.append(one_line(exc.message))
            return 0
        self.skipped.extend(str(s) for s in result["skipped"])
        for click in result["clicks"]:
            self.clicked += 1
            self.journal.change("expanded", _describe(click))
        if page.url != url:
            self.errors.append(f"the page went to {page.url} after expanding")
        return len(result["clicks"])

    def summary(self) -> str:
        """One line for the step detail."""
        text = f"{self.clicked} expander(s) clicked (limit {self.max_clicks})"
        if self.limit_reached:
            text += "; limit reached, further expanders left as they were"
        if self.skipped:
            shown = ", ".join(self.skipped[:5])
            text += (
                f"; {len(self.skipped)} left alone because clicking would leave the page: {shown}"
            )
        if self.errors:
            text += "; " + "; ".join(self.errors[:3])
        return text


def _describe(click: dict[str, Any]) -> str:
    via = "label" if click["via"] == "label" else f"selector {click['via']}"
    before, after = int(click["before"]), int(click["after"])
    detail = f"clicked {click['label']!r} ({via}) in {click['container']}: "
    if click["error"]:
        return detail + f"click failed: {click['error']}"
    if after < 0:
        return detail + f"text {before} characters before; the page replaced the element"
    return detail + f"text {before} → {after} characters"
