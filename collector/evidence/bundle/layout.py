"""The bundle's file names and bag-info fields: one place for the layout (docs/FORMAT.md)."""

from __future__ import annotations

import re
from typing import TypeVar, overload

_T = TypeVar("_T")

FORMAT = "collector-bundle/1.5"
"""The format this version writes (docs/FORMAT.md, "Versions")."""
READABLE_FORMATS = frozenset(
    {
        "collector-bundle/1.0",
        "collector-bundle/1.1",
        "collector-bundle/1.2",
        "collector-bundle/1.3",
        "collector-bundle/1.4",
        FORMAT,
    }
)
WITHOUT_CERTIFICATE = frozenset(READABLE_FORMATS - {"collector-bundle/1.4", FORMAT})
"""Formats whose bag carries no signer certificate (`signer-chain.pem`, from 1.4)."""
"""Every format this tool ever wrote: `verify` reads them all (`model.metadata_model`)."""

BUNDLE_ID_PATTERN = r"^B-[0-9]{8}T[0-9]{6}Z-[0-9A-F]{8}$"
"""A bundle id: `B-<UTC capture start>-<8 random hex digits>`; also its directory's name."""
BUNDLE_ID = re.compile(BUNDLE_ID_PATTERN)

METADATA = "metadata.json"
SCREENSHOT = "screenshot.png"
DOM = "page.html"
RAW_HTML = "response.html"
MHTML = "page.mhtml"
WARC = "traffic.warc.gz"
FEED_ITEMS = "feed-items.jsonl"
VIEWPORT_DIR = "viewport"
VIEWPORT_ROLE = "viewport screenshot taken while scrolling a feed (numbered in order)"
_VIEWPORT_NAME = re.compile(rf"{VIEWPORT_DIR}/\d{{4}}\.png")
MEDIA_DIR = "media"
MEDIA_ROLE = "media file of the post (image, video, audio, or an assembled stream)"
_MEDIA_NAME = re.compile(rf"{MEDIA_DIR}/\d{{3,}}-[A-Za-z0-9_-]+\.[a-z0-9]{{1,8}}")


def viewport_name(number: int) -> str:
    """The n-th viewport screenshot of a feed, relative to data/: viewport/0001.png, ..."""
    return f"{VIEWPORT_DIR}/{number:04d}.png"


class _ArtifactRoles(dict[str, str]):
    """Roles by file name; the numbered viewport screenshots are matched by their pattern."""

    def __missing__(self, key: str) -> str:
        if _VIEWPORT_NAME.fullmatch(key):
            return VIEWPORT_ROLE
        if _MEDIA_NAME.fullmatch(key):
            return MEDIA_ROLE
        raise KeyError(key)

    @overload
    def get(self, key: str, default: None = None, /) -> str | None: ...
    @overload
    def get(self, key: str, default: str, /) -> str: ...
    @overload
    def get(self, key: str, default: _T, /) -> str | _T: ...
    def get(self, key: str, default: object = None, /) -> object:
        try:
            return self[key]
        except KeyError:
            return default


ARTIFACT_ROLES = _ArtifactRoles(
    {
        SCREENSHOT: "full-page screenshot",
        DOM: "rendered DOM after scripts",
        RAW_HTML: "main document bytes as received",
        MHTML: "MHTML snapshot",
        WARC: "WARC of all traffic",
        FEED_ITEMS: "feed items collected while scrolling (one JSON object per line)",
    }
)


def artifact_role(name: str) -> str:
    """The role recorded for an artifact path (relative to data/)."""
    return ARTIFACT_ROLES.get(name, "artifact")


SIGNATURE = "seal.sig"
TIMESTAMP = "seal.tsr"
SIGNER_KEY = "signer.pub.pem"
SIGNER_CHAIN = "signer-chain.pem"
REQUEST = "request.json"
REQUEST_SIGNATURE = "request.sig"
REQUESTER_KEY = "requester.pub.pem"
REQUESTER_CHAIN = "requester-chain.pem"
REQUEST_FILES = (REQUEST, REQUEST_SIGNATURE, REQUESTER_KEY, REQUESTER_CHAIN)
"""A bundle sealed by a capture system (from 1.5): the investigator's signed request, their key
and certificate chain; tag files covered by the tag manifests, hence by the seal."""
"""The signer's certificate then its issuing CA's (PEM), from format 1.4."""
SIGNED_FILE = "tagmanifest-sha256.txt"
ALGORITHMS = ("sha256", "sha512")
# Files at the bag root that the tag manifests do not (and cannot) list.
UNLISTED_TAG_FILES = {SIGNATURE, TIMESTAMP, "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"}

REQUIRED_BAG_INFO = (
    "Bundle-Format",
    "External-Identifier",
    "Case-Number",
    "Authorization-Id",
    "Authorizing-Officer",
    "Retention-Class",
    "Operator",
    "Source-URL",
    "Capture-Time",
    "Signer-Key-Fingerprint",
)
