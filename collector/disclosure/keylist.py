"""The agency's published key list (`collector keys export`, read back by `--trust`).

From `collector-keys/1.1` it carries the agency PKI: the root, the issuing CA, every user
certificate with when its issuance was recorded in the ledger, and the revocation list. A
recipient who obtained the list from the agency (not from inside an export) checks a bundle's
signer certificate against it. `collector-keys/1.0` lists (keys only) are still read: they
anchor signers by key alone, and verification says so.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cryptography import x509
from pydantic import Field, ValidationError

from collector.errors import UsageError
from collector.evidence import files, keys, pki
from collector.evidence.bundle.verify import TimeTrust
from collector.evidence.keys import KeyLookup, SignerKey
from collector.evidence.model import Model
from collector.evidence.trust import AgencyTrust, Issuance
from collector.store.ledger import iso, now
from collector.store.pki import APPROVING_ROLES, SEALING_ROLES, certificate_sha256
from collector.store.store import Store

MAX_KEY_LIST = 64 * files.MIB
KEYS_FORMAT = "collector-keys/1.1"
KEYS_FORMATS = frozenset({"collector-keys/1.0", KEYS_FORMAT})
"""Every key-list format this tool ever wrote."""


class KeyEntry(Model):
    fingerprint: str
    owner: str
    full_name: str
    badge: str
    role: str
    created_at: str
    retired_at: str | None
    public_key_pem: str


class CertificateEntry(Model):
    """A user certificate and its issuance as the ledger recorded it."""

    serial: str
    user: str
    role: str
    key_fingerprint: str
    sha256: str
    recorded_at: str
    ledger_seq: int
    pem: str


class KeyList(Model):
    """`collector keys export`: the agency's public keys, PKI and time-stamp roots."""

    format: str = KEYS_FORMAT
    agency: str
    store_id: str
    exported_at: str
    keys: list[KeyEntry]
    tsa_roots: list[str] = Field(default_factory=list)
    root: str | None = None
    intermediates: list[str] = Field(default_factory=list)
    crl: str | None = None
    certificates: list[CertificateEntry] = Field(default_factory=list)

    @property
    def version(self) -> str:
        return self.format.rsplit("/", 1)[-1]

    def lookup(self) -> KeyLookup:
        known = {
            k.fingerprint: SignerKey(
                k.owner, k.public_key_pem, None if k.retired_at is None else _when(k.retired_at)
            )
            for k in self.keys
        }
        return known.get

    def agency_trust(self) -> AgencyTrust:
        """The PKI in this list (no roots for a 1.0 list: signers are then anchored by key)."""
        source = f"the trusted key list of {self.agency}"
        if self.root is None:
            return AgencyTrust(source=f"{source} (format {self.version}: no agency root)", roots=[])
        return AgencyTrust(
            source=source,
            roots=pki.load_certificates(self.root),
            intermediates=[c for text in self.intermediates for c in pki.load_certificates(text)],
            crls=[x509.load_pem_x509_crl(self.crl.encode("ascii"))] if self.crl else [],
            issued={
                c.sha256: Issuance(recorded_at=_when(c.recorded_at), ledger_seq=c.ledger_seq)
                for c in self.certificates
            },
            sealing_roles=SEALING_ROLES,
            certificates=[pki.load_certificates(c.pem)[0] for c in self.certificates],
            approving_roles=APPROVING_ROLES,
        )

    def time_trust(self) -> TimeTrust:
        return TimeTrust([pem.encode() for pem in self.tsa_roots])


def key_list(store: Store) -> KeyList:
    agency = store.pki
    issued = agency.issuances()
    certificates = []
    for row in agency.certificates():
        digest = certificate_sha256(row.certificate)
        if digest not in issued:
            continue  # a row the ledger does not record as issued is not published
        certificates.append(
            CertificateEntry(
                serial=f"{row.serial:x}", user=row.user, role=row.role,
                key_fingerprint=row.key_fingerprint, sha256=digest,
                recorded_at=iso(issued[digest].recorded_at), ledger_seq=row.ledger_seq,
                pem=pki.pem(row.certificate),
            )
        )  # fmt: skip
    crl = agency.crl()
    return KeyList(
        agency=store.config.agency,
        store_id=store.config.store_id,
        exported_at=now().isoformat(),
        keys=[KeyEntry.model_validate(k) for k in store.ledger.key_registry()],
        tsa_roots=[pem.decode() for pem in store.tsa_roots()],
        root=pki.pem(agency.root_certificate()),
        intermediates=[pki.pem(agency.intermediate_certificate())],
        crl=pki.pem(crl) if crl is not None else None,
        certificates=certificates,
    )


def load_trust(path: Path) -> KeyList:
    """Read a key list made by `collector keys export`; every key and certificate in it
    must be what it says (fingerprints, digests, PEM)."""
    try:
        trust = KeyList.model_validate_json(files.read_regular(path, "--trust", MAX_KEY_LIST))
    except (ValidationError, ValueError) as exc:
        raise UsageError(f"--trust {path}: not a key list made by `collector keys export`") from exc
    if trust.format not in KEYS_FORMATS:
        raise UsageError(f"--trust {path}: unknown format {trust.format!r}")
    for entry in trust.keys:
        if keys.fingerprint(entry.public_key_pem.encode()) != entry.fingerprint:
            raise UsageError(
                f"--trust {path}: key {entry.fingerprint[:16]}… does not match its fingerprint"
            )
    try:
        trust.agency_trust()
        for cert in trust.certificates:
            if certificate_sha256(pki.load_certificates(cert.pem)[0]) != cert.sha256:
                raise UsageError(f"--trust {path}: certificate {cert.serial} does not match its digest")
    except (ValueError, IndexError) as exc:
        raise UsageError(f"--trust {path}: a certificate or revocation list is unreadable") from exc
    return trust


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
