"""The API's routes and its OpenAPI description (`/api/openapi.json`). No documentation UI is
served: the usual ones need inline script, which the application's CSP forbids."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.responses import Response

from collector import __version__
from collector.errors import CollectorError
from collector.evidence.bundle.verify import VerifyReport
from collector.evidence.custody import CustodyEvent
from collector.platforms import summary
from collector.policy.viewing import open_metadata
from collector.store import custody_log
from collector.store import verify as verification
from collector.store.model import Authorization, BundleRow
from collector.store.roles import Action
from collector.store.store import Store
from collector.web.api.auth import Credentials, called
from collector.web.api.models import BundleDetail, BundleSummary, Problem
from collector.web.errors import status_of
from collector.web.settings import WebConfig

DESCRIPTION = """Read-only access to the evidence store for scripts: bundles, authorizations,
custody logs and verification, under the same permissions and ledger records as the command
line. Authenticate with a per-user API token (`Authorization: Bearer ctk_…`) made on the page
`/tokens`; scopes: `read`, `verify`. A refusal is recorded in the ledger."""

REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No token, or an unknown, expired or revoked one."},
    403: {"model": Problem, "description": "The token lacks the scope, or the role may not."},
    404: {"model": Problem, "description": "No such record."},
}


async def _collector_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CollectorError)
    return JSONResponse({"detail": str(exc)}, status_code=status_of(exc))


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


def create_api(config: WebConfig) -> FastAPI:
    api = FastAPI(title="collector API", version=__version__, description=DESCRIPTION,
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None)  # fmt: skip
    api.state.config = config
    api.add_exception_handler(CollectorError, _collector_error)
    get = api.get
    get("/bundles", responses=REFUSALS, tags=["bundles"])(list_bundles)
    get("/bundles/{bundle_id}", responses=REFUSALS, tags=["bundles"])(get_bundle)
    get("/bundles/{bundle_id}/verify", responses=REFUSALS, tags=["bundles"])(verify_bundle)
    get("/authorizations", responses=REFUSALS, tags=["authorizations"])(list_authorizations)
    get("/authorizations/{auth_id}", responses=REFUSALS, tags=["authorizations"])(get_authorization)
    get("/custody/{bundle_id}", responses=REFUSALS, tags=["custody"])(get_custody)
    return api

