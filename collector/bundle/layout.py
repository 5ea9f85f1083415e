"""The bundle's file names and bag-info fields: one place for the layout (docs/FORMAT.md)."""

from __future__ import annotations

FORMAT = "collector-bundle/1.1"

METADATA = "metadata.json"
SCREENSHOT = "screenshot.png"
DOM = "page.html"
RAW_HTML = "response.html"
MHTML = "page.mhtml"
WARC = "traffic.warc.gz"

ARTIFACT_ROLES = {
    SCREENSHOT: "full-page screenshot",
    DOM: "rendered DOM after scripts",
    RAW_HTML: "main document bytes as received",
    MHTML: "MHTML snapshot",
    WARC: "WARC of all traffic",
}

SIGNATURE = "seal.sig"
TIMESTAMP = "seal.tsr"
SIGNER_KEY = "signer.pub.pem"
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
