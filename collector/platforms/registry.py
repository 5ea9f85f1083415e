"""The platforms we read, and deciding which one a page belongs to.

Each platform module (`collector/platforms/<name>.py`) defines `PLATFORM = Platform(...)`.
The platform is *established* only by the final URL's host. On any other host the page's
own claims (canonical URL, `og:url`, `og:site_name`, platform markers) may choose the
extractor, but the result says the platform is *claimed by the page*.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit

from collector.evidence.post import PageState, PlatformId
from collector.platforms.draft import Draft
from collector.platforms.page import PageDoc

FRAMEWORK_MODULES = frozenset(
    {"accounts", "draft", "generic", "model", "page", "reader", "registry", "state", "summary", "values"}
)


@dataclass(frozen=True)
class Platform:
    id: str
    name: str
    hosts: tuple[str, ...]
    extract: Callable[[PageDoc, Draft], None]
    site_names: tuple[str, ...] = ()
    page_state: Callable[[PageDoc], PageState | None] | None = None
    claims: Callable[[PageDoc], str | None] | None = field(default=None)
    account_path: re.Pattern[str] | None = None
    """Matches a URL path that names one account (group 1 is its handle), e.g. `/@alice/…`."""

    def owns(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == h or host.endswith("." + h) for h in self.hosts)


@cache
def platforms() -> tuple[Platform, ...]:
    """Every platform module in this package, in name order."""
    import collector.platforms as package

    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name in FRAMEWORK_MODULES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"collector.platforms.{info.name}")
        platform = getattr(module, "PLATFORM", None)
        if isinstance(platform, Platform):
            found.append(platform)
    return tuple(found)


def by_id(platform_id: str) -> Platform | None:
    return next((p for p in platforms() if p.id == platform_id), None)


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def for_host(host: str) -> Platform | None:
    return next((p for p in platforms() if host and p.owns(host)), None)


def identify(doc: PageDoc) -> tuple[Platform | None, PlatformId]:
    """The platform of `doc` and the basis for saying so."""
    host = host_of(doc.url)
    platform = for_host(host)
    if platform is not None:
        return platform, PlatformId(
            id=platform.id,
            name=platform.name,
            basis="established",
            evidence=f"the final URL's host {host} is a {platform.name} host",
        )
    served = f"the page was served by {host or 'an unknown host'}, which is not a platform host"
    for label, value in (
        ('<link rel="canonical">', doc.link("canonical")),
        ('meta[property="og:url"]', doc.meta("og:url")),
    ):
        claimed = for_host(host_of(value or ""))
        if claimed is not None:
            return claimed, _claimed(claimed, f"the page's {label} names {host_of(value or '')}; {served}")
    site_name = (doc.meta("og:site_name") or "").strip().lower()
    for platform in platforms():
        if site_name and site_name in (s.lower() for s in platform.site_names):
            return platform, _claimed(
                platform, f"the page's og:site_name is {site_name!r}; {served}"
            )
    for platform in platforms():
        if platform.claims is not None:
            marker = platform.claims(doc)
            if marker:
                return platform, _claimed(platform, f"{marker}; {served}")
    return None, PlatformId(basis="none", evidence=f"no platform recognised; {served}")


def _claimed(platform: Platform, evidence: str) -> PlatformId:
    return PlatformId(id=platform.id, name=platform.name, basis="claimed", evidence=evidence)
