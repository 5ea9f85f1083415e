"""Making a capture request: the gate judges it now, as the investigator's; the investigator's
key signs it; the ledger records it. A capture system judges it again when it captures."""

from __future__ import annotations

from collector import capture as capturing
from collector.evidence import request as requests
from collector.evidence.model import CaptureRequest
from collector.store.actions import LedgerAction
from collector.store.ledger import now
from collector.store.roles import Action
from collector.store.store import Actor, Store


def make(store: Store, actor: Actor, url: str, auth_id: str | None, note: str | None = None,
         batch_id: str | None = None) -> requests.SignedRequest:  # fmt: skip
    """A signed, recorded request to capture `url` under `auth_id`; Refused (and recorded) when
    the gate would refuse the capture now."""
    store.require(actor, Action.capture, subject=auth_id)
    auth, allowed = capturing.judge(store, actor, url, auth_id)
    at = now()
    asked = CaptureRequest(job_id=requests.new_job_id(at), url=url, authorization_id=auth.id, note=note,
                           batch_id=batch_id, requested_by=actor.user.name,
                           key_fingerprint=actor.user.key_fingerprint, requested_at=at)  # fmt: skip
    signed = requests.sign(asked, actor.key)
    store.ledger.record(LedgerAction.capture_requested, actor=actor.user.name, subject=asked.job_id,
                        details={"signed": signed.model_dump(mode="json"), "url": allowed.url.normalized,
                                 "authorization_id": auth.id, "batch_id": batch_id})  # fmt: skip
    return signed
