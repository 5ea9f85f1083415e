"""The WACZ package's names and versions: one place for them (see the package docstring)."""

from __future__ import annotations

from collector.evidence.bundle import layout as bag

WACZ_VERSION = "1.1.1"
SIGNING_VERSION = "0.1.0"
"""WACZ Signing and Verification, the version `signedData.version` names."""
FORMAT = "collector-wacz/1.0"
"""This tool's own extension of the package (`datapackage.json` field `collector`)."""

DATAPACKAGE = "datapackage.json"
DIGEST = "datapackage-digest.json"
WARC = f"archive/{bag.WARC}"
INDEX = "indexes/index.cdx"
"""The CDXJ index (WACZ names it `.cdx`; pywb and ReplayWeb.page look for that name)."""
PAGES = "pages/pages.jsonl"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
BAG_DIR = "bag"
SIGNER_CHAIN = "signature/archive-signer-chain.pem"

METADATA = f"evidence/{bag.METADATA}"
COPIED = {
    WARC: f"data/{bag.WARC}",
    f"evidence/{bag.SCREENSHOT}": f"data/{bag.SCREENSHOT}",
    METADATA: f"data/{bag.METADATA}",
}
"""Package member -> the bag file it is a byte-for-byte copy of."""

MAX_JSON = 64 * 1024 * 1024
"""The most `datapackage.json`, its digest or a bag tag file may hold when read back."""
