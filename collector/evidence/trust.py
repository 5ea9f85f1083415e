"""What a verifier trusts about the agency: its root, its issuing CAs, the certificates it has
issued (each with when its issuance was recorded in the agency's ledger) and its revocation
lists. The store builds one from its PKI and ledger; a recipient reads one from a key list
(`collector keys export`, `--trust`).

`judge_signer` is the bundle's "signer certificate" check: the signer's certificate (shipped in
the bundle as `signer-chain.pem`) must chain to a trusted root at the time the seal was
stamped, must not have been revoked from before then, must name the bundle's operator in a
role that may seal, and its issuance must have been recorded before the stamp — so a
certificate made later and back-dated, by someone who holds the issuing CA, is caught.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from collector.evidence import keys, pki


@dataclass(frozen=True)
class Issuance:
    """A certificate's issuance as the agency's ledger recorded it."""

    recorded_at: datetime
    ledger_seq: int | None = None


@dataclass(frozen=True)
class AgencyTrust:
    """The agency PKI a verifier trusts, and where that trust came from."""

    source: str
    roots: list[x509.Certificate]
    intermediates: list[x509.Certificate] = field(default_factory=list)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    issued: dict[str, Issuance] = field(default_factory=dict)
    """By the certificate's SHA-256 (hex)."""
    sealing_roles: frozenset[str] = frozenset()
    certificates: list[x509.Certificate] = field(default_factory=list)
    """Every user certificate the agency issued (to judge an approver's role)."""
    approving_roles: frozenset[str] = frozenset()
    requesting_roles: frozenset[str] = frozenset()
    """Roles whose certificate may sign a capture request (those that may capture)."""
    system_roles: frozenset[str] = frozenset()
    """Roles of capture systems: their seal must carry a request signed by a requesting role."""


@dataclass(frozen=True)
class SignerJudgement:
    ok: bool
    detail: str
    warning: bool = False
    holder: pki.Holder | None = None


def read_chain(pem_bytes: bytes) -> list[x509.Certificate]:
    """The certificates of a `signer-chain.pem` (leaf first); ValueError when unreadable."""
    certificates = pki.load_certificates(pem_bytes)
    if not certificates:
        raise ValueError("no certificate in it")
    return certificates


def judge_signer(
    chain: list[x509.Certificate],
    signer_key_pem: bytes,
    operator_user: str,
    at: datetime,
    at_is_stamped: bool,
    trust: AgencyTrust | None,
    *,
    requesting: bool = False,
) -> SignerJudgement:
    """Judge the seal's signer against `trust` at `at` (the stamped time, else the claimed
    capture time, which rests on the local clock). `requesting`: judge the signer of a
    capture request instead (its chain file, and a role that may request)."""
    leaf, shipped = chain[0], chain[1:]
    file, signed = ("requester-chain.pem", "request") if requesting else ("signer-chain.pem", "seal")
    if pki.public_key_pem(leaf).encode() != keys.public_pem(keys.load_public(signer_key_pem)):
        return SignerJudgement(False, f"the certificate in {file} is not for the {signed}'s key")
    holder = pki.holder(leaf)
    if holder is None:
        return SignerJudgement(False, f"{file} does not start with a user certificate")
    who = f"{holder.full_name} ({holder.user}, badge {holder.badge}, {holder.role})"
    if trust is None or not trust.roots:
        return SignerJudgement(
            False,
            f"signer not anchored: the certificate names {who}, but no trusted agency root was "
            "given (verify in the store, or pass --trust AGENCY-KEYS.json)",
            holder=holder,
        )
    problem = pki.chain_problem(leaf, shipped + trust.intermediates, trust.roots, at)
    if problem is not None:
        return SignerJudgement(False, f"{problem} ({trust.source})", holder=holder)
    if holder.user != operator_user:
        named = "requester" if requesting else "operator"
        return SignerJudgement(
            False, f"the certificate names {holder.user}, not the {named} {operator_user}",
            holder=holder,
        )  # fmt: skip
    roles = trust.requesting_roles if requesting else trust.sealing_roles
    if roles and holder.role not in roles:
        doing = "request" if requesting else "seal"
        return SignerJudgement(
            False, f"the certificate's role {holder.role} may not {doing} captures", holder=holder
        )
    when = f"{at:%Y-%m-%d %H:%M:%SZ}" + ("" if at_is_stamped else " (local clock)")
    issuance = trust.issued.get(leaf.fingerprint(hashes.SHA256()).hex())
    if issuance is None:
        return SignerJudgement(
            False,
            f"certificate {leaf.serial_number:x} is not recorded as issued by the agency "
            f"({trust.source})",
            holder=holder,
        )
    # The ledger's clock is the store's, the stamp's the authority's (whole seconds, give or
    # take its accuracy): issuance is "after the seal" only beyond the skew allowed between them.
    if issuance.recorded_at > at + (pki.SKEW if at_is_stamped else timedelta(0)):
        return SignerJudgement(
            False,
            f"certificate {leaf.serial_number:x} was recorded as issued at "
            f"{issuance.recorded_at:%Y-%m-%d %H:%M:%SZ}, after the seal ({when}): back-dated",
            holder=holder,
        )
    revoked, note, unsure = _revocation(leaf, shipped + trust.intermediates, trust.crls, at)
    if revoked is not None:
        return SignerJudgement(False, revoked, holder=holder)
    return SignerJudgement(
        True, f"{who}, certified by {trust.source} at {when}; {note}",
        warning=unsure or not at_is_stamped, holder=holder,
    )  # fmt: skip


def judge_approver(
    key_fingerprint: str, user: str, at: datetime, trust: AgencyTrust | None
) -> SignerJudgement:
    """Did a certificate make `user` (this key) one who may approve, at the approval time `at`
    (the approver's own signed statement of when)?"""
    if trust is None or not trust.roots:
        return SignerJudgement(True, "the approver's role is not checked: no agency root given",
                               warning=True)  # fmt: skip
    if all(at < root.not_valid_before_utc + pki.SKEW for root in trust.roots):
        return SignerJudgement(True, "approved before the agency PKI existed: the approver's role "
                               "rests on the key registry", warning=True)  # fmt: skip
    for cert in trust.certificates:
        holder = pki.holder(cert)
        if holder is None or holder.user != user:
            continue
        if keys.fingerprint(pki.public_key_pem(cert).encode()) != key_fingerprint:
            continue
        if pki.chain_problem(cert, trust.intermediates, trust.roots, at) is not None:
            continue
        issuance = trust.issued.get(cert.fingerprint(hashes.SHA256()).hex())
        if issuance is None or issuance.recorded_at > at:
            continue
        revoked, _note, _unsure = _revocation(cert, trust.intermediates, trust.crls, at)
        if revoked is not None:
            continue
        if trust.approving_roles and holder.role not in trust.approving_roles:
            return SignerJudgement(False, f"at the approval {user}'s certificate made them "
                                   f"{holder.role}, who may not approve", holder=holder)  # fmt: skip
        return SignerJudgement(True, f"certified {holder.role} at the approval", holder=holder)
    return SignerJudgement(False, f"no certificate of {user} for the approval key was valid at the "
                           f"approval ({at:%Y-%m-%d %H:%M:%SZ})")  # fmt: skip


def _revocation(
    leaf: x509.Certificate,
    issuers: list[x509.Certificate],
    crls: list[x509.CertificateRevocationList],
    at: datetime,
) -> tuple[str | None, str, bool]:
    """(why the certificate was revoked at `at` or None, the revocation state, whether that
    state is unknown)."""
    issuer = next((c for c in issuers if c.subject == leaf.issuer and pki.issued_by(leaf, c)), None)
    usable = []
    for crl in crls:
        if issuer is None or crl.issuer != issuer.subject:
            continue
        try:
            pki.revocation_of(crl, issuer, 0)
        except ValueError:
            return "the revocation list's signature does not verify", "", True
        usable.append(crl)
    if not usable:
        return None, "revocation NOT checked: no revocation list of its issuer was given", True
    newest = max(usable, key=lambda crl: crl.last_update_utc)
    entry = pki.revocation_of(newest, issuer, leaf.serial_number) if issuer else None
    if entry is None:
        return None, f"not revoked (revocation list of {newest.last_update_utc:%Y-%m-%d})", False
    if entry.invalid_from <= at:
        return (
            f"certificate {leaf.serial_number:x} revoked ({entry.reason}) with effect from "
            f"{entry.invalid_from:%Y-%m-%d %H:%M:%SZ}, before the seal",
            "",
            False,
        )
    return None, (
        f"revoked later ({entry.reason}, from {entry.invalid_from:%Y-%m-%d %H:%M:%SZ}); "
        "signatures made before stay valid"
    ), False
