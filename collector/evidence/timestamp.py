"""RFC 3161 time-stamps: ask an authority for a token over some bytes, and check one.

A token proves, independently of this tool and of the capturing machine's clock, that the
stamped bytes existed at the token's time. It verifies with OpenSSL alone::

    openssl ts -verify -data FILE -in seal.tsr -CAfile root.pem     # → Verification: OK

Parsing and the CMS signature check are done by ``rfc3161-client``; X.509 by ``cryptography``.
"""

from __future__ import annotations

import hashlib
import http.client
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime
from urllib.parse import urlsplit

import rfc3161_client as tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from pydantic import Field

from collector.errors import CollectorError, IntegrityError, UsageError
from collector.evidence.model import Model

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_REPLY_BYTES = 1024 * 1024
DEFAULT_WINDOW_S = 600.0

_HASHES: dict[str, str] = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_STATUS_NAMES = {
    0: "granted",
    1: "granted with modifications",
    2: "rejection",
    3: "waiting",
    4: "revocation warning",
    5: "revocation notification",
}


# --------------------------------------------------------------------------- models and errors


class TimestampInfo(Model):
    """What a verified RFC 3161 token says."""

    url: str | None = Field(None, description="The authority asked; None when only verified.")
    gen_time: datetime = Field(description="The token's time (genTime), UTC.")
    serial_number: str = Field(description="The token's serial number, decimal.")
    policy_oid: str
    hash_algorithm: str = Field(description="Hash of the message imprint, e.g. sha256.")
    message_imprint: str = Field(description="The stamped digest, lowercase hex.")
    nonce: str | None = Field(description="The nonce echoed in the token, decimal.")
    tsa_name: str | None = Field(description="The tsa field of the token, if present.")
    tsa_certificate_sha256: str = Field(description="SHA-256 of the signer's DER certificate.")
    chain: list[str] = Field(
        description="PEM certificates: those carried in the token (signer first), then the root."
    )
    accuracy_s: float | None = Field(description="The token's stated accuracy in seconds.")


class Attempt(Model):
    """One request to one time-stamp authority."""

    url: str
    ok: bool
    error: str | None = None
    at: datetime


class TimestampUnavailable(CollectorError):
    """No configured authority gave a valid token."""

    exit_code = 4

    def __init__(self, message: str, attempts: list[Attempt]) -> None:
        super().__init__(message)
        self.attempts = attempts


class TimestampInvalid(IntegrityError):
    """A token is malformed, covers other data, or is not signed by a trusted authority."""


# --------------------------------------------------------------------------- public API


def request_timestamp(
    data: bytes,
    urls: list[str],
    roots_pem: list[bytes],
    timeout_s: float = 10.0,
) -> tuple[bytes, TimestampInfo, list[Attempt]]:
    """Get a verified SHA-256 token over ``data`` from the first authority in ``urls`` that gives one.

    Each authority gets a fresh query (random nonce, certReq). An answer that is not a valid
    token over ``data`` with our nonce, chaining to one of ``roots_pem``, counts as that
    authority failing. Returns the raw DER ``TimeStampResp``, what it says, and every attempt.
    Raises `TimestampUnavailable` when no authority gives a valid token, `UsageError` for
    bad input (no data, a non-http(s) URL, no readable root).
    """
    if not data:
        raise UsageError("nothing to time-stamp: the data is empty")
    for url in urls:
        _check_url(url)
    roots = _load_roots(roots_pem)
    attempts: list[Attempt] = []
    for url in urls:
        at = datetime.now(UTC)
        try:
            tsr, info = _attempt(url, data, roots, timeout_s)
        except _AttemptFailed as exc:
            attempts.append(Attempt(url=url, ok=False, error=str(exc), at=at))
            continue
        attempts.append(Attempt(url=url, ok=True, error=None, at=at))
        return tsr, info, attempts
    if not attempts:
        raise TimestampUnavailable("no time-stamp authority is configured", attempts)
    detail = "; ".join(f"{a.url}: {a.error}" for a in attempts)
    raise TimestampUnavailable(f"no time-stamp authority gave a valid token ({detail})", attempts)


def verify_timestamp(
    tsr: bytes, data: bytes, roots_pem: list[bytes], carried: list[x509.Certificate] | None = None
) -> TimestampInfo:
    """Check that ``tsr`` (a DER ``TimeStampResp``) is a valid token over ``data``.

    ``carried`` are certificates given beside the token (its signer's and intermediates') for a
    token that does not carry them itself. Raises `TimestampInvalid` with a one-line reason:
    malformed, not granted, for other data, not signed by a trusted authority, or a bad signature.
    """
    return _verify(tsr, data, _load_roots(roots_pem), nonce=None, carried=carried or [])


def check_time_window(
    info_time: datetime,
    started: datetime,
    ended: datetime,
    limit_s: float = DEFAULT_WINDOW_S,
    *,
    slack_s: float = 1.0,
) -> tuple[bool, str]:
    """Is a token time plausible for a capture that ran from ``started`` to ``ended``?

    Good when ``started - slack_s <= info_time <= ended + limit_s``; pass the token's accuracy
    as ``slack_s`` when it exceeds one second. Returns (ok, a one-line explanation).
    """
    for value in (info_time, started, ended):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("check_time_window needs timezone-aware datetimes")
    if ended < started:
        raise ValueError("the capture ended before it started")
    slack = max(slack_s, 0.0)
    before_start = (started - info_time).total_seconds()
    after_end = (info_time - ended).total_seconds()
    if before_start > slack:
        return False, f"stamped {_duration(before_start)} before the capture started"
    if after_end > limit_s:
        return False, (
            f"stamped {_duration(after_end)} after the capture ended (late stamp; "
            f"limit {_duration(limit_s)})"
        )
    if after_end > 0:
        return True, (
            f"stamped {_duration(after_end)} after the capture ended (limit {_duration(limit_s)})"
        )
    return True, "stamped during the capture"


# --------------------------------------------------------------------------- requesting


class _AttemptFailed(Exception):
    """One authority did not give a valid token; the message says why, on one line."""


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"time-stamp authority URL must be http(s)://host/...: {url!r}")


def _attempt(
    url: str, data: bytes, roots: list[x509.Certificate], timeout_s: float
) -> tuple[bytes, TimestampInfo]:
    query = (
        tsp.TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(tsp.HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    nonce = query.nonce
    if nonce is None:  # pragma: no cover - the builder always sets one when asked
        raise _AttemptFailed("could not make a nonce")
    body, content_type = _post(url, query.as_bytes(), timeout_s)
    try:
        info = _verify(body, data, roots, nonce=nonce)
    except TimestampInvalid as exc:
        note = "" if content_type == REPLY_TYPE else f" (Content-Type {content_type or 'none'})"
        raise _AttemptFailed(f"{exc}{note}") from exc
    return body, info.model_copy(update={"url": url})


def _post(url: str, query: bytes, timeout_s: float) -> tuple[bytes, str]:
    """POST one query; return the body and its media type, or raise `_AttemptFailed`."""
    request = urllib.request.Request(  # noqa: S310 - http(s) only, see _check_url
        url,
        data=query,
        method="POST",
        headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            body = response.read(MAX_REPLY_BYTES + 1)
            content_type = response.headers.get_content_type()
            status = response.status
    except urllib.error.HTTPError as exc:
        raise _AttemptFailed(f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise _AttemptFailed(f"no answer within {timeout_s:g} s") from exc
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
        raise _AttemptFailed(f"cannot reach the authority: {_one_line(text)}") from exc
    except TimeoutError as exc:
        raise _AttemptFailed(f"no answer within {timeout_s:g} s") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise _AttemptFailed(
            f"connection failed: {_one_line(str(exc)) or type(exc).__name__}"
        ) from exc
    if status != 200:
        raise _AttemptFailed(f"HTTP {status}")
    if len(body) > MAX_REPLY_BYTES:
        raise _AttemptFailed(f"answer larger than {MAX_REPLY_BYTES} bytes")
    if not body:
        raise _AttemptFailed("empty answer")
    return body, content_type


# --------------------------------------------------------------------------- verifying


def _load_roots(roots_pem: list[bytes]) -> list[x509.Certificate]:
    roots: list[x509.Certificate] = []
    seen: set[bytes] = set()
    for pem in roots_pem:
        try:
            certs = x509.load_pem_x509_certificates(pem)
        except ValueError as exc:
            raise UsageError(f"unreadable time-stamp root certificate: {exc}") from exc
        for cert in certs:
            der = cert.public_bytes(serialization.Encoding.DER)
            if der not in seen:
                seen.add(der)
                roots.append(cert)
    if not roots:
        raise UsageError("no trusted time-stamp root certificate is configured")
    return roots


def _verify(
    tsr: bytes,
    data: bytes,
    roots: list[x509.Certificate],
    nonce: int | None,
    carried: list[x509.Certificate] | None = None,
) -> TimestampInfo:
    """Every check, cheapest and clearest first; the CMS signature check last."""
    try:
        response = tsp.decode_timestamp_response(tsr)
        status = int(response.status)
    except Exception as exc:  # the parser raises ValueError and Rust panics alike
        raise TimestampInvalid(f"malformed time-stamp response: {_one_line(str(exc))}") from exc
    if status != tsp.PKIStatus.GRANTED:
        text = " ".join(response.status_string)
        name = _STATUS_NAMES.get(status, "unknown")
        raise TimestampInvalid(
            f"time-stamp authority did not grant the request: status {status} ({name})"
            + (f": {_one_line(text)}" if text else "")
        )
    try:
        tst_info = response.tst_info
        imprint = tst_info.message_imprint
        algorithm_oid = imprint.hash_algorithm.dotted_string
        stamped = bytes(imprint.message)
        certificates = [
            x509.load_der_x509_certificate(c) for c in response.signed_data.certificates
        ]
        signer_infos = list(response.signed_data.signer_infos)
        in_token = list(certificates)
        certificates += [c for c in carried or [] if c not in certificates]
    except Exception as exc:
        raise TimestampInvalid(f"malformed time-stamp token: {_one_line(str(exc))}") from exc

    algorithm = _HASHES.get(algorithm_oid)
    if algorithm is None:
        raise TimestampInvalid(f"time-stamp token uses an unsupported hash ({algorithm_oid})")
    digest = hashlib.new(algorithm, data).digest()
    if stamped != digest:
        raise TimestampInvalid(
            f"time-stamp token is for other data: it stamps {algorithm} {stamped.hex()}, "
            f"the data's {algorithm} is {digest.hex()}"
        )
    if nonce is not None and tst_info.nonce != nonce:
        raise TimestampInvalid(
            f"time-stamp token does not echo our nonce (sent {nonce}, got {tst_info.nonce}): "
            "a stale or replayed token"
        )

    if len(signer_infos) != 1:
        raise TimestampInvalid(f"time-stamp token has {len(signer_infos)} signers, expected 1")
    signer_info = signer_infos[0]
    leaf = next(
        (
            c
            for c in certificates
            if c.issuer == signer_info.issuer and c.serial_number == signer_info.serial_number
        ),
        None,
    )
    if leaf is None:
        raise TimestampInvalid(
            "time-stamp token does not carry its signer's certificate "
            f"(issuer {signer_info.issuer.rfc4514_string()}, serial {signer_info.serial_number})"
        )
    path, root = _chain_to_root(leaf, certificates, roots)
    if root is None:
        top = path[-1]
        raise TimestampInvalid(
            "time-stamp token is not signed by a trusted time-stamp authority: "
            f"{leaf.subject.rfc4514_string()} is issued by {top.issuer.rfc4514_string()}, "
            "which is not a configured root"
        )

    given = [c for c in path if c not in in_token]
    verifier = tsp.VerifierBuilder(
        roots=list(roots), nonce=nonce,
        tsa_certificate=leaf if leaf in given else None,
        intermediates=[c for c in given if c is not leaf] or None,
    ).build()  # fmt: skip
    try:
        verifier.verify(response, digest)
    except tsp.VerificationError as exc:
        raise TimestampInvalid(_explain(str(exc))) from exc
    except Exception as exc:
        raise TimestampInvalid(
            f"time-stamp token could not be checked: {_one_line(str(exc))}"
        ) from exc

    carried = path + [c for c in certificates if c not in path]
    return TimestampInfo(
        gen_time=_utc(tst_info.gen_time),
        serial_number=str(tst_info.serial_number),
        policy_oid=tst_info.policy.dotted_string,
        hash_algorithm=algorithm,
        message_imprint=stamped.hex(),
        nonce=_optional_nonce(tst_info),
        tsa_name=_tsa_name(tst_info),
        tsa_certificate_sha256=hashlib.sha256(
            leaf.public_bytes(serialization.Encoding.DER)
        ).hexdigest(),
        chain=[_pem(c) for c in [*carried, root]],
        accuracy_s=_accuracy(tst_info),
    )


def _chain_to_root(
    leaf: x509.Certificate, carried: list[x509.Certificate], roots: list[x509.Certificate]
) -> tuple[list[x509.Certificate], x509.Certificate | None]:
    """Walk from the signer up through the carried certificates to a configured root.

    Returns the path walked (signer first) and the root reached, or None. Only names and
    issuing signatures are checked here; validity and the CMS signature are checked by OpenSSL.
    """
    path = [leaf]
    current = leaf
    for _ in range(len(carried) + 1):
        for root in roots:
            if current.issuer == root.subject and _issued_by(current, root):
                return path, root
        parent = next(
            (
                c
                for c in carried
                if c not in path and c.subject == current.issuer and _issued_by(current, c)
            ),
            None,
        )
        if parent is None:
            break
        path.append(parent)
        current = parent
    return path, None


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


_REASON_RE = re.compile(r'reason: "([^"]*)"')
_DATA_RE = re.compile(r'data: "([^"]*)"')


def _explain(message: str) -> str:
    """Turn rfc3161-client's verification error into one clear line."""
    reasons = _REASON_RE.findall(message)
    data = _DATA_RE.findall(message)
    if "certificate verify error" in reasons:
        detail = "; ".join(d.removeprefix("Verify error: ") for d in data) or "chain rejected"
        return f"time-stamp token is not signed by a trusted time-stamp authority: {detail}"
    if reasons:
        return f"time-stamp token has a bad signature: {'; '.join(dict.fromkeys(reasons))}"
    if "EKU" in message:
        return f"time-stamp certificate is not for time-stamping: {_one_line(message)}"
    if "Nonce" in message:
        return "time-stamp token does not echo our nonce: a stale or replayed token"
    if "Mismatch between messages" in message:
        return "time-stamp token is for other data"
    return f"time-stamp token rejected: {_one_line(message)}"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _optional_nonce(tst_info: tsp.TimeStampTokenInfo) -> str | None:
    try:
        value = tst_info.nonce
    except Exception:
        return None
    return None if value is None else str(value)


def _tsa_name(tst_info: tsp.TimeStampTokenInfo) -> str | None:
    try:
        name = tst_info.name
    except Exception:
        return None
    if name is None:
        return None
    if isinstance(name, x509.DirectoryName):
        return name.value.rfc4514_string()
    return str(getattr(name, "value", name))


def _accuracy(tst_info: tsp.TimeStampTokenInfo) -> float | None:
    try:
        accuracy = tst_info.accuracy
    except Exception:
        return None
    if accuracy is None:
        return None
    seconds = float(accuracy.seconds or 0)
    seconds += (accuracy.millis or 0) / 1_000
    seconds += (accuracy.micros or 0) / 1_000_000
    return seconds


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _duration(seconds: float) -> str:
    """``45 s``, ``2 min 5 s``, ``3 h 12 min``, ``2 d 4 h``."""
    total = round(abs(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"
