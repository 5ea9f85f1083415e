"""What the API returns. Sealed and recorded records (authorizations, custody events,
verification reports, the post and page state) are returned in their own models, exactly as
`--json` prints them; the bundle summaries are gathered here."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

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
