"""Trusted time for seals: the store's authorities, pending stamps and late retries.

A seal's token (`seal.tsr`) stamps `seal.sig`. When no authority answers at sealing the
bundle is still sealed (the evidence is preserved) and its stamp is *pending*; a later
`timestamp retry` obtains the token and appends it as a signed `timestamped` custody
event, because a sealed bundle never changes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import Field

from collector.errors import CollectorError, IntegrityError, UsageError
from collector.evidence.bundle import layout
from collector.evidence.bundle.seal import Stamper
from collector.evidence.custody import CustodyEvent, EventType
from collector.evidence.keys import b64
from collector.evidence.model import Metadata, Model, TimestampPlan
from collector.evidence.timestamp import (
    Attempt,
    TimestampInfo,
    TimestampUnavailable,
    request_timestamp,
)
from collector.store import custody_log as services
from collector.store import storage
from collector.store.actions import LedgerAction
from collector.store.roles import Action
from collector.store.store import Actor, Store


class StampOutcome(Model):
    status: Literal["stamped", "pending", "not-configured"]
    gen_time: datetime | None = None
    url: str | None = None
    info: TimestampInfo | None = Field(
        None, description="The token's details, its signer's certificate chain included."
    )
    attempts: list[Attempt] = Field(default_factory=list)
    error: str | None = None


def plan(store: Store) -> TimestampPlan:
    """What the bundle will say about its time, written before sealing."""
    cfg = store.config.timestamp
    if not cfg.configured:
        return TimestampPlan(
            configured=False,
            statement="No time-stamp authority is configured: the capture time rests on the "
            "local clock of the capturing machine only.",
        )
    return TimestampPlan(
        configured=True,
        authorities=cfg.urls,
        roots_sha256=[hashlib.sha256(pem).hexdigest() for pem in store.tsa_roots()],
        statement="An RFC 3161 time-stamp over seal.sig is requested from the authorities "
        "listed, in order; it is seal.tsr, or a later `timestamped` custody event.",
    )


def stamper(store: Store) -> tuple[Stamper | None, StampOutcome]:
    """A stamper for `seal()`, and the outcome it fills in when called."""
    outcome = StampOutcome(status="not-configured")
    cfg = store.config.timestamp
    if not cfg.configured:
        return None, outcome

    def stamp(signature: bytes) -> bytes | None:
        try:
            token, info, attempts = request_timestamp(
                signature, cfg.urls, store.tsa_roots(), cfg.timeout_s
            )
        except TimestampUnavailable as exc:
            outcome.status = "pending"
            outcome.attempts = exc.attempts
            outcome.error = str(exc)
            return None
        outcome.status = "stamped"
        outcome.gen_time = info.gen_time
        outcome.url = info.url
        outcome.info = info
        outcome.attempts = attempts
        return token

    return stamp, outcome


def has_token(store: Store, bundle_id: str) -> bool:
    """The bundle has a token: seal.tsr, or a later `timestamped` custody event. A bundle whose
    `captured` event says it was stamped at sealing counts too: if its seal.tsr is gone, that is
    a loss for `verify` to report, not a stamp to obtain again."""
    row = store.ledger.bundle(bundle_id)
    if row is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    if storage.has_file(store, row, layout.TIMESTAMP):
        return True
    return any(
        e.type is EventType.timestamped
        or (e.type is EventType.captured and e.details.get("timestamp") == "stamped")
        for e in store.ledger.custody(bundle_id)
    )


def pending(store: Store) -> list[str]:
    """Bundles sealed while an authority was configured that still have no token."""
    found = []
    for row in store.ledger.bundles():
        try:
            meta = Metadata.model_validate_json(storage.bundle_file(store, row, f"data/{layout.METADATA}"))
        except (OSError, ValueError, CollectorError):
            continue  # purged, or unreadable: `verify` says which
        if meta.timestamping.configured and not has_token(store, row.id):
            found.append(row.id)
    return found


def targets(store: Store, bundle_ids: list[str] | None) -> list[str]:
    """What `timestamp retry` works on: the bundles named, else every pending one."""
    return list(bundle_ids) if bundle_ids else pending(store)


def retry(store: Store, actor: Actor, bundle_id: str) -> CustodyEvent:
    """Obtain the missing token for a pending bundle and append it to its custody log."""
    store.require(actor, Action.timestamp, subject=bundle_id)
    cfg = store.config.timestamp
    if not cfg.configured:
        raise UsageError("no time-stamp authority is configured in this store")
    if has_token(store, bundle_id):
        row = store.ledger.bundle(bundle_id)
        if row is not None and not storage.has_file(store, row, layout.TIMESTAMP):
            raise IntegrityError(f"{bundle_id} was stamped at sealing but its seal.tsr is missing: "
                                 "run `collector verify` and restore the bundle from a copy")  # fmt: skip
        raise UsageError(f"{bundle_id} already has a time-stamp")
    row = store.ledger.bundle(bundle_id)
    assert row is not None
    signature = storage.bundle_file(store, row, layout.SIGNATURE)
    try:
        token, info, attempts = request_timestamp(
            signature, cfg.urls, store.tsa_roots(), cfg.timeout_s
        )
    except TimestampUnavailable as exc:
        store.ledger.record(
            LedgerAction.timestamp_retry, "failed", actor=actor.user.name, subject=bundle_id,
            details={"attempts": [a.model_dump(mode="json") for a in exc.attempts]},
        )  # fmt: skip
        raise
    return services.append(
        store,
        actor,
        bundle_id,
        EventType.timestamped,
        {
            "token": b64(token),
            "gen_time": info.gen_time.isoformat(),
            "authority": info.url,
            "stamps": layout.SIGNATURE,
            "message_imprint": info.message_imprint,
            "tsa_name": info.tsa_name,
            "serial_number": info.serial_number,
            "chain": info.chain,
            "attempts": [a.model_dump(mode="json") for a in attempts],
        },
    )
