"""What an exhibit packet is made of: verified bundles, recomputed hashes, custody, declarant.

`collector.exhibit.assemble` builds a `Packet` only from bundles that verify and whose
hashes, recomputed now, match the acquisition hashes; rendering works from the `Packet`
alone and never reads the captured page's HTML.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import Field

from collector.disclosure.profiles import Profile
from collector.evidence.custody import CustodyEvent
from collector.evidence.model import Metadata, Model, Person


class Declarant(Model):
    person: Person
    role: str
    profile: Profile


class HashCheck(Model):
    """One file of a bundle: its acquisition hash and the hash recomputed for the exhibit."""

    path: str = Field(description="Path under the bundle's data/ directory.")
    size: int
    acquired_sha256: str = Field(description="From metadata.json and the signed manifest.")
    recomputed_sha256: str
    match: bool


class LedgerRef(Model):
    """A ledger row a statement rests on."""

    id: int
    action: str
    at: str
    actor: str | None = None


class ExhibitItem(Model):
    """One bundle of the packet, checked."""

    bundle_id: str
    bundle_path: Path
    metadata: Metadata
    seal_sha256: str = Field(description="SHA-256 of tagmanifest-sha256.txt (what seal.sig signs).")
    verify_checks: list[str] = Field(description="The verify checklist, one line per check.")
    hashes: list[HashCheck]
    hashes_checked_at: datetime
    custody: list[CustodyEvent]
    ledger: dict[str, LedgerRef] = Field(
        default_factory=dict,
        description="Statement key (captured, approved, verified, ...) -> the ledger row it cites.",
    )
    captured_by: Person
    authorized_by: Person | None

    @property
    def screenshot(self) -> Path:
        return self.bundle_path / "data" / "screenshot.png"


class Packet(Model):
    number: str = Field(description="Exhibit number, e.g. '12' or 'GX-12'.")
    case_number: str
    agency: str
    items: list[ExhibitItem]
    declarant: Declarant
    jurisdiction: str = "us-federal"
    bates_prefix: str = ""
    bates_start: int = 1
    bates_digits: int = 6
    generated_at: datetime
    tool_name: str
    tool_version: str
    recipient: str | None = None
    reason: str | None = None
    prepared_by: Person | None = Field(
        None,
        description="Who ran the export that recomputed the hashes (the certification names "
        "this person as having recomputed them); the declarant when None.",
    )
