"""The chain of custody: per-bundle, append-only, hash-chained, signed events.

Each event's hash is the SHA-256 of the RFC 8785 canonical JSON of its fields (all but
`hash` and `signature`); its signature is the actor's Ed25519 signature over those same
canonical bytes. The first event's `prev_hash` is the bundle's seal digest (the SHA-256
of `tagmanifest-sha256.txt`), so the log cannot be moved to another bundle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from collector.evidence import keys
from collector.evidence.keys import KeyLookup
from collector.evidence.model import Model, Person


class EventType(StrEnum):
    captured = "captured"
    timestamped = "timestamped"
    verified = "verified"
    viewed = "viewed"
    transferred = "transferred"
    exported = "exported"
    derived = "derived"  # a package made from the bundle (a signed WACZ), with its SHA-256
    disseminated = "disseminated"
    graded = "graded"
    reviewed = "reviewed"
    held = "held"
    released = "released"
    purged = "purged"
    recovered = "recovered"  # a bundle sealed but not recorded when its capture was killed
    moved = "moved"  # brought from a workstation store into an agency store
    requester_reviewed = "requester-reviewed"  # the investigator who requested a worker's capture looked at it


class CustodyEvent(Model):
    bundle_id: str
    seq: int
    type: EventType
    actor: Person
    at: str
    details: dict[str, Any]
    prev_hash: str
    key_fingerprint: str
    hash: str
    signature: str

    def signed_fields(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"hash", "signature"})

    @property
    def time(self) -> datetime:
        return datetime.fromisoformat(self.at)


def timestamp_text(at: datetime) -> str:
    """UTC, microseconds, `Z`: the one spelling of times inside custody events."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(fields: dict[str, Any]) -> bytes:
    return bytes(rfc8785.dumps(fields))


def make_event(
    *,
    bundle_id: str,
    seq: int,
    type: EventType,
    actor: Person,
    key: Ed25519PrivateKey,
    key_fingerprint: str,
    details: dict[str, Any],
    prev_hash: str,
    at: datetime,
) -> CustodyEvent:
    """Build and sign one event."""
    fields: dict[str, Any] = {
        "bundle_id": bundle_id,
        "seq": seq,
        "type": type.value,
        "actor": actor.model_dump(mode="json"),
        "at": timestamp_text(at),
        "details": details,
        "prev_hash": prev_hash,
        "key_fingerprint": key_fingerprint,
    }
    data = canonical(fields)
    return CustodyEvent.model_validate(
        {
            **fields,
            "hash": hashlib.sha256(data).hexdigest(),
            "signature": keys.b64(keys.sign(key, data)),
        }
    )


@dataclass(frozen=True)
class ChainHead:
    count: int
    last_hash: str


@dataclass
class ChainReport:
    ok: bool
    reason: str
    signers: dict[str, str]  # fingerprint -> owner (or "unknown")
    head: ChainHead | None


def verify_chain(
    events: Iterable[CustodyEvent],
    *,
    bundle_id: str,
    anchor: str,
    key_lookup: KeyLookup,
    expected_head: ChainHead | None = None,
) -> ChainReport:
    """Check links, hashes, signatures, signer identity, sequence, times and the anchor.

    `expected_head`, when known (from the ledger or a signed export manifest), catches a
    log cut short: events removed from the end leave a chain that is otherwise valid.
    """
    signers: dict[str, str] = {}
    prev = anchor
    last_time: datetime | None = None
    count = 0
    for position, event in enumerate(events, 1):
        count = position
        where = f"event {position} ({event.type.value})"
        if event.bundle_id != bundle_id:
            return ChainReport(False, f"{where} belongs to bundle {event.bundle_id}", signers, None)
        if event.seq != position:
            return ChainReport(
                False,
                f"{where}: sequence number {event.seq} where {position} was expected"
                " (an event was removed or the events were reordered)",
                signers,
                None,
            )
        data = canonical(event.signed_fields())
        if hashlib.sha256(data).hexdigest() != event.hash:
            return ChainReport(
                False, f"{where}: content does not match its hash (edited)", signers, None
            )
        if event.prev_hash != prev:
            reason = (
                "first event is not anchored to the bundle's seal digest"
                if position == 1
                else "does not link to the previous event (an event was removed, reordered or replaced)"
            )
            return ChainReport(False, f"{where}: {reason}", signers, None)
        key = key_lookup(event.key_fingerprint)
        signers[event.key_fingerprint] = key.owner if key else "unknown"
        if key is None:
            return ChainReport(
                False, f"{where}: signed by key {event.key_fingerprint[:16]}… which is not known",
                signers, None,
            )  # fmt: skip
        if key.owner != event.actor.user:
            return ChainReport(
                False, f"{where}: signed with {key.owner}'s key, not the actor {event.actor.user}'s",
                signers, None,
            )  # fmt: skip
        if not keys.verify(key.public_key_pem.encode(), data, keys.unb64(event.signature)):
            return ChainReport(False, f"{where}: signature does not verify", signers, None)
        when = event.time
        if key.retired_at is not None and when > key.retired_at:
            return ChainReport(False, f"{where}: signed after the key was retired", signers, None)
        if last_time is not None and when < last_time:
            return ChainReport(False, f"{where}: time goes backwards", signers, None)
        last_time = when
        prev = event.hash
    if count == 0:
        return ChainReport(False, "no custody events (not even `captured`)", signers, None)
    head = ChainHead(count, prev)
    if expected_head is not None and head != expected_head:
        if count < expected_head.count:
            reason = f"log cut short: {count} events where {expected_head.count} were recorded"
        else:
            reason = f"chain head differs from the recorded head ({expected_head.count} events)"
        return ChainReport(False, reason, signers, head)
    return ChainReport(True, f"{count} events, links, signatures and times intact", signers, head)
