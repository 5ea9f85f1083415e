"""TLS facts of the main document: negotiated parameters and the certificate chain."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509
from playwright.async_api import CDPSession, Response

from collector.browser.journal import one_line
from collector.evidence.model import Certificate, TlsInfo


def parse_certificate(der: bytes) -> Certificate:
    """One DER certificate as a `Certificate`; fingerprint is SHA-256 of the DER bytes."""
    cert = x509.load_der_x509_certificate(der)
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial_number=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256_fingerprint=hashlib.sha256(der).hexdigest(),
        der_base64=base64.b64encode(der).decode("ascii"),
    )


def parse_chain(table_names: Sequence[str]) -> list[Certificate]:
    """CDP `Network.getCertificate` output (base64 DER, leaf first) as certificates."""
    return [parse_certificate(base64.b64decode(item)) for item in table_names]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _epoch(value: float | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


async def collect_tls(
    response: Response, cdp: CDPSession | None, timeout_s: float
) -> TlsInfo | None:
    """TLS info for an https `response`; None for plain http. Never raises."""
    if urlsplit(response.url).scheme != "https":
        return None
    info = TlsInfo()
    try:
        details = await asyncio.wait_for(response.security_details(), timeout_s)
    except Exception as exc:
        details = None
        info.chain_error = f"security details unavailable: {one_line(exc)}"
    if details:
        info.protocol = details.get("protocol")
        info.issuer = details.get("issuer")
        info.subject = details.get("subjectName")
        info.valid_from = _epoch(details.get("validFrom"))
        info.valid_to = _epoch(details.get("validTo"))
    if cdp is None:
        info.chain_error = info.chain_error or "no DevTools session for the certificate chain"
        return info
    try:
        result = await asyncio.wait_for(
            cdp.send("Network.getCertificate", {"origin": origin_of(response.url)}), timeout_s
        )
        names = result.get("tableNames") or []
        if not names:
            info.chain_error = "the browser returned no certificate chain for the origin"
        else:
            info.chain = parse_chain(names)
    except Exception as exc:
        info.chain_error = f"certificate chain unavailable: {one_line(exc)}"
    return info
