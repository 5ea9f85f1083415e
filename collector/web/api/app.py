"""The API's routes and its OpenAPI description (`/api/openapi.json`). No documentation UI is
served: the usual ones need inline script, which the application's CSP forbids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.responses import Response

from collector import __version__, batch
from collector.errors import CollectorError, UsageError
from collector.evidence.bundle.verify import VerifyReport
from collector.evidence.custody import CustodyEvent
from collector.platforms import summary
from collector.policy.viewing import open_metadata
from collector.store import custody_log
from collector.store import verify as verification
from collector.store.model import Authorization, BundleRow
from collector.store.roles import Action
from collector.store.store import Identity, Store
from collector.web import capturing, progress
from collector.web.api.auth import Credentials, called
from collector.web.api.models import (
    BatchItem,
    BatchProgress,
    BundleDetail,
    BundleSummary,
    CaptureRequest,
    Problem,
)
from collector.web.context import config_of
from collector.web.errors import status_of
from collector.web.settings import WebConfig

DESCRIPTION = """The evidence store for scripts: bundles, authorizations, custody logs and
verification, and capture batches (requested with the caller's passphrase, which signs them),
under the same permissions and ledger records as the command line. Authenticate with a
per-user API token (`Authorization: Bearer ctk_…`) made on the page `/tokens`; scopes: `read`,
`verify`, `capture`. A refusal is recorded in the ledger."""

REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No token, or an unknown, expired or revoked one."},
    403: {"model": Problem, "description": "The token lacks the scope, or the role may not."},
    404: {"model": Problem, "description": "No such record."},
}


async def _collector_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CollectorError)
    return JSONResponse({"detail": str(exc)}, status_code=status_of(exc))


async def _invalid(request: Request, exc: Exception) -> Response:
    """A body or parameter that does not fit: one line naming the first field at fault, never
    echoing what was sent (a request's body may carry a passphrase)."""
    assert isinstance(exc, RequestValidationError)
    first: dict[str, Any] = next(iter(exc.errors()), {})
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "the request"
    return JSONResponse({"detail": f"{where}: {first.get('msg', 'not valid')}"}, status_code=422)


def _holder(store: Store, bundle_id: str) -> str | None:
    try:
        return custody_log.holder(store, bundle_id)
    except CollectorError:
        return None


def _summary(store: Store, row: BundleRow) -> BundleSummary:
    return BundleSummary(id=row.id, case_number=row.case_number, authorization_id=row.authorization_id,
                         source_url=row.source_url, captured_by=row.captured_by,
                         created_at=row.created_at, custodian=_holder(store, row.id))  # fmt: skip


def _known_bundle(store: Store, bundle_id: str) -> BundleRow:
    row = store.ledger.bundle(bundle_id)
    if row is None:
        raise HTTPException(404, f"unknown bundle {bundle_id!r}")
    return row


def list_bundles(request: Request, credentials: Credentials) -> list[BundleSummary]:
    """Every bundle with its case, source URL, capturer and current custodian (scope `read`)."""
    with called(request, credentials, "read") as (store, who):
        store.require(who, Action.read)
        return [_summary(store, row) for row in store.ledger.bundles()]


def get_bundle(bundle_id: str, request: Request, credentials: Credentials) -> BundleDetail:
    """A bundle's metadata summary, post and page state (scope `read`): the read permission,
    purge and protected-content quarantine checked as for `collector show`. No `viewed`
    custody event is signed: the API holds no key."""
    with called(request, credentials, "read") as (store, who):
        store.require(who, Action.read, subject=bundle_id)
        _known_bundle(store, bundle_id)
        row, meta = open_metadata(store, who, bundle_id)
        cap = meta.capture
        state = cap.page_state
        return BundleDetail(
            **_summary(store, row).model_dump(),
            format_version=meta.format_version, title=cap.title, requested_url=cap.requested_url,
            final_url=cap.final_url, http_status=cap.status, started_at=cap.started_at,
            ended_at=cap.ended_at, operator=meta.operator, approved_by=meta.authorization.approved_by,
            retention_class=meta.retention_class, exigent=meta.exigent, page_state=state,
            page_state_line=summary.state_line(state) if state is not None else None,
            post=cap.post, artifacts=meta.artifacts,
        )  # fmt: skip


def verify_bundle(bundle_id: str, request: Request, credentials: Credentials) -> VerifyReport:
    """Verify a bundle in the store (scope `verify`): the report `collector verify --json`
    prints, recorded in the ledger as `bundle.verify`. `ok` false means it failed."""
    with called(request, credentials, "verify") as (store, who):
        store.require(who, Action.verify, subject=bundle_id)
        _known_bundle(store, bundle_id)
        return verification.verify_in_store(store, bundle_id, None, observer=who.user.name)


def list_authorizations(request: Request, credentials: Credentials) -> list[Authorization]:
    """Every authorization, as `collector auth list --json` (scope `read`)."""
    with called(request, credentials, "read") as (store, who):
        store.require(who, Action.read)
        return store.ledger.authorizations()


def get_authorization(auth_id: str, request: Request, credentials: Credentials) -> Authorization:
    """One authorization, as `collector auth show --json` (scope `read`)."""
    with called(request, credentials, "read") as (store, who):
        store.require(who, Action.read, subject=auth_id)
        auth = store.ledger.authorization(auth_id)
        if auth is None:
            raise HTTPException(404, f"unknown authorization {auth_id!r}")
        return auth


def get_custody(bundle_id: str, request: Request, credentials: Credentials) -> list[CustodyEvent]:
    """A bundle's chain of custody, oldest first, as `collector custody show --json` (scope `read`)."""
    with called(request, credentials, "read") as (store, who):
        store.require(who, Action.read, subject=bundle_id)
        _known_bundle(store, bundle_id)
        return store.ledger.custody(bundle_id)


def _progress(store: Store, who: Identity, batch_id: str) -> BatchProgress:
    view = progress.batch_view(store, who, batch_id)
    items = [BatchItem(number=i.number, url=i.url, note=i.note, state=i.state, detail=i.detail, job_id=i.job_id,
                       bundle_id=i.bundle_id, page_state=i.page_state) for i in view.items]  # fmt: skip
    return BatchProgress(id=view.id, authorization_id=view.authorization_id, started_by=view.started_by,
                         started_at=view.started_at, queued_for_workers=view.queued_for_workers,
                         finished=view.finished, counts=view.counts, items=items)  # fmt: skip


def _capturer(request: Request, credentials: Credentials) -> Iterator[tuple[Store, Identity]]:
    """The store and the caller, the token and the role checked (a refusal recorded) before the
    body is read, so a caller who may not capture is refused the same whatever they send."""
    with called(request, credentials, "capture") as (store, who):
        store.require(who, Action.capture)
        yield store, who


def request_captures(body: CaptureRequest, request: Request,
                     caller: Annotated[tuple[Store, Identity], Depends(_capturer)]) -> BatchProgress:  # fmt: skip
    """Request the capture of a list of URLs under an authorization (scope `capture`), as the
    page `/capture` and `collector capture --from` do: the caller's key, unlocked by the
    passphrase for this call only, signs one request per URL, each judged by the gate now (a
    refusal is the item's state, with the gate's reason); the captures are queued for the
    capture workers (agency store) or made by the local capture system (workstation). Answers
    202 with the batch as it stands; follow it at `GET /api/captures/{batch_id}`."""
    store, who = caller
    items = batch.items_of([(u.url, u.note or body.note) for u in body.urls], "urls")
    if body.concurrency > batch.MAX_CONCURRENCY:
        raise UsageError(f"concurrency must be between 1 and {batch.MAX_CONCURRENCY}")
    capturing.check_runnable(store)
    actor = store.authenticate(who.user.name, body.passphrase.get_secret_value())
    batch_id = capturing.start(store, config_of(request).store_path, actor, items,
                               body.authorization.strip(), body.concurrency, SOURCE)  # fmt: skip
    del actor
    return _progress(store, who, batch_id)


def get_captures(batch_id: str, request: Request, credentials: Credentials) -> BatchProgress:
    """A capture batch's progress (scope `read`): each URL queued, running, captured (its
    bundle and page state), refused with the gate's reason, or failed with why."""
    with called(request, credentials, "read") as (store, who):
        store.require(who, Action.read, subject=batch_id)
        try:
            return _progress(store, who, batch_id)
        except UsageError as exc:
            raise HTTPException(404, str(exc)) from None


def create_api(config: WebConfig) -> FastAPI:
    api = FastAPI(title="collector API", version=__version__, description=DESCRIPTION,
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None)  # fmt: skip
    api.state.config = config
    api.add_exception_handler(CollectorError, _collector_error)
    api.add_exception_handler(RequestValidationError, _invalid)
    get = api.get
    get("/bundles", responses=REFUSALS, tags=["bundles"])(list_bundles)
    get("/bundles/{bundle_id}", responses=REFUSALS, tags=["bundles"])(get_bundle)
    get("/bundles/{bundle_id}/verify", responses=REFUSALS, tags=["bundles"])(verify_bundle)
    get("/authorizations", responses=REFUSALS, tags=["authorizations"])(list_authorizations)
    get("/authorizations/{auth_id}", responses=REFUSALS, tags=["authorizations"])(get_authorization)
    get("/custody/{bundle_id}", responses=REFUSALS, tags=["custody"])(get_custody)
    api.post("/captures", status_code=202, responses={**REFUSALS, 400: {"model": Problem}},
             tags=["captures"])(request_captures)  # fmt: skip
    get("/captures/{batch_id}", responses=REFUSALS, tags=["captures"])(get_captures)
    return api



SOURCE = "API"
"""What a batch requested through the API records as its list's source."""
