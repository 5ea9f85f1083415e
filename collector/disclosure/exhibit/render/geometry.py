"""Fixed facts of an exhibit packet: page geometry, limits, the content policy, the verification commands."""

from __future__ import annotations

import re

from collector.errors import CollectorError

# --------------------------------------------------------------------- page geometry

PAGE_WIDTH_IN = 8.5
PAGE_HEIGHT_IN = 11.0
MARGIN_TOP_IN = 0.5
MARGIN_BOTTOM_IN = 1.05  # the footer is laid over this band
MARGIN_SIDE_IN = 0.6
CSS_PX_PER_IN = 96
CONTENT_WIDTH_PX = int((PAGE_WIDTH_IN - 2 * MARGIN_SIDE_IN) * CSS_PX_PER_IN)  # 700
CONTENT_HEIGHT_PX = int((PAGE_HEIGHT_IN - MARGIN_TOP_IN - MARGIN_BOTTOM_IN) * CSS_PX_PER_IN)
SLICE_CAPTION_PX = 130
"""Height reserved above each screenshot slice for its caption (fixed, so pages are exact)."""
SLICE_SLACK_PX = 22
SLICE_MAX_DISPLAY_PX = CONTENT_HEIGHT_PX - SLICE_CAPTION_PX - SLICE_SLACK_PX
MAX_SCREENSHOT_PIXELS = 130_000_000
"""Above the capture's own limit (120 M): a larger PNG is not a screenshot this tool made."""

CHROMIUM = "/usr/bin/chromium"
RENDER_RESOLVER_RULES = "MAP * ~NOTFOUND"
"""The exhibit browser resolves no host name at all."""
STEP_TIMEOUT_S = 120.0
FOOTER_URL_MAX = 110
FOOTER_MAX_BUNDLES = 3
"""Pages shared by the bundles (contents, certification, notice) name at most this many."""
TOC_MAX_PASSES = 5

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'; "
    "object-src 'none'; frame-src 'none'; form-action 'none'; base-uri 'none'"
)

VERIFY_COMMANDS: tuple[tuple[str, str], ...] = (
    ("bagit.py --validate .", 'PyPI "bagit": structure, Payload-Oxum, every hash'),
    (
        "sha256sum -c manifest-sha256.txt",
        "every payload file (sha512sum -c manifest-sha512.txt too)",
    ),
    ("sha256sum -c tagmanifest-sha256.txt", "bagit.txt, bag-info.txt, manifests, signer.pub.pem"),
    (
        "openssl pkeyutl -verify -pubin -inkey signer.pub.pem -rawin \\\n"
        "    -in tagmanifest-sha256.txt -sigfile seal.sig",
        "→ Signature Verified Successfully",
    ),
    (
        "openssl pkey -pubin -in signer.pub.pem -outform DER | sha256sum",
        "→ must equal Signer-Key-Fingerprint in bag-info.txt and the investigator's key in "
        "`collector keys list`",
    ),
    (
        "openssl ts -verify -data seal.sig -in seal.tsr -CAfile TSA-ROOT.pem",
        "→ Verification: OK (the time covers the signature, which covers the tag manifest, "
        "which covers every file)",
    ),
    ("openssl ts -reply -in seal.tsr -text | grep 'Time stamp'", "when"),
    ("warcio check data/traffic.warc.gz", 'PyPI "warcio": WARC digests'),
)
"""The README's "Verifying without this tool" commands, verbatim (a test keeps them equal)."""

REDACTABLE_FIELDS: tuple[str, ...] = (
    "title",
    "text",
    "author_name",
    "author_handle",
    "author_id",
    "page_title",
)
"""Fields a `RedactedView` may replace: the post's own fields, and the page's <title>."""

INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


class RenderFailed(CollectorError):
    """The exhibit could not be rendered; nothing was written."""

    exit_code = 4


