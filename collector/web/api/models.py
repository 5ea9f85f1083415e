"""What the API returns. Sealed and recorded records (authorizations, custody events,
verification reports, the post and page state) are returned in their own models, exactly as
`--json` prints them; the bundle summaries are gathered here."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, SecretStr

from collector.evidence.model import Artifact, Person
from collector.evidence.post import PageState, Post


class BundleSummary(BaseModel):
    """One bundle as the ledger lists it."""

    id: str
    case_number: str
    authorization_id: str
    source_url: str = Field(description="The URL as requested (captured text: treat as data).")
    captured_by: str
    created_at: datetime
    custodian: str | None = Field(description="Who holds it now (None: its custody log is unreadable).")


class BundleDetail(BundleSummary):
    """A bundle's metadata summary, as `collector show` prints it, with the post and page state."""

    format_version: str
    title: str = Field(description="The page's title as captured (untrusted text).")
    requested_url: str
    final_url: str
    http_status: int | None
    started_at: datetime
    ended_at: datetime
    operator: Person
    approved_by: Person | None = Field(description="None for an exigent capture.")
    retention_class: str
    exigent: bool
    page_state: PageState | None
    page_state_line: str | None = Field(description="The page state as `collector show` words it.")
    post: Post | None
    artifacts: list[Artifact]


class Problem(BaseModel):
    """Every refusal or error: why, in one line."""

    detail: str


class CaptureUrl(BaseModel):
    url: str = Field(description="The page to capture, as `collector capture --from` reads a list's line.")
    note: str | None = Field(None, description="The investigator's note for this URL (recorded).")


class CaptureRequest(BaseModel):
    """A batch of capture requests, each signed by the caller's key: the passphrase unlocks it
    for this call only (a token alone never signs)."""

    authorization: str = Field(description="The approved authorization every URL is judged against.")
    urls: list[CaptureUrl] = Field(min_length=1, max_length=1000)
    note: str | None = Field(None, description="The note for URLs without one.")
    concurrency: int = Field(1, ge=1, description="Captures at once (workstation store; at most the batch limit).")
    passphrase: SecretStr = Field(description="The caller's passphrase: the requests are signed with their key.")


class BatchItem(BaseModel):
    number: int
    url: str = Field(description="As requested (untrusted text).")
    note: str | None
    state: str = Field(description="queued, running, captured, refused or failed.")
    detail: str = Field(description="The gate's reason for a refusal, or why a capture failed.")
    job_id: str | None
    bundle_id: str | None
    page_state: str | None = Field(description="The captured page's state as `collector show` words it.")


class BatchProgress(BaseModel):
    """A capture batch as it stands, from its ledger rows (and the queue on an agency store)."""

    id: str
    authorization_id: str
    started_by: str
    started_at: datetime
    queued_for_workers: bool
    finished: bool
    counts: dict[str, int]
    items: list[BatchItem]
