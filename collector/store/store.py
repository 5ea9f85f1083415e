"""The evidence store on disk: configuration, ledger, bundles and keys.

```
STORE/
  collector.toml     configuration and agency policy
  ledger.sqlite      users, keys, authorizations, bundles, events (rollback journal)
  bundles/           sealed bundles, read-only
  keys/              NAME.key.pem (encrypted, 0600) and NAME.pub.pem
  work/              captures in progress; never looks like a bundle
```
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy import Connection, inspect

from collector import __version__
from collector.errors import IntegrityError, Refused, UsageError
from collector.evidence import files, keys, pki
from collector.evidence.clock import parse_server
from collector.evidence.keys import KeyLookup
from collector.evidence.model import PolicyStamp
from collector.evidence.text import MAX_NAME, brief
from collector.evidence.text import check as check_text
from collector.evidence.urls import parse_url
from collector.store import migrate, schema, signing
from collector.store.actions import LedgerAction, denied_action
from collector.store.config import (
    CONFIG_NAME,
    BundlesConfig,
    LedgerConfig,
    StoreConfig,
    allowed_host,
    load_config,
    write_config,
)
from collector.store.database import LEDGER_FILE
from collector.store.ledger import Ledger, now
from collector.store.model import BundleRow, Role, User
from collector.store.objects import Bucket
from collector.store.pki import ADMIN_PASSPHRASE_ENV, AgencyPki, Issuer, certificate_sha256
from collector.store.roles import Action, allowed
from collector.store.signing import BEGINS, SigningKey
from collector.store.vault import DatabaseVault, DirectoryVault, Vault

LEDGER_NAME = LEDGER_FILE
SYSTEM_USER = signing.SYSTEM_USER
LOCAL_CAPTURE = "local-capture"
"""A workstation store's own capture system: seals the captures of a batch its investigator signed."""
USER_NAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")


@dataclass(frozen=True)
class Identity:
    """A user known by name and certified role, holding no key: a web session between the
    requests that prove it with the passphrase. May read and be refused; signs nothing."""

    user: User


@dataclass(frozen=True)
class Actor(Identity):
    """A user who proved who they are by unlocking their private key."""

    key: Ed25519PrivateKey


class Store:
    """An opened evidence store."""

    def __init__(self, root: Path, *, check_schema: bool = True, read_only: bool = False) -> None:
        self.root = root.absolute()  # a batch's threads must not follow another's chdir (bagit)
        self.config: StoreConfig = load_config(root / CONFIG_NAME)
        self.read_only = read_only or on_read_only_media(root)
        self.ledger = Ledger(self.config.ledger.location(root), check_schema=check_schema,
                             read_only=self.read_only)  # fmt: skip
        self.vault: Vault = (
            DatabaseVault(self.ledger) if self.ledger.location.shared else DirectoryVault(root)
        )
        if self.ledger.location.shared and not self.read_only:
            for local in (self.bundles_dir, self.work_dir):  # a workstation joining the agency
                local.mkdir(exist_ok=True, mode=0o750)
        self._load_system_signer()

    # ------------------------------------------------------------------ layout

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def bundles_dir(self) -> Path:
        return self.root / "bundles"

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    @property
    def scratch_dir(self) -> Path | None:
        """Where a command's temporary files go: `work/`, or the system's temporary directory
        for a store on read-only media."""
        return None if self.read_only else self.work_dir

    @staticmethod
    def private_key_entry(name: str) -> str:
        """The vault entry of a user's (encrypted) private key."""
        return f"keys/{name}.key.pem"

    def public_key(self, name: str) -> bytes:
        """A user's public key (PEM), as registered when the user was added."""
        data = self.vault.read(f"keys/{name}.pub.pem")
        if data is None:
            raise UsageError(f"no public key of {name!r} in {self.vault.describe('keys/')}")
        return data

    def policy_stamp(self) -> PolicyStamp:
        """The policy's version and the SHA-256 of its canonical JSON, for every bundle."""
        policy = self.config.policy
        # an empty allowed-host list is left out, so policies made before it existed keep
        # the digest every earlier bundle recorded for them
        dumped = policy.model_dump(mode="json", exclude=set() if policy.allowed_hosts else {"allowed_hosts"})
        digest = hashlib.sha256(rfc8785.dumps(dumped)).hexdigest()
        return PolicyStamp(
            version=policy.version, sha256=digest, last_reviewed=policy.last_reviewed
        )

    def redaction_key(self) -> bytes:
        """The store's secret for keyed digests of alias credentials (created once, mode 0600)."""
        entry = "keys/redaction.key"
        found = self.vault.read(entry)
        if found is None:
            with contextlib.suppress(FileExistsError, UsageError):  # another process made it first
                self.vault.create(entry, os.urandom(32))
            found = self.vault.read(entry)
        assert found is not None
        return found

    def tsa_roots(self) -> list[bytes]:
        """The PEM roots time-stamp tokens must chain to (in the vault: the store's `tsa/`, or
        an agency store's database, where each must be the root recorded when the store was
        made, since every workstation's role may write the vault)."""
        roots = []
        for name in self.config.timestamp.roots:
            pem = self.vault.read(name)
            if pem is None:
                raise IntegrityError(f"the time-stamp root {self.vault.describe(name)} is missing")
            roots.append(pem)
        if self.config.ledger.location(self.root).shared and roots:
            made = self.ledger.events_where(schema.events.c.action == LedgerAction.store_init.value)
            pinned = made[0].details.get("tsa_roots_sha256") if made else None
            if pinned != [hashlib.sha256(pem).hexdigest() for pem in roots]:
                raise IntegrityError("the time-stamp roots in the database are not those recorded "
                                     "when the store was made: nothing is judged against them")  # fmt: skip
        return roots

    def bundle_path(self, row: BundleRow) -> Path:
        """Where a recorded bundle lives (the ledger keeps paths relative to the store)."""
        return self.root / row.path

    def config_sha256(self) -> str:
        return hashlib.sha256(self.config_path.read_bytes()).hexdigest()

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def init(
        cls,
        root: Path,
        *,
        agency: str,
        allow_private_network: bool,
        allow_hosts: list[str] | None = None,
        chromium: str | None = None,
        admin_passphrase: str | Callable[[], str],
        tsa_urls: list[str] | None = None,
        tsa_roots: list[Path] | None = None,
        ntp_server: str | None = None,
        ledger_url: str | None = None,
        ledger_role: str | None = None,
        bundles_url: str | None = None,
        s3_endpoint: str | None = None,
    ) -> Store:
        """Create a new store; refuses to touch a directory that already holds one. Every
        argument is checked before `admin_passphrase` (a value, or a function that asks) is.

        With `ledger_url` the ledger is made in that (empty) PostgreSQL database, by the role
        libpq's environment names, which then owns its tables; `ledger_role` is the role the
        workstations will use. With `bundles_url` (s3://BUCKET, with `--ledger`) sealed bundles
        are committed to that Object Lock bucket, which is checked first."""
        try:
            root.exists()
        except OSError as exc:  # a name too long, a loop of links
            raise UsageError(f"cannot create a store at {brief(str(root))}: {exc.strerror or exc}") from exc
        if root.exists() and not root.is_dir():
            raise UsageError(f"{root} exists and is not a directory: a store is a directory")
        if (root / CONFIG_NAME).exists():
            raise UsageError(f"{root} already holds an evidence store")
        if root.exists() and any(root.iterdir()):
            raise UsageError(f"{root} exists and is not empty")
        _check_creatable(root)
        config = StoreConfig(agency=check_text(agency, "--agency", MAX_NAME))
        if ledger_role is not None and ledger_url is None:
            raise UsageError("--ledger-role goes with --ledger")
        try:
            config.ledger = LedgerConfig(
                url=ledger_url, app_role=ledger_role or LedgerConfig().app_role
            )
        except ValidationError as exc:
            raise UsageError(f"--ledger-role: {exc.errors()[0]['msg']}") from exc
        if s3_endpoint and not bundles_url:
            raise UsageError("--s3-endpoint goes with --bundles")
        if bundles_url:
            if not ledger_url:
                raise UsageError("--bundles needs --ledger: the versions of what the workstations "
                                 "commit to a shared bucket are recorded in a shared ledger")  # fmt: skip
            try:
                config.bundles = BundlesConfig(url=bundles_url, endpoint=s3_endpoint)
            except ValidationError as exc:
                raise UsageError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from exc
            Bucket(bundles_url, s3_endpoint).check()
        config.policy.allow_private_network = allow_private_network
        try:
            config.policy.allowed_hosts = [allowed_host(text) for text in allow_hosts or []]
        except ValueError as exc:
            raise UsageError(f"--allow-host {exc}") from exc
        if chromium:
            if not (Path(chromium).is_file() and os.access(chromium, os.X_OK)):
                raise UsageError(f"--chromium {chromium[:200]!r} is not an executable file")
            config.browser.executable_path = chromium
        for url in tsa_urls or []:
            try:
                parse_url(url)
            except (Refused, UsageError) as exc:
                raise UsageError(f"--tsa-url {url[:200]!r}: {exc}") from exc
        roots = _read_roots(tsa_roots or [])
        if tsa_urls and not roots:
            raise UsageError("--tsa-url needs --tsa-root: the CA its tokens must chain to")
        config.timestamp.urls = list(tsa_urls or [])
        config.timestamp.roots = [f"tsa/root-{n}.pem" for n in range(1, len(roots) + 1)]
        if ntp_server:
            parse_server(ntp_server)
            config.clock.ntp_server = ntp_server
        admin = admin_passphrase() if callable(admin_passphrase) else admin_passphrase
        keys.check_passphrase(admin, "the administrator's passphrase")
        location = config.ledger.location(root)
        if location.shared:  # the database first: if it cannot be made, nothing local is
            Ledger.create(location, app_role=config.ledger.app_role).close()
        try:
            root.mkdir(parents=True, exist_ok=True, mode=0o750)
        except OSError as exc:
            raise UsageError(f"cannot create a store at {root}: {exc.strerror or exc}") from exc
        for sub in ("bundles", "work") if location.shared else ("bundles", "work", "tsa"):
            (root / sub).mkdir(mode=0o750)
        if not location.shared:
            (root / "keys").mkdir(mode=0o700)
        write_config(root / CONFIG_NAME, config)
        if not location.shared:
            Ledger.create(location).close()
        store = cls(root)
        for name, pem in zip(config.timestamp.roots, roots, strict=True):
            store.vault.create(name, pem)
        store.vault.create(store.private_key_entry(SYSTEM_USER), keys.generate_unencrypted())
        store._load_system_signer()
        assert store.ledger.signers.system is not None
        store.ledger.record(
            LedgerAction.store_init,
            details={
                "ledger_signing": BEGINS,
                "system_key": store.ledger.signers.system.fingerprint,
                "agency": agency,
                "store_id": config.store_id,
                "allow_private_network": allow_private_network,
                "allowed_hosts": config.policy.allowed_hosts,
                "chromium": config.browser.executable_path,
                "tsa_urls": config.timestamp.urls,
                "tsa_roots_sha256": [hashlib.sha256(pem).hexdigest() for pem in roots],
                "ntp_server": config.clock.ntp_server,
                "config_sha256": store.config_sha256(),
            },
        )
        with store.ledger.transaction() as db:
            issuer = store.pki.create(admin, db, actor=None)
        store._make_system_key(issuer)
        store._make_local_capture(issuer)
        store._make_archive_signer(issuer)
        if location.shared:  # pinned outside the database every workstation may write
            store.config.agency_root_sha256 = certificate_sha256(store.pki.root_certificate())
            write_config(root / CONFIG_NAME, store.config)
        return store

    @classmethod
    def open(cls, root: Path, *, check_schema: bool = True) -> Store:
        """Open a store; refused unless its ledger is at this version's schema revision
        (`check_schema=False` is for `collector store status` and `store upgrade`)."""
        try:
            found = (root / CONFIG_NAME).is_file()
        except OSError as exc:  # a name too long, a loop of links
            raise UsageError(f"no evidence store at {brief(str(root))}: {exc.strerror or exc}") from exc
        if not found:
            raise UsageError(f"no evidence store at {root}: run `collector init` or pass --store")
        return cls(root, check_schema=check_schema)

    def upgrade(self, actor: Actor | None, admin_passphrase: str | None = None) -> dict[str, Any]:
        """Bring the ledger to this version's schema revision, recorded in the ledger.

        All migrations and the `store.upgrade` event run in one transaction: an upgrade that
        fails leaves the ledger exactly as it was. Administration: no actor (whoever controls
        the store directory) or an admin.
        """
        if actor is not None:
            self.require(actor, Action.store_admin)
        before = self.ledger.schema_status()
        if before.state == "newer":
            raise migrate.SchemaMismatch(f"this store cannot be upgraded: {before.describe()}")
        if before.state == "empty":
            raise UsageError("the ledger has no tables: this is not an evidence store's ledger")
        if before.state == "current":
            return {"from": before.revision, "to": before.revision, "upgraded": False,
                    "tables_created": []}  # fmt: skip
        tables_before = set(self.ledger.table_names())
        signed_before = "signature" in self.ledger.column_names("events")
        by = actor.user.name if actor else None
        issuer: Issuer | None = None
        if self.ledger.signers.system is None:  # from here on every event is signed
            entry = self.private_key_entry(SYSTEM_USER)
            if self.vault.read(entry) is None:
                self.vault.create(entry, keys.generate_unencrypted())
            self._load_system_signer()
        with self.ledger.transaction() as db:
            migrate.upgrade(db, app_role=self.config.ledger.app_role)
            created = sorted(set(inspect(db).get_table_names()) - tables_before)
            details: dict[str, Any] = {"from": before.revision, "to": schema.HEAD, "upgraded": True,
                                       "tables_created": created, "tool_version": __version__}  # fmt: skip
            if not signed_before:
                details["ledger_signing"] = BEGINS
            if not self.pki.exists():
                if not admin_passphrase:
                    raise UsageError(
                        "this upgrade makes the agency PKI and certifies every user: give the "
                        f"administrator's passphrase (${ADMIN_PASSPHRASE_ENV} or the prompt)"
                    )
                issuer = self.pki.create(admin_passphrase, db, actor=by)
                certified = []
                for user in self.ledger.users():  # retired users too: their old signatures
                    made = self.pki.issue(user, issuer, db, by)
                    certified.append(user.name)
                    if user.retired_at is not None:
                        self.pki.revoke(made.serial_number, "retired", user.retired_at, issuer,
                                        db, by)  # fmt: skip
                details["pki"] = {"created": True, "certified": certified}
            self.ledger.record_in(db, LedgerAction.store_upgrade, actor=by, details=details)
        if issuer is not None:
            self._make_system_key(issuer)
            self._make_local_capture(issuer)
            self._make_archive_signer(issuer)
        return details

    def close(self) -> None:
        self.ledger.close()

    # ------------------------------------------------------------------ users

    def add_user(
        self,
        name: str,
        *,
        role: Role,
        full_name: str,
        badge: str,
        passphrase: str,
        actor: Actor | None,
        admin_passphrase: str,
    ) -> User:
        """Create a user, their key pair and their certificate (the administrator's passphrase
        unlocks the issuing CA). Administration: no actor, or an admin actor."""
        if actor is not None:
            self.require(actor, Action.user_admin, subject=name)
        if role is Role.system or name in (SYSTEM_USER, LOCAL_CAPTURE):
            raise UsageError(f"{SYSTEM_USER!r}, {LOCAL_CAPTURE!r} and the role 'system' are the store's own")
        if not USER_NAME.match(name):
            raise UsageError(
                "user names are 2-32 characters: lower-case letters, digits, '.', '_' or '-',"
                " starting with a letter"
            )
        if not full_name.strip() or not badge.strip():
            raise UsageError("--name and --badge must not be empty")
        if self.ledger.user(name) is not None:
            raise UsageError(f"user {name!r} already exists")
        issuer = self.pki.unlock(admin_passphrase)
        private_pem, public_pem = keys.generate(passphrase, self.key_cost())
        fingerprint = keys.fingerprint(public_pem)
        self.vault.replace(self.private_key_entry(name), private_pem)
        self.vault.replace(f"keys/{name}.pub.pem", public_pem)
        user = User(
            name=name,
            full_name=full_name.strip(),
            badge=badge.strip(),
            role=role,
            created_at=now(),
            key_fingerprint=fingerprint,
            public_key_pem=public_pem.decode(),
        )
        by = None if actor is None else actor.user.name
        self.ledger.add_user(user, actor=by, also=lambda db: self.pki.issue(user, issuer, db, by))
        return user

    def retire_user(
        self,
        name: str,
        *,
        actor: Actor | None,
        admin_passphrase: str,
        compromised_since: datetime | None = None,
    ) -> None:
        """Retire a user and revoke their certificates: from now on, or, when their key was
        compromised, from `compromised_since` (signatures from then on no longer verify). The
        key stays registered for verifying what it signed before."""
        if actor is not None:
            self.require(actor, Action.user_admin, subject=name)
        if compromised_since is not None and compromised_since > now():
            raise UsageError("--compromised-since is in the future")
        issuer = self.pki.unlock(admin_passphrase)
        by = None if actor is None else actor.user.name

        def revoke(db: Connection) -> None:
            at = compromised_since or now()
            reason = "retired" if compromised_since is None else "key-compromise"
            for row in self.pki.certificates(name):
                if row.revoked is None:
                    self.pki.revoke(row.serial, reason, at, issuer, db, by)

        self.ledger.retire_user(name, actor=by, also=revoke)

    def change_role(
        self, name: str, role: Role, *, actor: Actor | None, admin_passphrase: str
    ) -> User:
        """Give a user another role: a new certificate, the old one superseded from now on."""
        if actor is not None:
            self.require(actor, Action.user_admin, subject=name)
        if role is Role.system:
            raise UsageError("the role 'system' is the store's own key's")
        user = self.ledger.user(name)
        if user is None:
            raise UsageError(f"no such user {name!r}")
        issuer = self.pki.unlock(admin_passphrase)
        by = None if actor is None else actor.user.name
        renewed = user.model_copy(update={"role": role})

        def certify(db: Connection) -> None:
            at = now()
            for row in self.pki.certificates(name):
                if row.revoked is None:
                    self.pki.revoke(row.serial, "superseded", at, issuer, db, by)
            self.pki.issue(renewed, issuer, db, by)

        self.ledger.set_role(name, role, actor=by, also=certify)
        return renewed

    @property
    def pki(self) -> AgencyPki:
        return AgencyPki(self.vault, self.ledger, self.config.agency, self.key_cost(),
                         self.config.agency_root_sha256)  # fmt: skip

    def _system_key(self) -> Ed25519PrivateKey | None:
        entry = self.private_key_entry(SYSTEM_USER)
        data = self.vault.read(entry)
        return None if data is None else keys.unencrypted_from(data, self.vault.describe(entry))

    def _load_system_signer(self) -> None:
        key = self._system_key()
        if key is not None:
            self.ledger.signers.system = SigningKey.of(key)

    def _make_system_key(self, issuer: Issuer) -> None:
        """The store's own key (see `system_actor`), registered and certified."""
        if self._system_key() is None:
            self.vault.create(self.private_key_entry(SYSTEM_USER), keys.generate_unencrypted())
            self._load_system_signer()
        key = self._system_key()
        assert key is not None
        public = keys.public_pem(key.public_key())
        self.vault.replace(f"keys/{SYSTEM_USER}.pub.pem", public)
        if self.ledger.user(SYSTEM_USER) is not None:
            return
        user = User(
            name=SYSTEM_USER, full_name="collector: this store's own key", badge="-",
            role=Role.system, created_at=now(), key_fingerprint=keys.fingerprint(public),
            public_key_pem=public.decode(),
        )  # fmt: skip
        self.ledger.add_user(user, actor=None, also=lambda db: self.pki.issue(user, issuer, db, None))

    def _make_local_capture(self, issuer: Issuer) -> None:
        """A workstation store's local capture system (see `local_capture_actor`): its key,
        registered as the user `local-capture` of role capture-system, certified. An agency store
        has none: its capture machines are enrolled as users of their own."""
        if self.config.ledger.url is not None or self.ledger.user(LOCAL_CAPTURE) is not None:
            return
        entry = self.private_key_entry(LOCAL_CAPTURE)
        if self.vault.read(entry) is None:
            self.vault.create(entry, keys.generate_unencrypted())
        key = self._local_capture_key()
        assert key is not None
        public = keys.public_pem(key.public_key())
        self.vault.replace(f"keys/{LOCAL_CAPTURE}.pub.pem", public)
        host = socket.gethostname()[:64] or "-"
        user = User(
            name=LOCAL_CAPTURE, full_name=f"Local capture system on {host}", badge=host,
            role=Role.capture_system, created_at=now(), key_fingerprint=keys.fingerprint(public),
            public_key_pem=public.decode(),
        )  # fmt: skip
        self.ledger.add_user(user, actor=None, also=lambda db: self.pki.issue(user, issuer, db, None))

    def _make_archive_signer(self, issuer: Issuer) -> None:
        """The store's WACZ signing key (`collector.store.archive_signer`), certified."""
        from collector.store import archive_signer

        archive_signer.make(self, issuer, None)

    def _local_capture_key(self) -> Ed25519PrivateKey | None:
        entry = self.private_key_entry(LOCAL_CAPTURE)
        data = self.vault.read(entry)
        return None if data is None else keys.unencrypted_from(data, self.vault.describe(entry))

    def local_capture_actor(self) -> Actor | None:
        """The workstation's local capture system, ready to seal, or None where the store has
        none (an agency store, or a store made before it existed and not upgraded since).

        Like the store's own key, its private key is in the store unencrypted (mode 0600): anyone
        who can write the store can seal as it, which its certificate says (role capture-system,
        this machine). It seals only captures an investigator signed a request for.
        """
        user = self.ledger.user(LOCAL_CAPTURE)
        key = self._local_capture_key()
        if user is None or key is None or user.role is not Role.capture_system:
            return None
        if user.key_fingerprint != keys.fingerprint(keys.public_pem(key.public_key())):
            raise Refused("the local capture system's key does not match its registration in the ledger")
        self.ledger.signers.people[LOCAL_CAPTURE] = SigningKey(user.key_fingerprint, key)
        return Actor(user=user, key=key)

    def system_actor(self) -> Actor:
        """The store's own key, for events no person made (recovery, reconciliation).

        Its private key is a file in the store, unencrypted (mode 0600): anyone who can write
        the store can sign as it, so it signs nothing else. It is made and certified with the
        store (or its upgrade) and registered as the user `system`.
        """
        user = self.ledger.user(SYSTEM_USER)
        key = self._system_key()
        if user is None or key is None:
            raise UsageError("this store has no key of its own: run `collector store upgrade`")
        if user.key_fingerprint != keys.fingerprint(keys.public_pem(key.public_key())):
            raise Refused("the store's own key does not match its registration in the ledger")
        return Actor(user=user, key=key)

    def authenticate(self, name: str, passphrase: str) -> Actor:
        """Unlock `name`'s key with the passphrase; every failure is a recorded refusal."""
        user = self.ledger.user(name)
        reason: str | None = None
        if user is None:
            reason = f"no such user {name!r}"
        elif user.role is Role.system or name == LOCAL_CAPTURE:
            reason = f"{name!r} is the store's own key and never logs in"
        elif user.retired_at is not None:
            reason = f"user {name!r} is retired"
        if user is None or reason is not None:
            self._login_refused(actor=name, details={"reason": reason})
            raise Refused(reason or "refused")
        misses, wait = self._backoff(name)
        if wait > 0:
            reason = (
                f"too many wrong passphrases for {name!r} in a row: try again in {wait:.0f}s"
            )
            self._login_refused(actor=name,
                               details={"reason": reason, "backoff_s": round(wait, 1)})  # fmt: skip
            raise Refused(reason)
        try:
            key = keys.unlock(self.vault.read(self.private_key_entry(name)), passphrase, name)
        except Refused as exc:
            self._login_refused(actor=name,
                               details={"reason": str(exc), "wrong_passphrase": True})  # fmt: skip
            raise
        if keys.fingerprint(keys.public_pem(key.public_key())) != user.key_fingerprint:
            reason = f"private key of {name!r} does not match the key registry"
            self._login_refused(actor=name, details={"reason": reason})
            raise Refused(reason)
        if not self.pki.exists():  # a store made before the PKI: only `store upgrade` opens one
            return Actor(user=user, key=key)
        current = self.pki.current(name, user.key_fingerprint)
        certified = pki.holder(current.certificate) if current is not None else None
        if certified is None or certified.user != name or certified.role != user.role.value:
            reason = (
                f"{name!r} has no valid certificate for this key"
                if certified is None or certified.user != name
                else f"{name!r}'s role in the ledger ({user.role.value}) is not the role "
                f"certified ({certified.role}): roles come from certificates"
            )
            self._login_refused(actor=name, details={"reason": reason})
            raise Refused(reason)
        user = user.model_copy(update={"role": Role(certified.role)})
        self.ledger.signers.people[name] = SigningKey(user.key_fingerprint, key)
        if misses and not self.read_only:  # the count of wrong passphrases starts again here
            self.ledger.record(LedgerAction.auth_login, actor=name,
                               details={"after_wrong_passphrases": misses})  # fmt: skip
        self._rewrap_if_weak(name, key, passphrase)
        return Actor(user=user, key=key)

    def identify(self, name: str) -> Identity:
        """The user a session names, as the ledger and the PKI say now (a retired user, or a
        role no longer certified, ends the session): a refusal is recorded like a log-in's."""
        user = self.ledger.user(name)
        role = self.certified_role(name) if user is not None else None
        reason: str | None = None
        if user is None or user.role is Role.system or name == LOCAL_CAPTURE:
            reason = f"{name!r} may not log in"
        elif user.retired_at is not None:
            reason = f"user {name!r} is retired"
        elif self.pki.exists() and role is None:
            reason = f"{name!r} has no valid certificate"
        if user is None or reason is not None:
            self._login_refused(actor=name, details={"reason": f"session ended: {reason}"})
            raise Refused(reason or "refused")
        return Identity(user=user.model_copy(update={"role": role}) if role else user)

    def certified_role(self, name: str, at: datetime | None = None) -> Role | None:
        """The role a certificate gives `name` at `at` (default now): how the tool judges
        anyone's role other than the acting user's (who proved theirs at log-in)."""
        role = self.pki.role_at(name, at or now())
        return Role(role) if role is not None else None

    def key_lookup(self) -> KeyLookup:
        """The key registry as verifiers use it: only keys the agency PKI certified."""
        return self.pki.key_lookup()

    def signer_chain(self, actor: Actor) -> bytes:
        """The actor's current certificate and its issuing CA's (PEM), for `signer-chain.pem`."""
        return self.chain_of(actor.user)

    def chain_of(self, user: User) -> bytes:
        """A user's current certificate and its issuing CA's (PEM); Refused when they have none."""
        row = self.pki.current(user.name, user.key_fingerprint)
        if row is None:
            raise Refused(f"{user.name!r} has no valid certificate to sign with")
        return (pki.pem(row.certificate) + pki.pem(self.pki.intermediate_certificate())).encode()

    def _login_refused(self, *, actor: str, details: dict[str, Any]) -> None:
        """Record a refused log-in (on read-only media it cannot be: the command said so when it
        opened the store)."""
        if self.read_only:
            return
        self.ledger.record(LedgerAction.auth_login, "refused", actor=actor, details=details)

    def key_cost(self) -> keys.Scrypt:
        setting = self.config.keys
        return keys.Scrypt(setting.scrypt_n, setting.scrypt_r, setting.scrypt_p)

    def _backoff(self, name: str) -> tuple[int, float]:
        """Wrong passphrases for `name` since its last success, and the seconds it must still
        wait: after `backoff_after` in a row, twice as long after each further one (capped),
        counted from the last one."""
        setting = self.config.keys
        misses: list[datetime] = []
        for event in reversed(self.ledger.events_by(name)):
            if event.action == LedgerAction.auth_login.value and event.outcome == "refused":
                if event.details.get("wrong_passphrase"):
                    misses.append(event.at)
                continue  # a refusal while waiting neither counts nor resets
            if event.outcome == "ok":
                break  # a successful action since: the count starts again
        if len(misses) < setting.backoff_after:
            return len(misses), 0.0
        wait = min(2.0 ** (len(misses) - setting.backoff_after), float(setting.backoff_max_s))
        return len(misses), max(0.0, wait - (now() - misses[0]).total_seconds())

    def _rewrap_if_weak(self, name: str, key: Ed25519PrivateKey, passphrase: str) -> None:
        """Re-encrypt a key written with a weaker KDF (PBKDF2, or a lower scrypt cost)."""
        if self.read_only:
            return  # at the next unlock where the store can be written
        entry = self.private_key_entry(name)
        data = self.vault.read(entry)
        if data is None:
            return
        found = keys.encryption_of(data)
        wanted = self.key_cost()
        if isinstance(found, keys.Scrypt) and not found.weaker_than(wanted):
            return
        self.vault.replace(entry, keys.wrap(key, passphrase, wanted))
        before = found if isinstance(found, str) else f"scrypt N={found.n} r={found.r} p={found.p}"
        self.ledger.record(
            LedgerAction.key_rewrapped,
            actor=name,
            subject=name,
            details={"from": before, "to": f"scrypt N={wanted.n} r={wanted.r} p={wanted.p}"},
        )

    def require(self, actor: Identity, action: Action, *, subject: str | None = None) -> None:
        """Refuse (and record) when the actor's role does not allow the action."""
        if not allowed(actor.user.role, action):
            reason = f"role {actor.user.role.value!r} may not {action.value}"
            self.ledger.record(
                denied_action(action),
                "refused",
                actor=actor.user.name,
                subject=subject,
                details={"reason": reason},
            )
            raise Refused(f"{actor.user.name}: {reason}")


def _check_creatable(root: Path) -> None:
    """The nearest existing parent of `root` is a directory this process may write into."""
    parent = root.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"cannot create a store at {root}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot create a store at {root}: {parent} is not writable")


def _read_roots(paths: list[Path]) -> list[bytes]:
    from cryptography import x509

    roots = []
    for path in paths:
        pem = files.read_regular(path, "--tsa-root", 1 * files.MIB)
        try:
            x509.load_pem_x509_certificates(pem)
        except ValueError as exc:
            raise UsageError(f"--tsa-root {path}: not a readable PEM certificate ({exc})") from exc
        roots.append(pem)
    return roots


def on_read_only_media(root: Path) -> bool:
    """The store cannot be written here: a read-only file system (write-protected media, a
    read-only mount), or no write permission on the store or its ledger for this user."""
    try:
        if os.statvfs(root).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    ledger = root / LEDGER_NAME
    return not os.access(root, os.W_OK) or (ledger.exists() and not os.access(ledger, os.W_OK))


def default_store_path() -> Path:
    return Path(os.environ.get("COLLECTOR_STORE", "evidence"))
