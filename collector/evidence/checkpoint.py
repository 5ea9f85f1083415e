"""A ledger checkpoint: a signed, RFC 3161 time-stamped statement of how many events a store's
ledger held and the hash of the last one. A copy held where the store's writer cannot reach it
(an export's recipient, write-once media) proves later that the ledger still extends it: an
event deleted, changed or re-hashed below the checkpoint changes the hash it names.

The file is JSON: `statement` (RFC 8785 canonical JSON is what is signed), the signer, the
Ed25519 `signature` (base64) and `timestamp`, an RFC 3161 token over the signature bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import rfc8785
from pydantic import Field

from collector.evidence import keys
from collector.evidence.keys import KeyLookup
from collector.evidence.model import Model
from collector.evidence.timestamp import TimestampInvalid, verify_timestamp

FORMAT = "collector-checkpoint/1.0"


class Statement(Model):
    format: str = FORMAT
    agency: str
    store_id: str
    event_count: int = Field(ge=0, description="Events in the ledger: the last one's seq.")
    head_hash: str = Field(description="The hash of event `event_count`.")
    made_at: datetime
    reason: str = Field(description="capture, export, exhibit, interval, init, upgrade, request")


class Checkpoint(Model):
    statement: Statement
    signer: str = Field(description="The user whose key signed (`system`: the store's own key).")
    key_fingerprint: str
    signature: str
    timestamp: str | None = Field(None, description="RFC 3161 token over the signature, base64.")
    timestamp_status: Literal["stamped", "pending", "not-configured"]

    def signed_bytes(self) -> bytes:
        return signed_bytes(self.statement)


def signed_bytes(statement: Statement) -> bytes:
    return bytes(rfc8785.dumps(statement.model_dump(mode="json")))


class CheckpointCheck(Model):
    ok: bool
    detail: str
    warning: bool = False
    stamped_at: datetime | None = None


def check(checkpoint: Checkpoint, key_lookup: KeyLookup, tsa_roots: list[bytes]) -> CheckpointCheck:
    """The checkpoint's signature (by a known key of the named signer) and its time-stamp."""
    st = checkpoint.statement
    what = f"{st.event_count} events, head {st.head_hash[:16]}…"
    key = key_lookup(checkpoint.key_fingerprint)
    if key is None:
        return CheckpointCheck(ok=False, detail=f"{what}: signed by an unknown key "
                               f"{checkpoint.key_fingerprint[:16]}…")  # fmt: skip
    if key.owner != checkpoint.signer:
        return CheckpointCheck(ok=False, detail=f"{what}: the key is {key.owner}'s, not "
                               f"{checkpoint.signer}'s")  # fmt: skip
    try:
        signature = keys.unb64(checkpoint.signature)
    except ValueError:
        signature = b""
    if not keys.verify(key.public_key_pem.encode(), checkpoint.signed_bytes(), signature):
        return CheckpointCheck(ok=False, detail=f"{what}: the signature does not verify (altered?)")
    signed = f"{what}, signed by {checkpoint.signer} at {st.made_at:%Y-%m-%d %H:%M:%SZ}"
    if checkpoint.timestamp is None:
        return CheckpointCheck(ok=True, detail=f"{signed}; not time-stamped "
                               f"({checkpoint.timestamp_status})", warning=True)  # fmt: skip
    if not tsa_roots:
        return CheckpointCheck(ok=True, detail=f"{signed}; time-stamp not checked (no trusted "
                               "authority root)", warning=True)  # fmt: skip
    try:
        info = verify_timestamp(keys.unb64(checkpoint.timestamp), signature, tsa_roots)
    except (TimestampInvalid, ValueError) as exc:
        return CheckpointCheck(ok=False, detail=f"{what}: time-stamp: {exc}")
    return CheckpointCheck(
        ok=True,
        detail=f"{signed}; stamped {info.gen_time:%Y-%m-%d %H:%M:%SZ} by {info.tsa_name}",
        stamped_at=info.gen_time,
    )
