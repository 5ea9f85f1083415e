"""The agency's published key list (`collector keys export`, read back by `--trust`).

From `collector-keys/1.1` it carries the agency PKI: the root, the issuing CA, every user
certificate with when its issuance was recorded in the ledger, and the revocation list. A
recipient who obtained the list from the agency (not from inside an export) checks a bundle's
signer certificate against it. `collector-keys/1.0` lists (keys only) are still read: they
anchor signers by key alone, and verification says so.
"""

from __future__ import annotations

import dataclasses
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
from collector.store.pki import (
    APPROVING_ROLES,
    REQUESTING_ROLES,
    SEALING_ROLES,
    SYSTEM_ROLES,
    certificate_sha256,
)
from collector.store.store import Store

MAX_KEY_LIST = 64 * files.MIB
KEYS_FORMAT = "collector-keys/1.1"
IMPORTED_FORMAT = "collector-keys/1.2"
"""A list carrying the key lists of workstation stores moved into the agency (`imported`)."""
KEYS_FORMATS = frozenset({"collector-keys/1.0", KEYS_FORMAT, IMPORTED_FORMAT})
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


class ImportedKeys(Model):
    """(1.2) A workstation store moved into the agency (`collector store copy`): its own key
    list, and the agency issuing CA's cross-certificate of its root. Its keys and PKI count only
    while that cross-certificate endorses its root under this list's agency root."""

    store_id: str
    cross_certificate: str
    keys: KeyList


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
    imported: list[ImportedKeys] = Field(default_factory=list)

    @property
    def version(self) -> str:
        return self.format.rsplit("/", 1)[-1]

    def text(self) -> str:
        """The list as written: 1.1 (no `imported` field, which 1.1 readers refuse) unless it
        carries imported stores."""
        if self.imported:
            return self.model_copy(update={"format": IMPORTED_FORMAT}).model_dump_json(indent=2) + "\n"
        return self.model_dump_json(indent=2, exclude={"imported"}) + "\n"

    def lookup(self) -> KeyLookup:
        """This list's keys, then those of every imported store this list's root endorses."""
        known = {
            k.fingerprint: SignerKey(
                k.owner, k.public_key_pem, None if k.retired_at is None else _when(k.retired_at)
            )
            for k in self.keys
        }
        lookups = [known.get] + [i.keys.lookup() for i in self.imported if self.endorsement(i) is None]

        def lookup(fingerprint: str) -> SignerKey | None:
            return next((found for each in lookups if (found := each(fingerprint)) is not None), None)

        return lookup

    def endorsement(self, imported: ImportedKeys) -> str | None:
        """Why this list's agency does not vouch for an imported store's root, or None."""
        if self.root is None or imported.keys.root is None or not self.intermediates:
            return "the key list carries no root to check the cross-certificate against"
        cross = pki.load_certificates(imported.cross_certificate)[0]
        foreign = pki.load_certificates(imported.keys.root)[0]
        agency_root = pki.load_certificates(self.root)[0]
        issuers = [c for text in self.intermediates for c in pki.load_certificates(text)]
        problems = [pki.endorsement_problem(cross, foreign, issuer, agency_root) for issuer in issuers]
        return None if None in problems else problems[0]

    def trust_for(self, origin: str | None) -> AgencyTrust:
        """The PKI a bundle is judged against: the agency's, or for a bundle moved in from a
        workstation store, that store's (only while this list's root endorses it)."""
        if origin is None:
            return self.agency_trust()
        imported = next((i for i in self.imported if i.store_id == origin), None)
        if imported is None:
            return AgencyTrust(source=f"the key list has no workstation store {origin}", roots=[])
        problem = self.endorsement(imported)
        if problem is not None:
            return AgencyTrust(source=f"workstation store {origin}: {problem}", roots=[])
        inner = imported.keys.agency_trust()
        return dataclasses.replace(inner, source=f"workstation store {origin}'s root, cross-certified by {self.agency}")

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
            requesting_roles=REQUESTING_ROLES,
            system_roles=SYSTEM_ROLES,
            certificates=[pki.load_certificates(c.pem)[0] for c in self.certificates],
            approving_roles=APPROVING_ROLES,
        )

    def time_trust(self) -> TimeTrust:
        return TimeTrust([pem.encode() for pem in self.all_tsa_roots()])

    def all_tsa_roots(self) -> list[str]:
        """This list's time-stamp roots and those of the imported stores it endorses."""
        return self.tsa_roots + [r for i in self.imported if self.endorsement(i) is None for r in i.keys.tsa_roots]


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
        imported=_imported(store),
    )


def _imported(store: Store) -> list[ImportedKeys]:
    """The key lists of the workstation stores moved into this agency store, from their
    archives, with the cross-certificate of each."""
    from sqlalchemy import select

    from collector.store import imports, schema

    if not store.ledger.location.shared:
        return []
    found = []
    for row in store.ledger.rows(select(schema.imported_stores).order_by(schema.imported_stores.c.store_id)):
        with imports.archived(store, str(row["store_id"])) as view:
            found.append(ImportedKeys(store_id=str(row["store_id"]), cross_certificate=str(row["cross_certificate"]),
                                      keys=key_list(view)))  # fmt: skip
    return found


def load_trust(path: Path) -> KeyList:
    """Read a key list made by `collector keys export`; every key and certificate in it
    must be what it says (fingerprints, digests, PEM)."""
    try:
        trust = KeyList.model_validate_json(files.read_regular(path, "--trust", MAX_KEY_LIST))
    except (ValidationError, ValueError) as exc:
        raise UsageError(f"--trust {path}: not a key list made by `collector keys export`") from exc
    if trust.format not in KEYS_FORMATS:
        raise UsageError(f"--trust {path}: unknown format {trust.format!r}")
    for entry in [*trust.keys, *(k for i in trust.imported for k in i.keys.keys)]:
        if keys.fingerprint(entry.public_key_pem.encode()) != entry.fingerprint:
            raise UsageError(
                f"--trust {path}: key {entry.fingerprint[:16]}… does not match its fingerprint"
            )
    try:
        trust.agency_trust()
        for inner in trust.imported:
            inner.keys.agency_trust()
            pki.load_certificates(inner.cross_certificate)[0]
        for cert in [*trust.certificates, *(c for i in trust.imported for c in i.keys.certificates)]:
            if certificate_sha256(pki.load_certificates(cert.pem)[0]) != cert.sha256:
                raise UsageError(f"--trust {path}: certificate {cert.serial} does not match its digest")
    except (ValueError, IndexError) as exc:
        raise UsageError(f"--trust {path}: a certificate or revocation list is unreadable") from exc
    return trust


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
