"""The checks of a bundle a capture system sealed: the investigator's signed request it carries
(`collector.evidence.request`) — its signature, its certificate, and that the capture is the
one requested. A bundle sealed by a capture system without such a request fails."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from collector.errors import CollectorError
from collector.evidence import files, keys, request
from collector.evidence.bundle import layout
from collector.evidence.model import Metadata
from collector.evidence.trust import AgencyTrust, judge_signer, read_chain

Add = Callable[..., bool]
JobSeals = Callable[[str, str], tuple[bool, str | None]]
"""A store's ledger, asked of a job id and its claim key (`request.claim_key`): whether the job
was requested there, and the bundle that claim was sealed as (None if none)."""
MAX_REQUEST_FILE = 64 * 1024


def check_request(bag: Path, add: Add, meta: Metadata | None, sealer_role: str | None,
                  stamped_at: datetime | None, agency: AgencyTrust | None,
                  job_seals: JobSeals | None = None) -> None:  # fmt: skip
    """Add the "capture request" and "requester certificate" lines (none for a capture an
    investigator sealed themselves and that carries no request), and with `job_seals` the
    "job seal" line."""
    present = [name for name in layout.REQUEST_FILES if (bag / name).is_file()]
    by_system = agency is not None and sealer_role is not None and sealer_role in agency.system_roles
    if meta is None or (meta.request is None and not present):
        if by_system:
            add("capture request", False, "sealed by a capture system, but the bundle carries no "
                "capture request signed by an investigator")  # fmt: skip
        return
    missing = [name for name in layout.REQUEST_FILES if name not in present]
    if meta.request is None or missing:
        add("capture request", False, "incomplete: " + (f"{', '.join(missing)} missing" if missing
            else "metadata.json records no request"))  # fmt: skip
        return
    try:
        data = _read(bag, layout.REQUEST)
        asked = request.read(data)
        signature = _read(bag, layout.REQUEST_SIGNATURE)
        public_pem = _read(bag, layout.REQUESTER_KEY)
        fingerprint = keys.fingerprint(public_pem)
    except CollectorError as exc:
        add("capture request", False, str(exc))
        return
    mismatch = _mismatch(asked, meta, fingerprint)
    if mismatch is not None:
        add("capture request", False, mismatch)
        return
    if not keys.verify(public_pem, data, signature):
        add("capture request", False, "request.sig does not verify over request.json with "
            "requester.pub.pem")  # fmt: skip
        return
    add("capture request", True,
        f"{'watch' if asked.repeat else 'job'} {asked.job_id}{f' run {meta.run}' if meta.run else ''}: "
        f"{asked.url} under {asked.authorization_id}, requested by "
        f"{asked.requested_by} at {asked.requested_at:%Y-%m-%d %H:%M:%SZ} (signature verified); "
        f"captured by {'system ' if by_system else ''}{meta.operator.user}")  # fmt: skip
    _check_requester(bag, add, asked, public_pem, stamped_at or meta.capture.started_at,
                     stamped_at is not None, agency)  # fmt: skip
    if job_seals is not None:
        _check_job_seal(add, asked, meta, job_seals)


def _check_job_seal(add: Add, asked: request.CaptureRequest, meta: Metadata, job_seals: JobSeals) -> None:
    """A signed request can be carried by more than one bundle (whoever holds a capture
    system's key can seal it again, elsewhere): the store that recorded the job says which one
    bundle it was sealed as. A job this store never recorded gets no line."""
    key = request.claim_key(asked.job_id, meta.run)
    requested_here, sealed = job_seals(asked.job_id, key)
    if not requested_here:
        return
    if sealed == meta.bundle_id:
        add("job seal", True, f"the ledger records {key} sealed once, as this bundle")
    elif sealed is None:
        add("job seal", False, f"the ledger records no bundle sealed for {key}: this bundle was "
            "not sealed through this store")  # fmt: skip
    else:
        add("job seal", False, f"the ledger records {key} sealed as {sealed}, not as this bundle")


def _mismatch(asked: request.CaptureRequest, meta: Metadata, fingerprint: str) -> str | None:
    """Why the capture is not the one the request asked for, or None."""
    if meta.request != asked:
        return "request.json differs from the request recorded in metadata.json"
    if fingerprint != asked.key_fingerprint:
        return "requester.pub.pem is not the key the request names"
    typed = meta.requested_as or meta.capture.requested_url
    if asked.url not in (typed, meta.capture.requested_url):
        return f"the bundle captured {meta.capture.requested_url}, the request asked for {asked.url}"
    if asked.authorization_id != meta.authorization.id:
        return (f"the bundle was captured under {meta.authorization.id}, the request named "
                f"{asked.authorization_id}")  # fmt: skip
    if asked.note != meta.note:
        return "the bundle's note is not the request's"
    if asked.requested_at > meta.capture.started_at:
        return "the request is dated after the capture began"
    if asked.repeat is None and meta.run is not None:
        return "the bundle is a watch's run, the request is not a watch"
    if asked.repeat is not None:
        if meta.run is None:
            return "the request is a watch, the bundle names no run of it"
        if meta.capture.started_at > asked.repeat.until:
            return f"the capture began after the watch's end ({asked.repeat.until:%Y-%m-%d %H:%M:%SZ})"
    return None


def _check_requester(bag: Path, add: Add, asked: request.CaptureRequest, public_pem: bytes,
                     at: datetime, at_is_stamped: bool, agency: AgencyTrust | None) -> None:  # fmt: skip
    name = "requester certificate"
    try:
        chain = read_chain(_read(bag, layout.REQUESTER_CHAIN))
    except (CollectorError, ValueError) as exc:
        add(name, False, f"{layout.REQUESTER_CHAIN} missing or unreadable: {exc}")
        return
    try:
        judged = judge_signer(chain, public_pem, asked.requested_by, at, at_is_stamped, agency,
                              requesting=True)  # fmt: skip
    except CollectorError as exc:
        add(name, False, f"the requester's key is unreadable: {exc}")
        return
    add(name, judged.ok, judged.detail, warning=judged.warning)


def _read(bag: Path, name: str) -> bytes:
    return files.read_regular(bag / name, "bundle file", MAX_REQUEST_FILE, follow=False)
