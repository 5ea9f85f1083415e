"""A capture system runs one job: the investigator's recorded, signed request is checked, the
capture is judged as theirs, and the bundle is sealed with the system's own key."""

from __future__ import annotations

from collector import capture as capturing
from collector.errors import CollectorError, Refused, UsageError
from collector.store import jobs
from collector.store.actions import LedgerAction
from collector.store.roles import Action
from collector.store.store import Actor, Store


class AlreadySealed(UsageError):
    """The job was sealed before (by this or another capture system): nothing to do."""

    def __init__(self, job_id: str, bundle_id: str) -> None:
        super().__init__(f"job {job_id} was already sealed as {bundle_id}")
        self.bundle_id = bundle_id


def run(store: Store, system: Actor, job_id: str,
        browser: capturing.BrowserCapture | None = None) -> capturing.CaptureResult:  # fmt: skip
    """Capture and seal job `job_id` as capture system `system`.

    Refused (and recorded) when the ledger holds no request for the job, its signature does not
    hold for the requester's registered key, or the gate refuses the capture now (an authorization
    revoked or expired since the request, a requester retired). AlreadySealed when it was sealed.
    """
    store.require(system, Action.capture_job, subject=job_id)
    signed = jobs.recorded_request(store, job_id)
    if signed is None:
        raise _refused(store, system, job_id, "the ledger holds no capture request for this job")
    done = jobs.sealed_as(store, job_id)
    if done is not None:
        if store.ledger.bundle(done) is None:
            raise CollectorError(f"job {job_id} was claimed for sealing as {done}, but that bundle was "
                                 "never recorded (its worker stopped while sealing); it is not "
                                 "captured twice: request the capture again")  # fmt: skip
        raise AlreadySealed(job_id, done)
    asked = signed.request
    try:
        requested = capturing.requested_for(store, signed)
    except Refused as exc:
        raise _refused(store, system, job_id, str(exc)) from None
    return capturing.run(store, system, asked.url, asked.authorization_id, asked.note,
                         browser=browser, requested=requested)  # fmt: skip


def _refused(store: Store, system: Actor, job_id: str, reason: str) -> Refused:
    store.ledger.record(LedgerAction.capture_refused, "refused", actor=system.user.name,
                        subject=job_id, details={"reason": reason, "code": "request"})  # fmt: skip
    return Refused(f"job {job_id}: {reason}")
