"""The store's side of the agency PKI: making the root and the intermediate, issuing and
revoking user certificates, and the revocation list (see `collector.evidence.pki`).

The root and intermediate private keys are encrypted (PKCS#8, scrypt) with the
administrator's passphrase (`$COLLECTOR_ADMIN_PASSPHRASE`, else a prompt). The intermediate
issues; the root is needed only to renew the intermediate, so it can be exported and removed
from the machine (`collector root export --out FILE --remove`). Certificates, revocations and
the authorities are append-only tables and each issuance and revocation is a ledger event,
so a certificate made later (by someone holding the intermediate) and back-dated cannot have
its issuance recorded before a seal it claims to have signed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, insert, select

from collector.errors import IntegrityError, Refused, UsageError
from collector.evidence import keys, pki
from collector.evidence.keys import KeyLookup
from collector.evidence.trust import AgencyTrust, Issuance
from collector.store import schema
from collector.store.actions import LedgerAction
from collector.store.ledger import Ledger, iso, now
from collector.store.model import User
from collector.store.roles import MATRIX, Action
from collector.store.vault import Vault

REQUESTING_ROLES = frozenset(role.value for role in MATRIX[Action.capture])
"""The roles whose certificate may sign a capture or a capture request: those that may capture."""
SEALING_ROLES = REQUESTING_ROLES | {role.value for role in MATRIX[Action.capture_job]}
"""The roles whose certificate may sign a bundle's seal: those that may capture, and capture
systems (whose bundles must also carry a request signed by one who may capture)."""
SYSTEM_ROLES = frozenset(role.value for role in MATRIX[Action.capture_job])
"""The roles of capture systems: machines that seal what an investigator requested."""
APPROVING_ROLES = frozenset(role.value for role in MATRIX[Action.auth_decide])
"""The roles whose certificate may approve an authorization."""

ADMIN_PASSPHRASE_ENV = "COLLECTOR_ADMIN_PASSPHRASE"  # noqa: S105 - the variable's name
PKI_DIR = "pki"
ROOT_KEY = "root.key.pem"
INTERMEDIATE_KEY = "intermediate.key.pem"
ROOT_CERT = "root.cert.pem"
INTERMEDIATE_CERT = "intermediate.cert.pem"
CRL = "crl.pem"


@dataclass(frozen=True)
class Issuer:
    """The unlocked intermediate: what issues and revokes."""

    key: Ed25519PrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True)
class CertificateRow:
    serial: int
    user: str
    role: str
    key_fingerprint: str
    certificate: x509.Certificate
    issued_at: datetime
    ledger_seq: int
    revoked: pki.Revocation | None


class AgencyPki:
    """The PKI of one store (its files under `keys/` and `pki/`, its rows in the ledger)."""

    def __init__(
        self, vault: Vault, ledger: Ledger, agency: str, cost: keys.Scrypt,
        pinned_root: str | None = None,
    ) -> None:
        self.vault = vault
        self.pinned_root = pinned_root
        self.ledger = ledger
        self.agency = agency
        self.cost = cost

    # ------------------------------------------------------------------ files

    @staticmethod
    def _file(name: str) -> str:
        return f"{PKI_DIR}/{name}"

    @staticmethod
    def _key(name: str) -> str:
        """The CA keys, apart from the users' keys (a user may be called `root`)."""
        return f"keys/agency/{name}"

    def exists(self) -> bool:
        """The ledger holds an issuing CA (files alone, left by a failed attempt, do not count)."""
        if "authorities" not in self.ledger.table_names():
            return False
        a = schema.authorities
        return bool(self.ledger.rows(select(a.c.serial).where(a.c.kind == "intermediate")))

    def root_certificate(self) -> x509.Certificate:
        """The agency root; in an agency store only the one its configuration pins."""
        root = self._certificate(ROOT_CERT)
        if self.pinned_root is not None and certificate_sha256(root) != self.pinned_root:
            raise IntegrityError(
                f"the agency root in {self.vault.describe(self._file(ROOT_CERT))} has sha256 "
                f"{certificate_sha256(root)}, not the {self.pinned_root} this store's "
                "configuration pins: nothing is trusted to it"
            )
        return root

    def intermediate_certificate(self) -> x509.Certificate:
        return self._certificate(INTERMEDIATE_CERT)

    def _certificate(self, name: str) -> x509.Certificate:
        data = self.vault.read(self._file(name))
        try:
            if data is None:
                raise ValueError(f"no {self.vault.describe(self._file(name))}")
            return x509.load_pem_x509_certificate(data)
        except ValueError as exc:
            raise UsageError(f"the agency PKI is missing or unreadable ({name}): {exc}") from exc

    def crl(self) -> x509.CertificateRevocationList | None:
        data = self.vault.read(self._file(CRL))
        return None if data is None else x509.load_pem_x509_crl(data)

    # ------------------------------------------------------------------ making it

    def create(self, admin_passphrase: str, db: Connection, actor: str | None) -> Issuer:
        """Make the root and the intermediate (inside the caller's ledger transaction)."""
        if self.exists():
            raise UsageError("this store already has an agency PKI")
        keys.check_passphrase(admin_passphrase, "the administrator's passphrase")
        for leftover in (self._key(ROOT_KEY), self._key(INTERMEDIATE_KEY)):
            self.vault.remove(leftover)  # from an attempt whose transaction rolled back
        at = now()
        root_key, issuing_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        root = pki.make_root(self.agency, root_key, at)
        intermediate = pki.make_intermediate(self.agency, issuing_key.public_key(), root_key, root, at)
        self.vault.create(self._key(ROOT_KEY), keys.wrap(root_key, admin_passphrase, self.cost))
        self.vault.create(
            self._key(INTERMEDIATE_KEY), keys.wrap(issuing_key, admin_passphrase, self.cost)
        )
        self.vault.replace(self._file(ROOT_CERT), pki.pem(root).encode("ascii"))
        self.vault.replace(self._file(INTERMEDIATE_CERT), pki.pem(intermediate).encode("ascii"))
        for kind, cert in (("root", root), ("intermediate", intermediate)):
            db.execute(
                insert(schema.authorities).values(
                    serial=str(cert.serial_number), kind=kind, pem=pki.pem(cert), created_at=iso(at)
                )
            )
            self.ledger.record_in(
                db, LedgerAction.pki_authority, actor=actor, subject=kind,
                details={"serial": str(cert.serial_number), "subject": cert.subject.rfc4514_string(),
                         "sha256": certificate_sha256(cert), "not_after": iso(cert.not_valid_after_utc)},
            )  # fmt: skip
        issuer = Issuer(issuing_key, intermediate)
        self._write_crl(issuer, db)
        return issuer

    def unlock(self, admin_passphrase: str) -> Issuer:
        """The intermediate's key, unlocked with the administrator's passphrase."""
        sealed_key = self.vault.read(self._key(INTERMEDIATE_KEY))
        if sealed_key is None:
            raise UsageError(f"the issuing CA's key is missing: "
                             f"{self.vault.describe(self._key(INTERMEDIATE_KEY))}")  # fmt: skip
        intermediate = self.intermediate_certificate()
        return Issuer(_check_key(sealed_key, admin_passphrase, intermediate, "issuing CA"), intermediate)

    def export_root(self, admin_passphrase: str, out: Path, *, remove: bool, actor: str | None) -> str:
        """Write the root's key (still encrypted with the administrator's passphrase) and its
        certificate to `out`, read it back, and with `remove` delete the key from the store.
        Returns the file's SHA-256. The root is needed only to renew the issuing CA."""
        sealed_key = self.vault.read(self._key(ROOT_KEY))
        if sealed_key is None:
            raise UsageError("the agency root's key is not on this machine (it was exported and removed)")
        if out.exists():
            raise UsageError(f"{out} exists: the root's key is never written over a file")
        root = self.root_certificate()
        _check_key(sealed_key, admin_passphrase, root, "agency root")
        content = sealed_key + pki.pem(root).encode("ascii")
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            written = out.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from exc
        if written != content:
            raise UsageError(f"{out} does not read back as written: the root's key was kept")
        _check_key(written, admin_passphrase, root, "exported root")
        digest = hashlib.sha256(written).hexdigest()
        self.ledger.record(
            LedgerAction.pki_root_exported, actor=actor, subject="root",
            details={"file": out.name, "sha256": digest, "removed": remove,
                     "serial": str(root.serial_number)},
        )  # fmt: skip
        if remove:
            self.vault.remove(self._key(ROOT_KEY))
        return digest

    # ------------------------------------------------------------------ certificates

    def issue(self, user: User, issuer: Issuer, db: Connection, actor: str | None) -> x509.Certificate:
        """Certify `user`'s registered key with its role (inside the caller's transaction)."""
        at = now()
        certificate = pki.issue_user(
            user=user.name, full_name=user.full_name, badge=user.badge, role=user.role.value,
            agency=self.agency, public_key=keys.load_public(user.public_key_pem.encode()),
            issuer_key=issuer.key, issuer=issuer.certificate, now=at,
        )  # fmt: skip
        event = self.ledger.record_in(
            db, LedgerAction.pki_issued, actor=actor, subject=user.name,
            details={"serial": str(certificate.serial_number), "role": user.role.value,
                     "key_fingerprint": user.key_fingerprint, "sha256": certificate_sha256(certificate),
                     "not_after": iso(certificate.not_valid_after_utc)},
        )  # fmt: skip
        db.execute(
            insert(schema.certificates).values(
                serial=str(certificate.serial_number), user=user.name, role=user.role.value,
                key_fingerprint=user.key_fingerprint,
                issuer_serial=str(issuer.certificate.serial_number), pem=pki.pem(certificate),
                issued_at=iso(at), ledger_seq=event.seq,
            )
        )  # fmt: skip
        return certificate

    def revoke(
        self,
        serial: int,
        reason: str,
        invalid_from: datetime,
        issuer: Issuer,
        db: Connection,
        actor: str | None,
    ) -> None:
        """Revoke a certificate from `invalid_from` on and publish a new revocation list."""
        at = now()
        event = self.ledger.record_in(
            db, LedgerAction.pki_revoked, actor=actor, subject=self._owner(db, serial),
            details={"serial": str(serial), "reason": reason, "invalid_from": iso(invalid_from)},
        )  # fmt: skip
        db.execute(
            insert(schema.revocations).values(
                serial=str(serial), revoked_at=iso(at), invalid_from=iso(invalid_from),
                reason=reason, ledger_seq=event.seq,
            )
        )  # fmt: skip
        self._write_crl(issuer, db)

    def _owner(self, db: Connection, serial: int) -> str:
        row = db.execute(
            select(schema.certificates.c.user).where(schema.certificates.c.serial == str(serial))
        ).first()
        if row is None:
            raise UsageError(f"no certificate with serial {serial}")
        return str(row.user)

    def _write_crl(self, issuer: Issuer, db: Connection) -> None:
        rows = db.execute(select(schema.revocations)).mappings().all()
        revocations = [
            pki.Revocation(int(r["serial"]), datetime.fromisoformat(r["revoked_at"]),
                           datetime.fromisoformat(r["invalid_from"]), r["reason"])
            for r in rows
        ]  # fmt: skip
        crl = pki.make_crl(revocations, issuer.key, issuer.certificate, now(), len(revocations) + 1)
        self.vault.replace(self._file(CRL), pki.pem(crl).encode("ascii"))

    def certificates(self, user: str | None = None) -> list[CertificateRow]:
        c, r = schema.certificates, schema.revocations
        query = select(c, r.c.revoked_at, r.c.invalid_from, r.c.reason).join_from(
            c, r, c.c.serial == r.c.serial, isouter=True
        )
        if user is not None:
            query = query.where(c.c.user == user)
        found = []
        for row in self.ledger.rows(query.order_by(c.c.issued_at)):
            revoked = None
            if row["revoked_at"] is not None:
                revoked = pki.Revocation(int(row["serial"]), datetime.fromisoformat(row["revoked_at"]),
                                         datetime.fromisoformat(row["invalid_from"]), row["reason"])  # fmt: skip
            found.append(
                CertificateRow(
                    serial=int(row["serial"]), user=row["user"], role=row["role"],
                    key_fingerprint=row["key_fingerprint"],
                    certificate=x509.load_pem_x509_certificate(row["pem"].encode("ascii")),
                    issued_at=datetime.fromisoformat(row["issued_at"]),
                    ledger_seq=int(row["ledger_seq"]), revoked=revoked,
                )
            )  # fmt: skip
        return found

    def current(self, user: str, key_fingerprint: str) -> CertificateRow | None:
        """The user's newest certificate for this key that is valid now and not revoked, and
        that chains to this store's root."""
        at = now()
        root, intermediate = self.root_certificate(), self.intermediate_certificate()
        for row in reversed(self.certificates(user)):
            if row.revoked is not None or row.key_fingerprint != key_fingerprint:
                continue
            if pki.chain_problem(row.certificate, [intermediate], [root], at) is None:
                return row
        return None

    def for_key(self, key_fingerprint: str) -> list[CertificateRow]:
        return [row for row in self.certificates() if row.key_fingerprint == key_fingerprint]

    def role_at(self, user: str, at: datetime) -> str | None:
        """The role `user` holds at `at` by a certificate: issued by this store's CA, its
        issuance recorded by then, valid then and not revoked with effect by then. None when
        no certificate says so (whatever the users table says)."""
        intermediate, issued = self.intermediate_certificate(), self.issuances()
        for row in reversed(self.certificates(user)):
            cert = row.certificate
            holder = pki.holder(cert)
            recorded = issued.get(certificate_sha256(cert))
            if (
                holder is None or holder.user != user or recorded is None
                or recorded.recorded_at > at or not pki.issued_by(cert, intermediate)
                or not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc
                or (row.revoked is not None and row.revoked.invalid_from <= at)
            ):  # fmt: skip
                continue
            return holder.role
        return None

    def issuances(self) -> dict[str, Issuance]:
        """Every certificate issuance the ledger records, by the certificate's SHA-256."""
        events = self.ledger.events_where(schema.events.c.action == LedgerAction.pki_issued.value)
        return {
            str(e.details.get("sha256")): Issuance(recorded_at=e.at, ledger_seq=e.seq)
            for e in events
            if e.outcome == "ok"
        }

    def trust(self) -> AgencyTrust:
        """This store's PKI as a verifier trusts it: its root, its intermediate, its
        revocation list and the issuances its ledger records."""
        crl = self.crl()
        return AgencyTrust(
            source="this store's agency root",
            roots=[self.root_certificate()],
            intermediates=[self.intermediate_certificate()],
            crls=[crl] if crl is not None else [],
            issued=self.issuances(),
            sealing_roles=SEALING_ROLES,
            requesting_roles=REQUESTING_ROLES,
            system_roles=SYSTEM_ROLES,
            certificates=[row.certificate for row in self.certificates()],
            approving_roles=APPROVING_ROLES,
        )

    def certified_keys(self) -> set[str]:
        """Fingerprints of keys with a certificate the intermediate signed and the ledger
        records as issued (a key row inserted into the ledger alone is not among them)."""
        intermediate, issued = self.intermediate_certificate(), self.issuances()
        return {
            row.key_fingerprint
            for row in self.certificates()
            if pki.issued_by(row.certificate, intermediate)
            and certificate_sha256(row.certificate) in issued
            and keys.fingerprint(pki.public_key_pem(row.certificate).encode()) == row.key_fingerprint
        }

    def key_lookup(self) -> KeyLookup:
        """The key registry, restricted to certified keys (see `certified_keys`)."""
        if not self.exists():
            return self.ledger.key
        certified = self.certified_keys()
        found: dict[str, keys.SignerKey | None] = {}

        def lookup(fingerprint: str) -> keys.SignerKey | None:
            if fingerprint not in found:
                found[fingerprint] = self.ledger.key(fingerprint) if fingerprint in certified else None
            return found[fingerprint]

        return lookup


def _check_key(
    pem_bytes: bytes, passphrase: str, certificate: x509.Certificate, what: str
) -> Ed25519PrivateKey:
    """Unlock a CA key and check it is the one its certificate names."""
    try:
        key = serialization.load_pem_private_key(pem_bytes, password=passphrase.encode("utf-8"))
    except (ValueError, TypeError) as exc:
        raise Refused(f"wrong administrator's passphrase for the {what}'s key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise Refused(f"the {what}'s key is not Ed25519")
    if keys.public_pem(key.public_key()).decode() != pki.public_key_pem(certificate):
        raise Refused(f"the {what}'s key does not match its certificate")
    return key


def certificate_sha256(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()
