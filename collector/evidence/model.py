"""Pydantic models at the boundaries: what the browser records, what a bundle holds.

`schemas/` is generated from these models (`collector schema --out schemas/`);
a test fails when the committed schemas drift from the code.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal, Protocol

import rfc8785
from pydantic import BaseModel, ConfigDict, Field

from collector.evidence.post import PageState, Post

BUNDLE_FORMAT_VERSION = "1.3"


class Model(BaseModel):
    """Base: unknown fields are an error, so a typo never becomes silent data."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------- browser settings


class BrowserSettings(Model):
    """Everything a capture runs with; hashed into the bundle as the configuration hash."""

    executable_path: str = "/usr/bin/chromium"
    viewport_width: int = Field(1280, ge=320, le=7680)
    viewport_height: int = Field(900, ge=240, le=4320)
    device_scale_factor: float = Field(1.0, ge=0.5, le=4.0)
    locale: str = "en-US"
    timezone_id: str = "UTC"
    user_agent: str | None = Field(
        None, description="Override of the browser's user agent; recorded when set."
    )
    navigation_timeout_s: float = Field(30.0, gt=0)
    settle_timeout_s: float = Field(5.0, ge=0, description="Longest wait for the network to idle.")
    total_timeout_s: float = Field(120.0, gt=0, description="Hard limit for the whole capture.")
    scroll_max_height_px: int = Field(200_000, ge=0)
    scroll_max_time_s: float = Field(30.0, ge=0)
    scroll_idle_ms: int = Field(
        700,
        ge=0,
        description="How long the page must stop growing before scrolling ends (half as long "
        "once nothing is loading or changing on it).",
    )
    host_resolver_rules: str | None = Field(
        None, description="Chromium --host-resolver-rules, e.g. to keep a run hermetic."
    )
    extra_ca_certs: list[str] = Field(
        default_factory=list,
        description="PEM files of extra root CAs trusted by the capture browser (recorded).",
    )
    ignore_https_errors: bool = False
    block_private_network: bool = Field(
        True, description="Abort page requests to private, loopback and link-local addresses."
    )
    script_busy_s: float = Field(
        5.0,
        gt=0,
        description="After the page has loaded, how long its script may keep it from answering "
        "before the capture stops the script and captures what was rendered. Added in 1.3.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Origins (HOST:PORT) let through the private-network rule (policy "
        "`allowed_hosts`, `collector init --allow-host`). Added in 1.3.",
    )
    proxy: str | None = None
    feed_max_items: int = Field(
        1000,
        ge=0,
        description="Stop scrolling once this many feed items were seen (0: no item cap).",
    )
    feed_max_screenshots: int = Field(
        100,
        ge=0,
        le=9999,
        description="Most viewport screenshots (viewport/0001.png, ...) taken while scrolling a "
        "feed (0: none).",
    )
    feed_artifacts: Literal["auto", "always", "never"] = Field(
        "auto",
        description="When to keep the viewport screenshots and feed-items.jsonl: 'auto' when "
        "the feed is virtualised (items seen while scrolling left the DOM), 'always' whenever "
        "feed items were found, 'never'.",
    )
    expand_max_clicks: int = Field(
        50,
        ge=0,
        description="Most 'Show more' / 'See more' expanders clicked per capture (0: none).",
    )
    dismiss_consent: bool = Field(
        True,
        description="Close cookie/consent overlays that match a rule in consent-rules.toml, "
        "preferring 'reject' or 'only necessary'; overlays no rule matches are left in place.",
    )
    load_lazy_images: bool = Field(
        True,
        description="Before the screenshot, switch loading=lazy to eager and fill empty image "
        "sources from data-src/data-srcset.",
    )
    pause_videos: bool = Field(
        True, description="Before the screenshot, pause playing videos and seek them to 0 s."
    )
    platform_json_max: int = Field(
        2000,
        ge=0,
        description="Most JSON responses listed in the capture record's platform_json index "
        "(all stay in the WARC; the number left out is recorded).",
    )
    media_max_items: int = Field(
        50, ge=0, description="Most media items of the post saved as files (0: none)."
    )
    media_max_item_bytes: int = Field(
        200_000_000, ge=0, description="Largest single media file saved (bytes)."
    )
    media_max_total_bytes: int = Field(
        1_000_000_000, ge=0, description="Most bytes of media files saved per capture."
    )
    media_max_time_s: float = Field(
        60.0, ge=0, description="Longest time spent saving media (within the total limit)."
    )
    ffmpeg_path: str = Field(
        "/usr/bin/ffmpeg",
        description="ffmpeg used to assemble HLS/DASH segments into one file (local files only).",
    )


# --------------------------------------------------------------------- capture record


class StepStatus(StrEnum):
    ok = "ok"
    timeout = "timeout"
    failed = "failed"
    skipped = "skipped"


class Step(Model):
    """One named step of a capture, timed."""

    name: str
    started_at: datetime
    ended_at: datetime
    status: StepStatus
    detail: str = ""


ChangeKind = Literal[
    "scroll",
    "dialog-dismissed",
    "popup-closed",
    "download-blocked",
    "request-blocked",
    "connection-blocked",
    "navigation-blocked",
    "scripts-stopped",
    "navigation-timeout",
    "body-unavailable",
    "consent-dismissed",
    "consent-left-in-place",
    "expanded",
    "lazy-images-loaded",
    "video-paused",
    "screenshot-clipped",
]


class PageChange(Model):
    """Something the capture did to or around the page: nothing silent."""

    kind: ChangeKind
    at: datetime
    detail: str


class Header(Model):
    name: str
    value: str


class RedirectHop(Model):
    url: str
    status: int
    location: str | None = None


class ServerAddress(Model):
    ip: str
    port: int


class Certificate(Model):
    subject: str
    issuer: str
    serial_number: str
    not_before: datetime
    not_after: datetime
    sha256_fingerprint: str = Field(description="SHA-256 of the DER certificate, lowercase hex.")
    der_base64: str


class TlsInfo(Model):
    protocol: str | None = None
    issuer: str | None = None
    subject: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    chain: list[Certificate] = Field(
        default_factory=list, description="Leaf first, as the server presented it."
    )
    chain_error: str | None = None


class BrowserInfo(Model):
    name: str
    version: str
    executable_path: str
    headless: bool
    user_agent: str
    user_agent_overridden: bool
    navigator_webdriver: bool | None
    client_hints: list[Header] = Field(
        default_factory=list, description="Sec-CH-UA headers actually sent."
    )
    launch_args: list[str]


class Egress(Model):
    local_address: str | None = Field(
        None, description="Source address the OS routes to the server from (best effort)."
    )
    method: str = ""
    proxy: str | None = None


class WarcRewrite(Model):
    """A change made to a record's HTTP headers so the stored body and headers agree."""

    url: str
    header: str
    original: str | None
    replacement: str | None
    reason: str


RedactionKind = Literal[
    "cookie",
    "authorization",
    "credential-header",
    "set-cookie",
    "url-parameter",
    "form-parameter",
    "stored-cookie",
    "stored-local-storage",
]


class Redaction(Model):
    """Credentials of an alias session replaced in one place of a capture; never the secret.

    The value is replaced by `redacted:hmac-sha256:<16 hex>`: the first 16 hex digits of
    HMAC-SHA256 over the value, keyed with the store's redaction key, so the same secret maps
    to the same digest within a store and cannot be confirmed without the key.
    """

    artifact: str = Field(
        description="File changed (traffic.warc.gz, page.html, ...), or capture-record."
    )
    url: str | None = Field(
        None, description="WARC record's target URI (itself redacted); None outside the WARC."
    )
    where: str = Field(
        description="Part of the record or file: e.g. 'request header', 'target URI', 'body'."
    )
    name: str | None = Field(
        None, description="Header, cookie, parameter or storage key name; None for a body."
    )
    kind: RedactionKind
    digest: str = Field(description="The text that replaced the value.")
    count: int = Field(ge=1, description="Replacements made there.")


class JsonResponse(Model):
    """A JSON response the browser received (often the platform's own post objects).

    The body itself is in the WARC: `warc_record_id` names its response record.
    """

    url: str
    method: str
    status: int
    content_type: str | None
    resource_type: str = Field(description="Chromium's resource type: xhr, fetch, script, ...")
    size: int = Field(description="Bytes of the body as stored in the WARC (decoded).")
    sha256: str = Field(description="SHA-256 of the body as stored in the WARC.")
    warc_record_id: str = Field(description="WARC-Record-ID of the response record.")
    received_at: datetime


class StreamAssembly(Model):
    """An HLS or DASH stream put together from the segments the page loaded."""

    url: str = Field(description="The stream's manifest URL, as the post gives it.")
    format: Literal["hls", "dash"]
    playlists: list[str] = Field(
        default_factory=list, description="Media playlists or representations used."
    )
    segments_listed: int = 0
    segments_used: int = Field(0, description="Segments the page loaded and the file holds.")
    missing: list[str] = Field(
        default_factory=list, description="Listed segments the page did not load (first 20)."
    )
    artifact: str | None = Field(None, description="Path under data/ of the assembled file.")
    sha256: str | None = None
    ffmpeg_version: str | None = None
    ffmpeg_command: list[str] = Field(
        default_factory=list, description="The command run; <scratch> stands for its directory."
    )
    note: str = Field("", description="Complete, partial, or why nothing was assembled.")


class NetworkSummary(Model):
    requests: int = 0
    responses: int = 0
    failed: int = 0
    blocked: int = 0
    bodies_unavailable: int = 0
    warc_records: int = 0


class ViewportShot(Model):
    """One viewport screenshot taken while scrolling a feed."""

    path: str = Field(description="Relative to data/: viewport/0001.png, viewport/0002.png, ...")
    scroll_y: int = Field(description="window.scrollY (CSS px) when it was taken.")
    taken_at: datetime
    new_items: int = Field(ge=0, description="Feed items first seen at this scroll position.")


FeedStop = Literal["idle", "max-items", "max-height", "max-time", "interrupted", "not-scrolled"]


class FeedRecord(Model):
    """Feed items (posts, replies, comments) seen while scrolling; docs/FORMAT.md."""

    selectors: list[str] = Field(description="The item selectors that matched, in list order.")
    items_seen: int = Field(ge=0, description="Distinct items (by key) seen while scrolling.")
    items_in_final_dom: int = Field(ge=0, description="Of those, items still in the final DOM.")
    items_missing_from_final_dom: int = Field(ge=0)
    virtualised: bool = Field(
        description="Items seen while scrolling were gone from the final DOM: page.html and the "
        "full-page screenshot do not show the whole feed."
    )
    rescanned: bool = Field(
        description="Virtualisation was noticed while scrolling, so the feed was scanned again "
        "from the top in viewport-sized steps."
    )
    complete: bool = Field(
        description="Scrolling ended because the page stopped growing, not at a cap or an error."
    )
    stop_reason: FeedStop
    items_artifact: str | None = Field(
        None, description="feed-items.jsonl when written (see feed_artifacts)."
    )
    screenshots_taken: int = Field(ge=0)
    screenshots_capped: bool = Field(description="feed_max_screenshots stopped the sequence.")
    screenshots: list[ViewportShot] = Field(
        default_factory=list, description="The viewport screenshots in the bundle, in order."
    )
    note: str = Field("", description="Why the artifacts were or were not kept.")


class CaptureRecord(Model):
    """What one browser session recorded. Files live in the work directory given to it."""

    requested_url: str
    final_url: str
    status: int | None
    redirects: list[RedirectHop]
    request_headers: list[Header]
    response_headers: list[Header]
    server: ServerAddress | None
    tls: TlsInfo | None
    title: str
    started_at: datetime
    ended_at: datetime
    browser: BrowserInfo
    viewport: dict[str, int]
    locale: str
    timezone_id: str
    egress: Egress
    page_width: int
    page_height: int
    steps: list[Step]
    changes: list[PageChange]
    warc_rewrites: list[WarcRewrite]
    network: NetworkSummary
    artifacts: list[str] = Field(description="File names written into the work directory.")
    redactions: list[Redaction] = Field(
        default_factory=list,
        description="Alias credentials replaced in the stored files (empty for a public capture).",
    )
    page_state: PageState | None = Field(
        None, description="What the page showed: content, a login wall, a deleted post, ..."
    )
    post: Post | None = Field(
        None, description="The post's own identifiers, read from the page's data (see FORMAT.md)."
    )
    feed: FeedRecord | None = Field(
        None, description="Feed items seen while scrolling; None when the page had none."
    )
    platform_json: list[JsonResponse] = Field(
        default_factory=list,
        description="Index of the JSON responses in the WARC (API, XHR and fetch responses).",
    )
    platform_json_omitted: int = Field(
        0, ge=0, description="JSON responses in the WARC left out of platform_json by its cap."
    )
    streams: list[StreamAssembly] = Field(
        default_factory=list, description="HLS/DASH streams of the post assembled with ffmpeg."
    )


# --------------------------------------------------------------------- bundle metadata


class Artifact(Model):
    path: str = Field(description="Path relative to the bag's data/ directory.")
    role: str
    size: int
    mime_type: str
    sha256: str
    sha512: str
    width: int | None = None
    height: int | None = None


class Person(Model):
    user: str
    full_name: str
    badge: str


class Conditions(Model):
    """Terms of an authorization beyond the predicate, all covered by the approval signature."""

    engagement: Literal["public", "alias"] = "public"
    alias: str | None = None
    nexus: str | None = Field(
        None, description="How protected-category content relates to the criminal conduct."
    )
    allow_personal_equipment: bool = False
    exigent: bool = False


class AuthorizationSummary(Model):
    id: str
    case_number: str
    predicate: str
    standard: str
    purpose: str
    facts: str
    scopes: list[str]
    retention_class: str
    valid_from: datetime
    valid_until: datetime
    investigators: list[str]
    conditions: Conditions = Field(default_factory=Conditions)
    requested_by: Person
    requested_at: datetime
    approved_by: Person | None = Field(None, description="None for an exigent capture.")
    approved_at: datetime | None = None
    approval_signature: str | None = Field(
        None, description="Base64 Ed25519 signature of the approver."
    )
    approver_key_fingerprint: str | None = None

    def signed_fields(self) -> dict[str, object]:
        """The fields the approver signed, rebuilt from the bundle (see docs/FORMAT.md)."""
        return approval_fields(
            self.id, self.case_number, self.predicate, self.standard, self.purpose, self.facts,
            self.scopes, self.retention_class, self.investigators, self.requested_by.user,
            self.requested_at, self.approved_by.user if self.approved_by else None,
            self.approved_at, self.valid_from, self.valid_until, self.conditions,
        )  # fmt: skip


class ToolInfo(Model):
    name: str
    version: str
    configuration_sha256: str = Field(
        description="SHA-256 of the canonical JSON of the browser settings used."
    )
    configuration: BrowserSettings


class ClockReport(Model):
    """Where a capture's times come from, measured just before (or after) the capture."""

    source: str = Field(
        "local system clock", description="Where times come from: the local system clock."
    )
    timezone: str = Field(description="The machine's time zone, an IANA name when known.")
    utc_offset_s: int = Field(description="Local time minus UTC, seconds, at measured_at.")
    ntp_server: str | None = Field(description="host:port queried; None when not configured.")
    ntp_offset_s: float | None = Field(
        None, description="NTP server time minus local clock, seconds (positive: local is behind)."
    )
    ntp_delay_s: float | None = Field(None, description="Round-trip delay of the NTP query.")
    ntp_stratum: int | None = None
    ntp_error: str | None = Field(None, description="Why the NTP query failed, if it did.")
    measured_at: datetime = Field(description="When this report was made (UTC, local clock).")
    warnings: list[str] = Field(default_factory=list)


class TimestampPlan(Model):
    """What the seal's time rests on, as decided before sealing."""

    configured: bool
    authorities: list[str] = Field(default_factory=list)
    roots_sha256: list[str] = Field(default_factory=list)
    statement: str


class MachineRecord(Model):
    """The machine a capture ran on, as recorded in the bundle."""

    host_name: str
    machine_id: str = Field(description="SHA-256 of /etc/machine-id (the raw id is not exposed).")
    equipment_id: str | None
    kind: Literal["agency", "personal", "unregistered"]
    description: str | None = None


class Match(Model):
    """The policy terms of one category found in the screened text."""

    category: str
    terms: list[str] = Field(description="The policy terms that matched, sorted, unique.")
    count: int = Field(ge=1, description="Places in the text where the category matched.")
    excerpts: list[str] = Field(description="Up to three snippets of the text around a match.")


class ScreeningResult(Model):
    """What the screen found in a page's text. Describes the text, never a person."""

    matched: bool
    matches: list[Match] = Field(description="One per category that matched, by category name.")
    text_sha256: str = Field(description="SHA-256 of the screened text, UTF-8.")
    characters: int = Field(ge=0, description="Length of the screened text in code points.")
    policy_terms_sha256: str = Field(
        description="SHA-256 of the RFC 8785 canonical JSON of the categories screened for."
    )


class ScreeningRecord(Model):
    """Information limitations (28 CFR 23.20(b)): what screening found and what followed."""

    result: ScreeningResult
    nexus: str | None = Field(None, description="The authorization's nexus statement, if any.")
    disposition: Literal["clear", "nexus-stated", "quarantined"]
    review_due: datetime | None = None


class PolicyStamp(Model):
    """Which version of the agency policy the capture ran under."""

    version: str
    sha256: str = Field(description="SHA-256 of the RFC 8785 canonical JSON of the [policy] table.")
    last_reviewed: date


REQUEST_FORMAT: Literal["collector-capture-request/1"] = "collector-capture-request/1"
JOB_ID_PATTERN = r"^[JW]-[0-9]{8}T[0-9]{6}Z-[0-9A-F]{12}$"
"""A job (`J-…`, one capture) or a watch (`W-…`, a capture repeated on a schedule)."""


class Repeat(Model):
    """A watch's schedule, part of its signed request: capture again every `every_s` seconds
    until `until` (never past the authorization's end)."""

    every_s: int = Field(ge=1)
    until: datetime


class CaptureRequest(Model):
    """What an investigator asked a capture system to capture: the fields they sign
    (`collector.evidence.request`). Carried by bundles sealed by a capture system, from 1.5."""

    format: Literal["collector-capture-request/1"] = "collector-capture-request/1"
    job_id: str = Field(pattern=JOB_ID_PATTERN)
    url: str = Field(max_length=8192)
    authorization_id: str = Field(max_length=200)
    note: str | None = Field(None, max_length=4000)
    batch_id: str | None = Field(None, max_length=200)
    requested_by: str = Field(max_length=64)
    key_fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")
    requested_at: datetime
    repeat: Repeat | None = Field(None, description="A watch: the same capture on a schedule.")

    def canonical(self) -> bytes:
        """The signed bytes (and `request.json`'s content)."""
        return bytes(rfc8785.dumps(self.model_dump(mode="json")))


class Metadata(Model):
    """`data/metadata.json`: everything known about one capture."""

    format_version: str = BUNDLE_FORMAT_VERSION
    bundle_id: str
    case_number: str
    authorization: AuthorizationSummary
    retention_class: str
    engagement: Literal["public", "alias"] = "public"
    virtual_identity: str = "none: public, logged out"
    exigent: bool = False
    policy: PolicyStamp
    screening: ScreeningRecord
    operator: Person
    note: str | None = None
    requested_as: str | None = Field(
        None,
        description="The URL as the investigator typed it, when its WHATWG normalisation "
        "(`capture.requested_url`, what was judged and loaded) differs. Added in 1.3.",
    )
    host_name: str
    machine: MachineRecord
    clock: ClockReport
    timestamping: TimestampPlan
    tool: ToolInfo
    capture: CaptureRecord
    artifacts: list[Artifact]
    request: CaptureRequest | None = Field(
        None,
        description="The investigator's signed request, when a capture system sealed the bundle "
        "(the signature is request.sig; `operator` is then the capture system). Added in 1.5.",
    )
    run: int | None = Field(
        None, ge=1, description="The run of a watch (a request with `repeat`): 1, 2, … Added in 1.5."
    )


class AuthorizationSummaryBefore12(AuthorizationSummary):
    """The authorization as 1.0 and early 1.1 bundles recorded it, before `conditions`.

    Approvals signed then did not cover `conditions` (the field did not exist), so the signed
    fields leave it out when the bundle has none.
    """

    def signed_fields(self) -> dict[str, object]:
        fields = super().signed_fields()
        if "conditions" not in self.model_fields_set:
            del fields["conditions"]
        return fields


class MetadataBefore12(Metadata):
    """`metadata.json` as bundles 1.0 and 1.1 wrote it.

    `policy`, `machine` (and `exigent`) were added while 1.1 was written, and `screening`
    soon after, without a version change, so bundles of 1.0 and early 1.1 lack them; they
    are absent there, never filled in. Everything else reads as in 1.2.
    """

    authorization: AuthorizationSummaryBefore12
    policy: PolicyStamp | None = None  # type: ignore[assignment]
    screening: ScreeningRecord | None = None  # type: ignore[assignment]
    machine: MachineRecord | None = None  # type: ignore[assignment]


METADATA_MODELS: dict[str, type[Metadata]] = {
    "collector-bundle/1.0": MetadataBefore12,
    "collector-bundle/1.1": MetadataBefore12,
    "collector-bundle/1.2": Metadata,
    "collector-bundle/1.3": Metadata,
    "collector-bundle/1.4": Metadata,
    "collector-bundle/1.5": Metadata,
}
"""How each bundle format's metadata.json is read (every format this tool ever wrote)."""


def metadata_model(bundle_format: str | None) -> type[Metadata]:
    """The model for a bundle's `Bundle-Format`; an unknown one is read as the newest."""
    return METADATA_MODELS.get(bundle_format or "", Metadata)


def approval_fields(
    id: str,
    case_number: str,
    predicate: str,
    standard: str,
    purpose: str,
    facts: str,
    scopes: list[str],
    retention_class: str,
    investigators: list[str],
    requested_by: str,
    requested_at: datetime,
    approved_by: str | None,
    approved_at: datetime | None,
    valid_from: datetime | None,
    valid_until: datetime | None,
    conditions: Conditions,
) -> dict[str, object]:
    """The one definition of what an approval signature covers (RFC 8785 over this dict)."""
    return {
        "id": id,
        "case_number": case_number,
        "predicate": predicate,
        "standard": standard,
        "purpose": purpose,
        "facts": facts,
        "scopes": scopes,
        "retention_class": retention_class,
        "investigators": investigators,
        "requested_by": requested_by,
        "requested_at": _iso(requested_at),
        "approved_by": approved_by,
        "approved_at": _iso(approved_at),
        "valid_from": _iso(valid_from),
        "valid_until": _iso(valid_until),
        "conditions": conditions.model_dump(mode="json"),
    }


class Approvable(Protocol):
    def signed_fields(self) -> dict[str, object]: ...


def approval_payload(auth: Approvable) -> bytes:
    """The exact bytes an approver signs (RFC 8785 canonical JSON of `signed_fields()`)."""
    return bytes(rfc8785.dumps(auth.signed_fields()))  # type: ignore[arg-type]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
