"""Every action name the ledger records: one enum shared by every writer and every reader.

A ledger row's `action` is one of these values. Writers pass a member (the ledger takes
nothing else); readers such as the audit report match members, so renaming one renames it
everywhere or fails the type check. Rows written by earlier versions keep their text, and
`LedgerEvent.action` stays a string so that an unknown name is still readable.
"""

from __future__ import annotations

from enum import StrEnum, unique

from collector.evidence.custody import EventType
from collector.store.roles import Action


@unique
class LedgerAction(StrEnum):
    # the store
    store_init = "store.init"
    store_upgrade = "store.upgrade"
    store_imported = "store.imported"  # a workstation store moved into this agency store
    user_add = "user.add"
    user_retire = "user.retire"
    user_profile = "user.profile"
    auth_login = "auth.login"
    user_role = "user.role"
    pki_authority = "pki.authority"
    pki_issued = "pki.issued"
    pki_revoked = "pki.revoked"
    pki_root_exported = "pki.root-exported"
    pki_archive_signer = "pki.archive-signer"  # the store's WACZ signing key certified
    key_rewrapped = "key.rewrapped"
    ledger_checkpoint_copy = "ledger.checkpoint-copy"  # a checkpoint not written where configured
    ledger_verify = "ledger.verify"
    token_created = "token.created"  # noqa: S105 - a user made an API token (its id, label, scopes, expiry)
    token_revoked = "token.revoked"  # noqa: S105 - a user revoked one of their API tokens
    # authorizations
    auth_request = "auth.request"
    auth_approve = "auth.approve"
    auth_deny = "auth.deny"
    auth_revoke = "auth.revoke"
    auth_exigent = "auth.exigent"
    auth_review = "auth.review"
    # captures
    capture_allowed = "capture.allowed"
    capture_requested = "capture.requested"  # an investigator's signed request of a capture system
    job_queued = "job.queued"  # a requested capture put in the agency's capture queue
    job_ended = "job.ended"  # a capture system finished a job: sealed, refused or failed
    job_retried = "job.retried"  # a job whose worker stopped answering, put back in the queue
    watch_started = "watch.started"  # a watch: a signed standing request to capture a page on a schedule
    watch_run = "watch.run"  # one run of a watch: captured, refused or failed
    watch_changed = "watch.changed"  # a run found the page changed since the watch's previous capture
    watch_stopped = "watch.stopped"  # a watch ended: its end passed, its authorization ended, or stopped
    capture_refused = "capture.refused"
    capture_failed = "capture.failed"
    capture_sealing = (
        "capture.sealing"  # the intent, recorded before the bundle is moved into place
    )
    capture_sealed = "capture.sealed"
    capture_recovered = "capture.recovered"
    capture_unrecorded = "capture.unrecorded"
    capture_abandoned = "capture.abandoned"
    screening_quarantine = "screening.quarantine"
    screening_nexus = "screening.nexus"
    timestamp_obtained = "timestamp.obtained"
    timestamp_pending = "timestamp.pending"
    timestamp_retry = "timestamp.retry"
    # bundles after sealing
    bundle_verify = "bundle.verify"
    batch_started = "batch.started"  # a list of URLs to capture, each its own bundle
    batch_item = "batch.item"  # one URL of a batch: started, then captured, refused or failed
    bundle_stored = "bundle.stored"  # every object uploaded, read back by version and locked
    bundle_outbox = "bundle.outbox"  # the bucket could not take it: it waits in bundles/
    bundle_cleaned = "bundle.cleaned"  # versions an uncommitted upload left in the bucket
    bundle_fetched = "bundle.fetched"  # a verified copy written outside the store
    custody_transfer = "custody.transfer"  # a refused transfer (a done one is custody.transferred)
    export = "export"
    audit_report = "audit.report"
    web_download = "web.download"  # an export, package or exhibit made in the web application, downloaded
    web_download_removed = "web.download.removed"  # such a file removed: kept long enough, or by request
    # custody events, one per custody.EventType (`custody_action` maps them)
    custody_captured = "custody.captured"
    custody_timestamped = "custody.timestamped"
    custody_verified = "custody.verified"
    custody_viewed = "custody.viewed"
    custody_transferred = "custody.transferred"
    custody_exported = "custody.exported"
    custody_derived = "custody.derived"  # a signed WACZ package made from the bundle
    custody_disseminated = "custody.disseminated"
    custody_graded = "custody.graded"
    custody_reviewed = "custody.reviewed"
    custody_held = "custody.held"
    custody_released = "custody.released"
    custody_purged = "custody.purged"
    custody_recovered = "custody.recovered"
    custody_moved = "custody.moved"
    custody_requester_reviewed = "custody.requester-reviewed"
    custody_review = "custody.review"  # a refused review by one who did not request the capture
    # policy areas
    alias_request = "alias.request"
    alias_approve = "alias.approve"
    alias_deny = "alias.deny"
    alias_retire = "alias.retire"
    equipment_add = "equipment.add"
    policy_reviewed = "policy.reviewed"
    retention_review = "retention.review"
    retention_hold = "retention.hold"
    retention_release = "retention.release"
    retention_purge_review = "retention.purge-review"
    purge_request = "purge.request"
    purge_approve = "purge.approve"
    purge_executed = "purge.executed"
    # refusals by the permission matrix (`denied_action` maps roles.Action) or a policy rule
    denied_user_admin = "denied.user.admin"
    denied_store_admin = "denied.store.admin"
    denied_auth_request = "denied.auth.request"
    denied_auth_decide = "denied.auth.decide"
    denied_capture = "denied.capture"
    denied_capture_job = "denied.capture.job"
    denied_verify = "denied.verify"
    denied_read = "denied.read"
    denied_custody = "denied.custody"
    denied_export = "denied.export"
    denied_store_import = "denied.store.import"
    denied_timestamp = "denied.timestamp"
    denied_grade = "denied.grade"
    denied_audit = "denied.audit"
    denied_profile = "denied.profile"
    denied_alias = "denied.alias"
    denied_equipment = "denied.equipment"
    denied_policy_review = "denied.policy.review"
    denied_quarantine = "denied.quarantine"
    denied_review_protected = "denied.review.protected"
    denied_retention_review = "denied.retention.review"
    denied_retention_hold = "denied.retention.hold"
    denied_retention_release = "denied.retention.release"
    denied_purge_request = "denied.purge.request"
    denied_purge_approve = "denied.purge.approve"
    denied_watch_stopped = "denied.watch.stopped"
    denied_request = "denied.request"  # a web request refused before any action (no CSRF token)

    @property
    def is_denial(self) -> bool:
        return self.value.startswith(DENIED_PREFIX)


DENIED_PREFIX = "denied."
CUSTODY_PREFIX = "custody."

DENIALS: frozenset[str] = frozenset(a.value for a in LedgerAction if a.is_denial)
"""Every refusal recorded as `denied.*` (the audit report's denied section reads these)."""


def family(name: str) -> frozenset[str]:
    """Every action of one family: `family("alias")` is alias.request, alias.approve, …"""
    return frozenset(a.value for a in LedgerAction if a.value.startswith(name + "."))


def custody_action(event: EventType) -> LedgerAction:
    """The ledger row that mirrors a custody event of this type."""
    return LedgerAction(CUSTODY_PREFIX + event.value)


def custody_actions() -> frozenset[str]:
    """Every ledger action that mirrors a custody event (not `custody.transfer`, a refusal)."""
    return frozenset(custody_action(t).value for t in EventType)


def denied_action(action: Action) -> LedgerAction:
    """The refusal row for an action the permission matrix did not allow."""
    return LedgerAction(DENIED_PREFIX + action.value)


def denial_of(action: LedgerAction) -> LedgerAction:
    """The refusal row for an attempt at `action` that a policy rule refused."""
    return LedgerAction(DENIED_PREFIX + action.value)
