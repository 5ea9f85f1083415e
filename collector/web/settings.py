"""What the web application runs with: the store, TLS, the session secret, and the fixed
limits and headers (one place for each)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

IDLE_TIMEOUT = timedelta(minutes=15)
"""A session unused this long ends: the next request asks for the log-in again."""
MAX_SESSION = timedelta(hours=10)
"""A session ends this long after its log-in, however busy."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOWNLOADS_KEPT = timedelta(days=7)
"""A file made for download (export, package, exhibit, key list) is removed this long after it
was made (it is a copy: the bundles stay sealed in the store), each removal recorded."""
UNFINISHED_KEPT = timedelta(days=1)
"""A download folder with no record (its making was cut short) is removed after this long."""
HSTS = "max-age=31536000"
API_PREFIX = "/api/"
"""The JSON API's paths: token-authenticated, no session cookie read or set."""
DOWNLOAD_CSP = "sandbox; default-src 'none'"
"""A downloaded artifact, should a browser show it anyway, runs nothing and fetches nothing."""
REPORT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
"""The audit report's HTML, shown as it is: its own inline style, no script, nothing fetched,
in an opaque origin (`sandbox`) that cannot reach the application."""


@dataclass(frozen=True)
class WebConfig:
    """One running application: its store, whether it is served over TLS, and the key that
    signs its session cookies (random at each start: a restart ends every session)."""

    store_path: Path
    tls: bool = False
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    @property
    def cookie_name(self) -> str:
        """`__Host-` under TLS: the browser then insists on Secure, Path=/ and no Domain."""
        return "__Host-collector-session" if self.tls else "collector-session"
