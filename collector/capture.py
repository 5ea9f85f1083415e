"""One capture, end to end: gate → browser → metadata → seal → ledger.

Refusals are recorded and raised before anything is written. Technical failures are
recorded, the work directory is removed, and nothing appears under bundles/.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import rfc8785

from collector import TOOL_NAME, __version__
from collector.browser import AliasSession, SharedBrowser, chromium_version_warning
from collector.browser import capture as browser_capture
from collector.errors import (
    CaptureFailed,
    CollectorError,
    Interrupted,
    NavigationRefused,
    Refused,
    UsageError,
)
from collector.evidence.bundle import layout
from collector.evidence.bundle.seal import Sealed, describe, seal
from collector.evidence.clock import clock_report
from collector.evidence.custody import EventType
from collector.evidence.model import (
    AuthorizationSummary,
    BrowserSettings,
    CaptureRecord,
    ClockReport,
    MachineRecord,
    Metadata,
    Model,
    Person,
    ScreeningRecord,
    ToolInfo,
)
from collector.evidence.post import PageState, Post
from collector.evidence.request import SignedRequest, claim_key
from collector.evidence.trust import judge_signer, read_chain
from collector.evidence.urls import Url, from_browser, parse_scope
from collector.platforms import accounts, summary
from collector.policy import aliases, equipment, exigent, gate, screening
from collector.policy.addresses import resolve
from collector.store import checkpoints, storage
from collector.store.actions import LedgerAction
from collector.store.custody_log import custody_builder
from collector.store.jobs import claim_job
from collector.store.ledger import now
from collector.store.model import Authorization, BundleRow, User
from collector.store.stamping import StampOutcome, plan, stamper
from collector.store.store import Actor, Store
from collector.store.worklock import capture_lock

BrowserCapture = Callable[
    [str, BrowserSettings, Path, AliasSession | None, Sequence[str]], CaptureRecord
]


class CaptureResult(Model):
    bundle_id: str
    path: str
    seal_sha256: str
    requested_url: str
    final_url: str
    status: int | None
    title: str
    started_at: datetime
    ended_at: datetime
    timestamp: StampOutcome
    page_state: PageState | None = None
    post: Post | None = None
    warnings: list[str]


def new_bundle_id(at: datetime) -> str:
    return f"B-{at.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4).upper()}"


def browser_settings(store: Store) -> BrowserSettings:
    """The store's browser settings with its policy's egress rules."""
    return store.config.browser.model_copy(
        update={
            "block_private_network": not store.config.policy.allow_private_network,
            "allowed_hosts": list(store.config.policy.allowed_hosts),
        }
    )


@contextmanager
def shared_browser(store: Store) -> Iterator[SharedBrowser]:
    """One browser for many captures (a batch): each capture in a fresh, isolated context of
    it (`collector.browser.shared`); closed when the block ends."""
    with SharedBrowser(browser_settings(store)) as host:
        yield host


def settings_hash(settings: BrowserSettings) -> str:
    return hashlib.sha256(rfc8785.dumps(settings.model_dump(mode="json"))).hexdigest()


def _refuse(
    store: Store, actor: Actor, auth_id: str | None, url: str, reason: str, code: str
) -> Refused:
    store.ledger.record(
        LedgerAction.capture_refused,
        "refused",
        actor=actor.user.name,
        subject=auth_id,
        details={"url": url[:2048], "reason": reason, "code": code},
    )
    return Refused(reason)


def judge(store: Store, actor: Actor, url: str, auth_id: str | None,
          user: User | None = None) -> tuple[Authorization, gate.Allowed]:  # fmt: skip
    """The gate: may `user` (default: the actor) capture `url` under `auth_id` now? A refusal is
    recorded in the ledger (as the actor's) and raised."""
    auth = store.ledger.authorization(auth_id) if auth_id else None
    approver_key = None
    if auth is not None and auth.approver_key_fingerprint:
        approver_key = store.key_lookup()(auth.approver_key_fingerprint)
    decision = gate.check(
        url_text=url,
        auth=auth,
        auth_id=auth_id,
        user=user or actor.user,
        approver_key=approver_key,
        policy=store.config.policy,
        now=now(),
        resolver=resolve,
    )
    if isinstance(decision, gate.Refusal):
        raise _refuse(store, actor, auth_id, url, decision.reason, decision.code)
    assert auth is not None
    return auth, decision


def authorize(
    store: Store, actor: Actor, url: str, auth_id: str | None, requested: Requested | None = None
) -> tuple[Authorization, MachineRecord, Url]:
    """Run the gate (for a requested capture: as the investigator who requested it) and the
    equipment rule; a refusal is recorded in the ledger and raised."""
    auth, allowed = judge(store, actor, url, auth_id, requested.requester if requested else None)
    machine = equipment.identify(store)
    why = equipment.refusal(store, machine, auth.conditions.allow_personal_equipment)
    if why:
        raise _refuse(store, actor, auth_id, url, why, "equipment")
    details: dict[str, object] = {"url": allowed.url.normalized, "addresses": allowed.addresses,
                                  "exigent": auth.conditions.exigent,
                                  "machine": machine.model_dump(mode="json")}  # fmt: skip
    if requested is not None:
        details.update(job_id=requested.claim, requested_by=requested.requester.name)
    store.ledger.record(LedgerAction.capture_allowed, actor=actor.user.name, subject=auth.id,
                        details=details)  # fmt: skip
    return auth, machine, allowed.url


@dataclass(frozen=True)
class Requested:
    """A capture a capture system makes for an investigator's signed request: it is judged as
    theirs, carries their request into the bundle, and is sealed at most once per job."""

    signed: SignedRequest
    requester: User
    requester_key: bytes
    requester_chain: bytes
    run: int | None = None  # a watch's run: each is sealed at most once

    @property
    def claim(self) -> str:
        """What sealing claims once: the job, or the watch's run."""
        return claim_key(self.signed.request.job_id, self.run)

    def tag_files(self) -> dict[str, bytes]:
        return {
            layout.REQUEST: self.signed.request.canonical(),
            layout.REQUEST_SIGNATURE: bytes.fromhex(self.signed.signature),
            layout.REQUESTER_KEY: self.requester_key,
            layout.REQUESTER_CHAIN: self.requester_chain,
        }


def requested_for(store: Store, signed: SignedRequest, run: int | None = None) -> Requested:
    """A signed request, checked before anything is captured for it: its requester is a user,
    the signature holds for their registered key, and that key's certificate, as the store's PKI
    judges it now, names them in a role that may request captures. Refused otherwise."""
    asked = signed.request
    requester = store.ledger.user(asked.requested_by)
    if requester is None:
        raise Refused(f"the requester {asked.requested_by!r} is not a user")
    key = store.public_key(requester.name)
    problem = signed.problem(key)
    if problem is not None:
        raise Refused(problem)
    chain = store.chain_of(requester)
    judged = judge_signer(read_chain(chain), key, requester.name, now(), False, store.pki.trust(), requesting=True)
    if not judged.ok:
        raise Refused(f"the requester's certificate: {judged.detail}")
    return Requested(signed, requester, key, chain, run=run)


def run(
    store: Store,
    actor: Actor,
    url: str,
    auth_id: str | None,
    note: str | None = None,
    browser: BrowserCapture | None = None,
    exigent_case: tuple[str, str] | None = None,
    profile: Path | None = None,
    requested: Requested | None = None,
) -> CaptureResult:
    """Capture `url` under `auth_id` (or an exigent authorization made now) and seal the bundle.

    `browser` records the page (default: real Chromium through `collector.browser`). With
    `requested`, the actor is a capture system sealing an investigator's signed request.
    """
    if exigent_case is not None:
        if auth_id:
            raise UsageError("--exigent makes its own authorization: leave out --auth")
        auth_id = exigent.create(store, actor, url, *exigent_case).id
    auth, machine, target = authorize(store, actor, url, auth_id, requested)
    storage.prepare(store)  # the bucket's client is made while the browser works
    alias, session = _alias_session(store, actor, auth, url, profile)
    settings = browser_settings(store)
    clock = clock_report(
        store.config.clock.ntp_server,
        store.config.clock.warn_offset_s,
        store.config.clock.timeout_s,
    )
    started = now()
    bundle_id = new_bundle_id(started)
    with capture_lock(store.work_dir, bundle_id):
        record, sealed, stamped, screened = _record_and_seal(
            store, actor, auth, url, target, bundle_id, settings, session, note, clock, machine,
            alias, browser or browser_capture, requested,
        )  # fmt: skip
        try:
            _record_bundle(store, actor, auth, record, sealed, stamped, requested)
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted after sealing: {bundle_id} is in bundles/ and its intent is in the "
                "ledger; the next command records it (recovery)"
            ) from None
        _record_screening(store, actor, bundle_id, screened)
        waits = storage.commit(store, bundle_id, auth.retention_class, actor.user.name)
    made = checkpoints.make(store, actor, "capture")
    warnings = [w for w in (chromium_version_warning(record.browser.version), made.warning, waits)
                if w]  # fmt: skip
    if screened.disposition == "quarantined":
        warnings.append(_protected_reason(screened, refused=False))
    warnings += clock.warnings
    if record.page_state is not None and record.page_state.state != "content":
        warnings.append(
            f"the capture shows no post content: {summary.state_line(record.page_state)}. "
            "It is sealed as evidence of what the page showed."
        )
    if stamped.status == "pending":
        warnings.append(
            "TIME-STAMP PENDING: no time-stamp authority answered; the bundle is sealed and "
            f"signed, but its time is not yet independently proven ({stamped.error}). "
            "Run `collector timestamp retry` when an authority is reachable."
        )
    elif stamped.status == "not-configured":
        warnings.append(
            "no time-stamp authority configured: the capture time rests on the local clock"
        )
    return CaptureResult(
        bundle_id=bundle_id,
        path=str(sealed.path),
        seal_sha256=sealed.seal_sha256,
        requested_url=target.href,
        final_url=record.final_url,
        status=record.status,
        title=record.title,
        started_at=record.started_at,
        ended_at=record.ended_at,
        timestamp=stamped,
        page_state=record.page_state,
        post=record.post,
        warnings=warnings,
    )


def _author_outside(auth: Authorization, record: CaptureRecord) -> str | None:
    """Why the captured post is not the account the scope names, when every scope holding the
    final address names an account and the post's author is another."""
    try:
        final = from_browser(record.final_url)
    except CollectorError:
        return None  # the browser step already judged the final address
    holding = [s for s in (parse_scope(text) for text in auth.scopes) if s.matches(final)]
    reasons = [accounts.author_outside(s.host, s.path, record.post) for s in holding]
    if holding and all(reasons):
        return str(reasons[0])
    return None



def _record_and_seal(
    store: Store,
    actor: Actor,
    auth: Authorization,
    url: str,
    target: Url,
    bundle_id: str,
    settings: BrowserSettings,
    session: AliasSession | None,
    note: str | None,
    clock: ClockReport,
    machine: MachineRecord,
    alias: aliases.Alias | None,
    browser: BrowserCapture,
    requested: Requested | None = None,
) -> tuple[CaptureRecord, Sealed, StampOutcome, ScreeningRecord]:
    """Browser, checks, metadata and seal. On any failure nothing is left in `work/` and
    nothing exists under `bundles/`; the failure or refusal is in the ledger."""
    workdir = store.work_dir / f"{bundle_id}.partial"
    workdir.mkdir(parents=True)
    sealed: Sealed | None = None
    try:
        screening.prepare_ahead(store.config.policy.screening.categories)
        record = browser(target.href, settings, workdir, session, auth.scopes)
        wrong_author = _author_outside(auth, record)
        if wrong_author is not None:
            raise _refuse(store, actor, auth.id, url, wrong_author, "author")
        screened = screen_capture(store, auth, workdir)
        if screened.disposition == "quarantined" and store.config.policy.screening.mode == "refuse":
            raise _refuse(
                store, actor, auth.id, url, _protected_reason(screened, refused=True),
                "protected-content",
            )  # fmt: skip
        metadata = build_metadata(
            store, actor, auth, bundle_id, record, settings, workdir, note, clock, machine,
            screened, _identity(alias, session),
        )  # fmt: skip
        if url != target.href:
            metadata.requested_as = url
        if requested is not None:
            metadata.request = requested.signed.request
            metadata.run = requested.run
        signer = store.public_key(actor.user.name)
        stamp, stamped = stamper(store)

        def intent(seal_sha256: str) -> None:
            details = {
                "seal_sha256": seal_sha256,
                "case_number": auth.case_number,
                "authorization_id": auth.id,
                "path": str((store.bundles_dir / bundle_id).relative_to(store.root)),
                "source_url": record.requested_url,
                "final_url": record.final_url,
                "status": record.status,
            }
            if requested is None:
                store.ledger.record(LedgerAction.capture_sealing, actor=actor.user.name,
                                    subject=bundle_id, details=details)  # fmt: skip
                return
            job = requested.signed.request
            details.update(job_id=requested.claim, requested_by=job.requested_by)
            try:
                with store.ledger.transaction() as db:  # the intent and the job's one seal, together
                    claim_job(db, requested.claim, bundle_id, job.requested_by, actor.user.name)
                    store.ledger.record_in(db, LedgerAction.capture_sealing, actor=actor.user.name,
                                           subject=bundle_id, details=details)  # fmt: skip
            except Refused as exc:
                raise _refuse(store, actor, auth.id, url, str(exc), "job-sealed") from None

        sealed = seal(
            workdir,
            metadata,
            bag_info(store, metadata, actor),
            actor.key,
            signer,
            store.signer_chain(actor),
            store.bundles_dir / bundle_id,
            stamp,
            before_rename=intent,
            tag_files=requested.tag_files() if requested is not None else None,
        )
    except NavigationRefused as exc:
        raise _refuse(store, actor, auth.id, url, str(exc), "navigation") from None
    except Refused:
        raise
    except CollectorError as exc:
        _record_failure(store, actor, auth, url, bundle_id, str(exc))
        raise CaptureFailed(str(exc)) from exc
    except KeyboardInterrupt:
        _record_failure(store, actor, auth, url, bundle_id, "interrupted before sealing")
        raise Interrupted(
            "interrupted before sealing: nothing was sealed and the partial capture was removed"
        ) from None
    except Exception as exc:
        _record_failure(store, actor, auth, url, bundle_id, f"{type(exc).__name__}: {exc}")
        raise CaptureFailed(f"capture failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if sealed is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return record, sealed, stamped, screened


def _record_bundle(
    store: Store,
    actor: Actor,
    auth: Authorization,
    record: CaptureRecord,
    sealed: Sealed,
    stamped: StampOutcome,
    requested: Requested | None = None,
) -> None:
    """The bundle row and the first custody event, anchored to the seal digest. A requested
    capture is the requester's: custody begins with them and the row names them."""
    details: dict[str, object] = {
        "seal_sha256": sealed.seal_sha256,
        "source_url": record.requested_url,
        "final_url": record.final_url,
        "status": record.status,
        "page_state": record.page_state.state if record.page_state else None,
        "authorization_id": auth.id,
        "timestamp": stamped.status,
    }
    if requested is not None:
        details.update(job_id=requested.claim, custodian=requested.requester.name)
    captured = custody_builder(store, actor, sealed.bundle_id, EventType.captured, details)
    store.ledger.add_bundle(
        BundleRow(
            id=sealed.bundle_id,
            case_number=auth.case_number,
            authorization_id=auth.id,
            path=str(sealed.path.relative_to(store.root)),
            seal_sha256=sealed.seal_sha256,
            source_url=record.requested_url,
            captured_by=requested.requester.name if requested is not None else actor.user.name,
            created_at=now(),
        ),
        details={
            "seal_sha256": sealed.seal_sha256,
            "final_url": record.final_url,
            "status": record.status,
        },
        captured=captured,
        recorded_by=actor.user.name,  # the sealer: the investigator, or the capture system
    )
    if stamped.info is not None:
        store.ledger.record(
            LedgerAction.timestamp_obtained,
            actor=actor.user.name,
            subject=sealed.bundle_id,
            details=stamped.info.model_dump(mode="json"),
        )
    if stamped.status == "pending":
        store.ledger.record(
            LedgerAction.timestamp_pending,
            "failed",
            actor=actor.user.name,
            subject=sealed.bundle_id,
            details={"attempts": [a.model_dump(mode="json") for a in stamped.attempts]},
        )


def _record_failure(
    store: Store, actor: Actor, auth: Authorization, url: str, bundle_id: str, reason: str
) -> None:
    store.ledger.record(
        LedgerAction.capture_failed,
        "failed",
        actor=actor.user.name,
        subject=auth.id,
        details={"url": url, "bundle_id": bundle_id, "reason": reason[:2000]},
    )


def _person(store: Store, name: str) -> Person:
    user = store.ledger.user(name)
    if user is None:
        raise CaptureFailed(f"user {name!r} named on the authorization is not in the ledger")
    return user.person()


def build_metadata(
    store: Store,
    actor: Actor,
    auth: Authorization,
    bundle_id: str,
    record: CaptureRecord,
    settings: BrowserSettings,
    workdir: Path,
    note: str | None,
    clock: ClockReport,
    machine: MachineRecord,
    screened: ScreeningRecord,
    identity: str,
) -> Metadata:
    assert auth.valid_from and auth.valid_until
    artifacts = []
    for name in record.artifacts:
        path = workdir / name
        if not path.is_file():
            raise CaptureFailed(f"the browser did not produce {name}")
        artifacts.append(describe(path, name, layout.ARTIFACT_ROLES.get(name, "artifact")))
    return Metadata(
        bundle_id=bundle_id,
        case_number=auth.case_number,
        authorization=AuthorizationSummary(
            id=auth.id,
            case_number=auth.case_number,
            predicate=auth.predicate,
            standard=auth.standard,
            purpose=auth.purpose,
            facts=auth.facts,
            scopes=auth.scopes,
            retention_class=auth.retention_class,
            valid_from=auth.valid_from,
            valid_until=auth.valid_until,
            investigators=auth.investigators,
            requested_by=_person(store, auth.requested_by),
            requested_at=auth.requested_at,
            conditions=auth.conditions,
            approved_by=_person(store, auth.approved_by) if auth.approved_by else None,
            approved_at=auth.approved_at,
            approval_signature=auth.approval_signature,
            approver_key_fingerprint=auth.approver_key_fingerprint,
        ),
        retention_class=auth.retention_class,
        engagement=auth.conditions.engagement,
        virtual_identity=identity,
        exigent=auth.conditions.exigent,
        policy=store.policy_stamp(),
        screening=screened,
        machine=machine,
        operator=actor.user.person(),
        note=note,
        host_name=socket.gethostname(),
        clock=clock,
        timestamping=plan(store),
        tool=ToolInfo(
            name=TOOL_NAME,
            version=__version__,
            configuration_sha256=settings_hash(settings),
            configuration=settings,
        ),
        capture=record,
        artifacts=artifacts,
    )


def _alias_session(
    store: Store, actor: Actor, auth: Authorization, url: str, profile: Path | None
) -> tuple[aliases.Alias | None, AliasSession | None]:
    """An alias engagement needs an active alias; a logged-in profile needs an alias engagement."""
    alias = None
    if auth.conditions.engagement == "alias" and auth.conditions.alias:
        try:
            alias = aliases.require_active(store, auth.conditions.alias)
        except Refused as exc:
            raise _refuse(store, actor, auth.id, url, str(exc), "alias") from exc
    if profile is None:
        return alias, None
    if alias is None:
        raise _refuse(
            store, actor, auth.id, url,
            "a logged-in browser profile needs an authorization for an approved alias engagement",
            "alias",
        )  # fmt: skip
    state = aliases.load_profile(profile)
    return alias, AliasSession(storage_state=state, redaction_key=store.redaction_key())


def _identity(alias: aliases.Alias | None, session: AliasSession | None) -> str:
    if alias is None:
        return "none: public, logged out"
    how = "logged in with the alias's browser profile" if session else "logged out"
    return f"alias {alias.name}: {alias.handle} on {alias.platform} ({how})"


def screen_capture(store: Store, auth: Authorization, workdir: Path) -> ScreeningRecord:
    """Screen the rendered page's text against the policy's protected categories."""
    html = (workdir / layout.DOM).read_text(encoding="utf-8", errors="replace")
    result = screening.screen(screening.page_text(html), store.config.policy.screening.categories)
    nexus = auth.conditions.nexus
    if not result.matched:
        return ScreeningRecord(result=result, nexus=nexus, disposition="clear")
    if nexus:
        return ScreeningRecord(result=result, nexus=nexus, disposition="nexus-stated")
    due = now() + timedelta(hours=store.config.policy.screening.review_hours)
    return ScreeningRecord(result=result, nexus=None, disposition="quarantined", review_due=due)


def _record_screening(
    store: Store, actor: Actor, bundle_id: str, screened: ScreeningRecord
) -> None:
    if not screened.result.matched:
        return
    store.ledger.record(
        LedgerAction.screening_quarantine if screened.disposition == "quarantined" else LedgerAction.screening_nexus,
        actor=actor.user.name,
        subject=bundle_id,
        details={
            "terms": {m.category: m.terms for m in screened.result.matches},
            "nexus": screened.nexus,
            "review_due": screened.review_due.isoformat() if screened.review_due else None,
        },
    )


def _protected_reason(record: ScreeningRecord, *, refused: bool) -> str:
    found = "; ".join(f"{m.category}: {', '.join(m.terms)}" for m in record.result.matches)
    if refused:
        return (
            f"the page matches protected categories ({found}) and the authorization states no "
            "nexus to the criminal conduct; the policy refuses such captures"
        )
    due = f"{record.review_due:%Y-%m-%d %H:%M}Z" if record.review_due else "now"
    return (
        f"PROTECTED-CONTENT REVIEW PENDING: the page matches protected categories ({found}) and "
        "the authorization states no nexus; the bundle is sealed but quarantined until a "
        f"supervisor decides (`collector review protected`), due {due}"
    )


def _person_line(person: Person) -> str:
    return f"{person.full_name}, badge {person.badge}, user {person.user}"


def bag_info(store: Store, meta: Metadata, actor: Actor) -> dict[str, str]:
    auth = meta.authorization
    return {
        "Bundle-Format": layout.FORMAT,
        "External-Identifier": meta.bundle_id,
        "Source-Organization": store.config.agency,
        "Case-Number": meta.case_number,
        "Authorization-Id": auth.id,
        "Authorizing-Officer": (
            f"{_person_line(auth.approved_by)}, approved {auth.approved_at.astimezone(UTC).isoformat()}"
            if auth.approved_by and auth.approved_at
            else "none: exigent capture without prior approval; a supervisor's review is owed"
        ),
        "Retention-Class": meta.retention_class,
        "Operator": _person_line(meta.operator),
        "Source-URL": meta.capture.requested_url,
        "Final-URL": meta.capture.final_url,
        "Capture-Time": meta.capture.started_at.astimezone(UTC).isoformat(),
        "Capture-End-Time": meta.capture.ended_at.astimezone(UTC).isoformat(),
        "Time-Source": (
            "RFC 3161 time-stamp over seal.sig (seal.tsr or a later timestamped custody event)"
            if meta.timestamping.configured
            else "local clock only: no time-stamp authority configured"
        ),
        "Signer-Key-Fingerprint": actor.user.key_fingerprint,
        "Bag-Software-Agent": f"{TOOL_NAME} {__version__}",
    }
