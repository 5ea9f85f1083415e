"""Closing cookie and consent overlays with a maintained rule list, never site-blind.

The rules (collector/data/consent-rules.toml, format in its header) name an overlay and the
buttons that refuse ("reject all", "only necessary"), best first. A rule applies to the hosts
its globs match, and only while its overlay is visible. Each click is a `consent-dismissed`
PageChange naming the rule and the button; an overlay of a matching rule without a visible
button, and any overlay that looks like a consent notice but matches no rule, are left in
place and recorded as `consent-left-in-place`.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, JSHandle, Locator, Page
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from collector.browser.journal import Journal, StepHandle, one_line

RULES_FILE = "consent-rules.toml"
_BUTTONISH = 'button, [role="button"], a, input[type="button"], input[type="submit"]'
_HOST_GLOB = re.compile(r"^[a-z0-9*?.\-\[\]]+$")
CONSENT_WORDS = (
    r"\b(?:cookies?|consent|gdpr|tracking technologies|personal data"
    r"|privacy (?:settings|choices|preferences))\b"
)
"""Words that make a fixed overlay or dialog look like a consent notice."""
MAX_FRAMES = 12
CLICK_TIMEOUT_MS = 2000
HIDE_WAIT_S = 3.0


class ConsentRulesError(ValueError):
    """The rule list is missing or invalid."""


class ConsentRule(BaseModel):
    """One consent platform's or one site's overlay and its refusing buttons."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = Field(min_length=1)
    hosts: list[str] = Field(min_length=1)
    overlay: str = Field(min_length=1)
    reject: list[str] = Field(default_factory=list)
    reject_texts: list[str] = Field(default_factory=list)
    frame: str | None = None

    @field_validator("hosts")
    @classmethod
    def _host_globs(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if host != host.lower() or not _HOST_GLOB.fullmatch(host):
                raise ValueError(f"host glob {host!r} must be a lower-case host name pattern")
        return hosts

    @field_validator("reject", "reject_texts")
    @classmethod
    def _not_blank(cls, values: list[str]) -> list[str]:
        if any(not v.strip() for v in values):
            raise ValueError("empty selector or label")
        return values

    @model_validator(mode="after")
    def _has_button(self) -> ConsentRule:
        if not self.reject and not self.reject_texts:
            raise ValueError(f"rule {self.name!r} names no button (reject or reject_texts)")
        return self

    def matches_host(self, host: str) -> bool:
        """True when the page's host name matches one of the rule's globs."""
        host = host.lower().rstrip(".")
        return any(fnmatch.fnmatchcase(host, glob) for glob in self.hosts)


class ConsentRules(BaseModel):
    """The whole rule file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    rules: list[ConsentRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> ConsentRules:
        names = [r.name for r in self.rules]
        doubles = sorted({n for n in names if names.count(n) > 1})
        if doubles:
            raise ValueError(f"rule names used twice: {', '.join(doubles)}")
        return self


@dataclass(frozen=True)
class RuleSet:
    """Validated rules and the SHA-256 of the file they came from."""

    rules: ConsentRules
    sha256: str
    source: str

    def for_host(self, host: str) -> list[ConsentRule]:
        return [r for r in self.rules.rules if r.matches_host(host)]

    def describe(self) -> str:
        return (
            f"{len(self.rules.rules)} rules from {self.source} version {self.rules.version}, "
            f"sha256 {self.sha256}"
        )


def parse_rules(data: bytes, source: str) -> RuleSet:
    """Parse and validate a rule file's bytes; raise ConsentRulesError with one line."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
        rules = ConsentRules.model_validate(raw)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConsentRulesError(f"{source}: not a TOML file: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConsentRulesError(f"{source}: {where}: {first['msg']}") from exc
    return RuleSet(rules=rules, sha256=hashlib.sha256(data).hexdigest(), source=source)


def load_rules(path: Path | None = None) -> RuleSet:
    """The rules in `path`, or the ones shipped in collector/data (read once)."""
    if path is not None:
        return parse_rules(path.read_bytes(), str(path))
    return _shipped_rules()


@lru_cache(maxsize=1)
def _shipped_rules() -> RuleSet:
    data = resources.files("collector").joinpath("data", RULES_FILE).read_bytes()
    return parse_rules(data, f"collector/data/{RULES_FILE}")


_UNMATCHED_JS = """([handled, words]) => {
  const re = new RegExp(words, 'i');
  const vh = window.innerHeight;
  const found = [];
  const isHandled = (el) => { for (let n = el; n; n = n.parentElement) { if (handled.has(n)) { return true; } } return false; };
  const describe = (el) => {
    let d = el.tagName.toLowerCase();
    if (el.id) { d += '#' + el.id; }
    const cls = (el.getAttribute('class') || '').trim().split(/\\s+/).filter(Boolean).slice(0, 2);
    if (cls.length) { d += '.' + cls.join('.'); }
    return d;
  };
  for (const el of document.querySelectorAll('body *')) {
    if (found.some((f) => f.contains(el))) { continue; }
    const role = el.getAttribute('role');
    const modal = el.tagName === 'DIALOG' || role === 'dialog' || role === 'alertdialog'
      || el.getAttribute('aria-modal') === 'true';
    const cs = getComputedStyle(el);
    if (!modal && cs.position !== 'fixed' && cs.position !== 'sticky') { continue; }
    if (cs.display === 'none' || cs.visibility === 'hidden' || Number(cs.opacity) === 0) { continue; }
    const r = el.getBoundingClientRect();
    if (r.width < 100 || r.height < 30 || r.bottom <= 0 || r.top >= vh) { continue; }
    if (isHandled(el) || Array.from(el.querySelectorAll('*')).some((c) => handled.has(c))) { continue; }
    const text = (el.innerText || '').replace(/\\s+/g, ' ').trim();
    if (!text || text.length > 5000 || !re.test(text)) { continue; }
    if (!el.querySelector('button, [role="button"], input[type="button"], input[type="submit"]')) { continue; }
    found.push(el);
  }
  return found.slice(0, 10).map((el) => ({
    element: describe(el),
    text: (el.innerText || '').replace(/\\s+/g, ' ').trim().slice(0, 160),
  }));
}"""


@dataclass
class ConsentOutcome:
    dismissed: int = 0
    left: int = 0
    rules_checked: int = 0


async def dismiss_consent(
    page: Page, journal: Journal, handle: StepHandle, rules: RuleSet
) -> ConsentOutcome:
    """Apply the rules for the page's host, then report unmatched consent-like overlays."""
    outcome = ConsentOutcome()
    host = urlsplit(page.url).hostname or ""
    applicable = rules.for_host(host)
    outcome.rules_checked = len(applicable)
    handled = await page.evaluate_handle("() => new WeakSet()")
    present = await _present(page, applicable)
    for rule in applicable:
        if rule.name not in present and not outcome.dismissed:
            continue  # no element of its overlay in any frame, and no click has changed the page
        try:
            await _apply(page, rule, host, journal, handle, handled, outcome)
        except PlaywrightError as exc:
            handle.note(f"rule {rule.name}: {one_line(exc.message)}")
    try:
        unmatched: list[dict[str, str]] = await page.evaluate(
            _UNMATCHED_JS, [handled, CONSENT_WORDS]
        )
    except PlaywrightError as exc:
        handle.note(f"overlay check failed: {one_line(exc.message)}")
        unmatched = []
    for overlay in unmatched:
        outcome.left += 1
        journal.change(
            "consent-left-in-place",
            f"{overlay['element']} ({overlay['text']!r}) looks like a cookie or consent overlay "
            f"but no rule in {RULES_FILE} matches it on {host}; left in place",
        )
    return outcome


async def _present(page: Page, rules: list[ConsentRule]) -> set[str]:
    """Names of the rules whose overlay selector matches an element in one of the page's frames
    now, all asked at once (a rule that cannot be asked counts as present)."""
    frames = page.frames[:MAX_FRAMES]
    pairs = [(rule, frame) for rule in rules for frame in frames]
    counts = await asyncio.gather(
        *(frame.locator(rule.overlay).count() for rule, frame in pairs), return_exceptions=True
    )
    return {
        rule.name
        for (rule, _), count in zip(pairs, counts, strict=True)
        if isinstance(count, BaseException) or count > 0
    }


async def _apply(
    page: Page,
    rule: ConsentRule,
    host: str,
    journal: Journal,
    handle: StepHandle,
    handled: JSHandle,
    outcome: ConsentOutcome,
) -> None:
    for frame in page.frames[:MAX_FRAMES]:
        overlay = frame.locator(rule.overlay)
        shown = await _visible(overlay)
        if not shown:
            continue
        if frame is page.main_frame:
            for element in shown:
                await element.evaluate("(el, set) => set.add(el)", handled)
        found = await _button(page, frame, overlay, rule)
        where = f"rule {rule.name} ({rule.description}) matched {rule.overlay!r} on {host}"
        if found is None:
            outcome.left += 1
            journal.change(
                "consent-left-in-place",
                f"{where}, but none of its buttons is visible; left in place",
            )
            return
        button, how = found
        label = " ".join((await _label(button)).split())[:80]
        scripted = ""
        try:
            await button.click(timeout=CLICK_TIMEOUT_MS)
        except PlaywrightError:
            await button.evaluate("(el) => el.click()")
            scripted = " (a scripted click: the pointer click did not land)"
        gone = await _wait_hidden(overlay)
        outcome.dismissed += 1
        journal.change(
            "consent-dismissed",
            f"{where}; clicked {how} {label!r}{scripted}; "
            + ("the overlay closed" if gone else "the overlay is still visible after the click"),
        )
        handle.note(f"rule {rule.name}: clicked {label!r}")
        return


async def _visible(locator: Locator, limit: int = 5) -> list[Locator]:
    count = await locator.count()
    shown = []
    for index in range(min(count, limit)):
        element = locator.nth(index)
        if await element.is_visible():
            shown.append(element)
    return shown


async def _button(
    page: Page, frame: Frame, overlay: Locator, rule: ConsentRule
) -> tuple[Locator, str] | None:
    frames = [frame]
    if rule.frame is not None:
        frames = [f for f in page.frames if fnmatch.fnmatchcase(f.url, rule.frame)] or [frame]
    for target in frames:
        for selector in rule.reject:
            shown = await _visible(target.locator(selector))
            if shown:
                return shown[0], f"selector {selector}"
    for target in frames:
        scope: Frame | Locator = target if rule.frame is not None else overlay
        for text in rule.reject_texts:
            pattern = re.compile(rf"^\s*{re.escape(text)}\s*$", re.IGNORECASE)
            shown = await _visible(scope.locator(_BUTTONISH).filter(has_text=pattern))
            if shown:
                return shown[0], f"button labelled {text!r}"
    return None


async def _label(button: Locator) -> str:
    try:
        text: Any = await button.evaluate(
            "(el) => el.innerText || el.value || el.getAttribute('aria-label') || ''"
        )
    except PlaywrightError:
        return ""
    return str(text)


async def _wait_hidden(overlay: Locator) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + HIDE_WAIT_S
    while True:
        try:
            if not await _visible(overlay):
                return True
        except PlaywrightError:
            return True  # the frame went away with its overlay
        if loop.time() >= end:
            return False
        await asyncio.sleep(0.1)
