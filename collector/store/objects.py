"""Bundles in S3 Object Lock storage (an agency store's `[bundles] url = "s3://BUCKET"`).

A sealed bundle is committed to the bucket in this order: every file is uploaded under the
bundle's prefix (`BUNDLE-ID/PATH`) with its SHA-256; each is read back by the version the upload
returned and hashed again; each version is put under governance-mode retention; only then does
the caller record the versions in the ledger, so a bundle is in the bucket only once committed.
Reads are always by recorded version id: a DELETE without a version adds only a delete marker
and a PUT only a new version, so neither changes what a recorded bundle reads as, and both are
reported. Credentials come from the standard AWS chain (environment, profile), never from the
store's configuration.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from collector.errors import CollectorError, IntegrityError, UsageError
from collector.evidence.bundle.hashing import Digests, digest_chunks

_T = TypeVar("_T")
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
CHUNK = 4 * 1024 * 1024
MODE = "GOVERNANCE"
PARALLEL = 4  # requests in flight while a bundle is committed


@dataclass(frozen=True)
class StoredObject:
    """One file of a bundle, as committed: the version it is read by and its digest."""

    name: str
    version_id: str
    sha256: str
    size: int


def listing_sha256(objects: list[StoredObject]) -> str:
    """SHA-256 of a bundle's recorded objects (name, version, digest and size, one line each in
    name order): the signed `bundle.stored` event carries it, so a row added to or changed in
    `bundle_objects` afterwards no longer matches."""
    lines = "".join(f"{o.name}\t{o.version_id}\t{o.sha256}\t{o.size}\n"
                    for o in sorted(objects, key=lambda o: o.name))  # fmt: skip
    return hashlib.sha256(lines.encode()).hexdigest()


@dataclass(frozen=True)
class VersionReport:
    """What the bucket holds under a bundle's prefix beyond its recorded versions."""

    extra_versions: list[str]
    delete_markers: list[str]
    missing: list[str]


def bucket_of(url: str) -> str:
    """The bucket an `s3://BUCKET` URL names (no key prefix, no credentials)."""
    match = re.fullmatch(r"s3://([^/?#]+)/?", url)
    if match is None or not BUCKET_NAME.fullmatch(match.group(1)) or ".." in match.group(1):
        raise UsageError(f"--bundles {url[:200]!r} must be s3://BUCKET (a valid bucket name, "
                         "nothing after it)")  # fmt: skip
    return match.group(1)


def _files(bundle_dir: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(bundle_dir.rglob("*")):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise IntegrityError(f"{path} is not a regular file: a bundle holds nothing else")
        if path.is_file():
            yield path.relative_to(bundle_dir).as_posix(), path


def _digest(path: Path) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


_CLIENTS: dict[tuple[str | None, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()
_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                         "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")  # fmt: skip


def _client_for(endpoint: str | None) -> Any:
    """This process's S3 client for an endpoint and the credentials the environment names, made
    once (boto3 clients are thread-safe once made; making one is not, hence the lock)."""
    named = {v: os.environ.get(v) for v in _CREDENTIAL_VARIABLES}
    credentials = hashlib.sha256("\0".join(value or "" for value in named.values()).encode())
    key = (endpoint, credentials.hexdigest())
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            import boto3
            from botocore.config import Config

            # A session of its own, given the credentials read for the key: boto3's default
            # session keeps the first credentials it resolved, for every later client.
            session = boto3.session.Session(
                aws_access_key_id=named["AWS_ACCESS_KEY_ID"], aws_secret_access_key=named["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=named["AWS_SESSION_TOKEN"], profile_name=named["AWS_PROFILE"],
            )  # fmt: skip
            _CLIENTS[key] = session.client(
                "s3", endpoint_url=endpoint,
                # Every read is hashed here against the recorded SHA-256, so botocore's own
                # checksum of the response (a second SHA-256 pass) is left to when S3 requires it.
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3},
                              connect_timeout=5, read_timeout=60,
                              response_checksum_validation="when_required"),
            )  # fmt: skip
        return _CLIENTS[key]


def _warm(endpoint: str | None) -> None:
    with contextlib.suppress(Exception):  # the first request makes it again and says what failed
        _client_for(endpoint)


def _local_path(target: Path, bundle_id: str, name: str) -> Path:
    """Where a recorded object goes under `target` (its directories made); a recorded name
    that is not a plain relative path is refused."""
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise IntegrityError(f"{bundle_id}: recorded object name {name!r} is not a path")
    path = target.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _each(work: Callable[[Any], _T], items: list[Any]) -> list[_T]:
    """`work` on every item, a few at once (the S3 client is thread-safe); results in order.
    Every call has finished before the first failure is raised."""
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = [pool.submit(work, item) for item in items]
        wait(futures)
    return [future.result() for future in futures]


def _sha256(chunks: Iterable[bytes]) -> str:
    sha = hashlib.sha256()
    for chunk in chunks:
        sha.update(chunk)
    return sha.hexdigest()


def _tee(chunks: Iterator[bytes], out: BinaryIO) -> Iterator[bytes]:
    for chunk in chunks:
        out.write(chunk)
        yield chunk


class Bucket:
    """One Object Lock bucket, through boto3 with the standard credential chain."""

    def __init__(self, url: str, endpoint: str | None = None) -> None:
        self.url = url
        self.name = bucket_of(url)
        self.endpoint = endpoint
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _client_for(self.endpoint)
        return self._client

    def prepare(self) -> None:
        """Make the S3 client on a background thread (loading boto3 and the service model takes
        a noticeable part of a second) while the caller does other work, such as a capture's
        browser; the first request waits for it."""
        threading.Thread(target=_warm, args=(self.endpoint,), daemon=True).start()

    def _call(self, what: str, operation: str, **kwargs: Any) -> Any:
        """One S3 call; a failure is one line naming the bucket, never the credentials."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise StorageError(f"the bucket {self.url} refused {what}: {error.get('Code', '?')} "
                               f"{error.get('Message', '')}".rstrip()) from exc  # fmt: skip
        except BotoCoreError as exc:
            raise StorageError(f"cannot reach the bucket {self.url}: {exc}") from exc

    # ------------------------------------------------------------------ checks

    def check(self) -> None:
        """The bucket exists, is versioned and has Object Lock enabled; else UsageError."""
        versioning = self._call("reading its versioning", "get_bucket_versioning", Bucket=self.name)
        if versioning.get("Status") != "Enabled":
            raise UsageError(f"the bucket {self.url} is not versioned: bundles need a bucket made "
                             "with Object Lock (which turns versioning on)")  # fmt: skip
        lock = self._call("reading its Object Lock configuration",
                          "get_object_lock_configuration", Bucket=self.name)  # fmt: skip
        if lock.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
            raise UsageError(f"the bucket {self.url} has no Object Lock: make the bucket with "
                             "Object Lock enabled")  # fmt: skip

    # ------------------------------------------------------------------ committing

    def put_bundle(self, bundle_dir: Path, bundle_id: str, retain_until: datetime) -> list[StoredObject]:
        """Upload, read back by version, and lock every file of a sealed bundle: each step for
        every file before the next begins, the requests of a step on a few threads."""
        files = list(_files(bundle_dir))
        stored = _each(lambda entry: self._upload(bundle_id, *entry), files)
        for item, found in zip(stored, _each(lambda item: self.digest_of(bundle_id, item), stored), strict=True):
            if found != item.sha256:
                raise IntegrityError(f"{bundle_id}/{item.name} version {item.version_id} reads back as "
                                     f"sha256 {found}, not {item.sha256}: nothing was committed")  # fmt: skip
        _each(lambda item: self._call(f"locking {bundle_id}/{item.name}", "put_object_retention",
                                      Bucket=self.name, Key=f"{bundle_id}/{item.name}",
                                      VersionId=item.version_id,
                                      Retention={"Mode": MODE, "RetainUntilDate": retain_until}),
              stored)  # fmt: skip
        return stored

    def _upload(self, bundle_id: str, name: str, path: Path) -> StoredObject:
        sha256, size = _digest(path)
        with path.open("rb") as body:
            done = self._call(f"storing {bundle_id}/{name}", "put_object", Bucket=self.name,
                              Key=f"{bundle_id}/{name}", Body=body,
                              ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode())  # fmt: skip
        version = done.get("VersionId")
        if not version or version == "null":
            raise StorageError(f"the bucket {self.url} returned no version for {bundle_id}/{name}: "
                               "it is not versioned")  # fmt: skip
        return StoredObject(name, version, sha256, size)

    def put_locked(self, key: str, data: bytes, retain_until: datetime) -> str:
        """One object written and put under governance retention; its version id."""
        done = self._call(f"storing {key}", "put_object", Bucket=self.name, Key=key, Body=data,
                          ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode())  # fmt: skip
        version = str(done.get("VersionId") or "")
        if not version or version == "null":
            raise StorageError(f"the bucket {self.url} returned no version for {key}")
        self._call(f"locking {key}", "put_object_retention", Bucket=self.name, Key=key,
                   VersionId=version, Retention={"Mode": MODE, "RetainUntilDate": retain_until})  # fmt: skip
        return version

    def read(self, bundle_id: str, item: StoredObject) -> bytes:
        """A small object version whole (its recorded size and at most one byte more)."""
        return b"".join(self._stream(bundle_id, item))

    def digest_of(self, bundle_id: str, item: StoredObject) -> str:
        """The SHA-256 of an object version as the bucket serves it now."""
        return _sha256(self._stream(bundle_id, item))

    def _stream(self, bundle_id: str, item: StoredObject) -> Iterator[bytes]:
        """The object version's bytes in chunks, never more than its recorded size and one byte
        (so a longer object shows as changed without being read to its end)."""
        got = self._call(f"reading {bundle_id}/{item.name}", "get_object", Bucket=self.name,
                         Key=f"{bundle_id}/{item.name}", VersionId=item.version_id)  # fmt: skip
        body = got["Body"]
        left = item.size + 1
        try:
            while left > 0 and (chunk := body.read(min(CHUNK, left))):
                left -= len(chunk)
                yield chunk
        finally:
            body.close()

    def stream_into(self, bundle_id: str, objects: list[StoredObject], target: Path,
                    keep: Callable[[str], bool]) -> tuple[dict[str, Digests], list[str]]:  # fmt: skip
        """Read every recorded version once, hashing as it streams: the files `keep` names are
        written under `target` (a new directory); every other file gets an empty stand-in and
        only its digests are kept. Returns those digests and, one line each, the objects that
        read differently from their recorded digest and size."""
        target.mkdir(parents=True)
        streamed: dict[str, Digests] = {}
        changed: list[str] = []
        for item in objects:
            path = _local_path(target, bundle_id, item.name)
            with path.open("xb") as out:
                chunks = self._stream(bundle_id, item)
                if keep(item.name):
                    chunks = _tee(chunks, out)
                digests = digest_chunks(chunks)
            if not keep(item.name):
                streamed[item.name] = digests
            if (digests.sha256, digests.size) != (item.sha256, item.size):
                changed.append(f"{item.name} version {item.version_id} reads as sha256 "
                               f"{digests.sha256[:16]}…, not the recorded {item.sha256[:16]}…")  # fmt: skip
        return streamed, changed

    # ------------------------------------------------------------------ reading

    def fetch(self, bundle_id: str, objects: list[StoredObject], target: Path) -> None:
        """Write the recorded versions under `target` (a new directory), each checked against its
        recorded digest while it is written; a mismatch stops and says which."""
        target.mkdir(parents=True)
        for item in objects:
            with _local_path(target, bundle_id, item.name).open("xb") as out:
                found = _sha256(_tee(self._stream(bundle_id, item), out))
            if found != item.sha256:
                raise IntegrityError(f"{bundle_id}/{item.name} version {item.version_id} reads as "
                                     f"sha256 {found}, not the recorded {item.sha256}")  # fmt: skip

    def _listing(self, bundle_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every version and every delete marker under a bundle's prefix."""
        paginator = self.client.get_paginator("list_object_versions")
        versions: list[dict[str, Any]] = []
        markers: list[dict[str, Any]] = []
        try:
            for page in paginator.paginate(Bucket=self.name, Prefix=f"{bundle_id}/"):
                versions += page.get("Versions", [])
                markers += page.get("DeleteMarkers", [])
        except Exception as exc:  # botocore errors, as one line
            raise StorageError(f"cannot list the versions of {bundle_id} in {self.url}: {exc}") from exc
        return versions, markers

    def versions(self, bundle_id: str, objects: list[StoredObject]) -> VersionReport:
        """Delete markers and versions under the bundle's prefix that the ledger did not record,
        and recorded versions the bucket no longer lists."""
        recorded = {(f"{bundle_id}/{o.name}", o.version_id) for o in objects}
        versions, markers = self._listing(bundle_id)
        seen = {(v["Key"], v["VersionId"]) for v in versions}
        extra = [f"{k} version {v}" for k, v in seen - recorded]
        missing = [f"{k} version {v}" for k, v in recorded - seen]
        shown = [f"{m['Key']} (delete marker {m['VersionId']})" for m in markers]
        return VersionReport(sorted(extra), sorted(shown), sorted(missing))

    def leftovers(self, bundle_id: str) -> list[tuple[str, str]]:
        """Every (key, version id) under a bundle's prefix, delete markers included: for a bundle
        not committed, what an upload that never was committed left behind."""
        versions, markers = self._listing(bundle_id)
        return sorted((entry["Key"], entry["VersionId"]) for entry in versions + markers)

    def clean(self, versions: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
        """Delete these versions with the workstation's own credential and no bypass: the bucket
        refuses any it has locked. Returns (deleted, left with why), each as one line."""
        deleted: list[str] = []
        left: list[str] = []
        for key, version in versions:
            try:
                self._call(
                    f"deleting {key}", "delete_object", Bucket=self.name, Key=key, VersionId=version
                )
                deleted.append(f"{key} version {version}")
            except StorageError as exc:
                left.append(f"{key} version {version}: {exc}")
        return deleted, left

    # ------------------------------------------------------------------ purging

    def destroy(self, bundle_id: str, objects: list[StoredObject], client: Any) -> list[str]:
        """Delete every recorded version with a governance bypass, using `client` (the purge
        credential); returns what could not be deleted, each as one line."""
        from botocore.exceptions import BotoCoreError, ClientError

        left: list[str] = []
        for item in objects:
            try:
                client.delete_object(Bucket=self.name, Key=f"{bundle_id}/{item.name}",
                                     VersionId=item.version_id, BypassGovernanceRetention=True)  # fmt: skip
            except (ClientError, BotoCoreError) as exc:
                left.append(f"{bundle_id}/{item.name} version {item.version_id}: {exc}")
        return left

    def extend(self, bundle_id: str, objects: list[StoredObject], until: datetime) -> None:
        """Move every recorded version's retention to `until` (never earlier: the bucket
        refuses to shorten governance retention without a bypass, and none is asked for)."""
        for item in objects:
            current = self._call(f"reading the retention of {bundle_id}/{item.name}",
                                 "get_object_retention", Bucket=self.name,
                                 Key=f"{bundle_id}/{item.name}", VersionId=item.version_id)  # fmt: skip
            kept = current.get("Retention", {}).get("RetainUntilDate")
            if kept is not None and kept >= until:
                continue
            self._call(f"extending the retention of {bundle_id}/{item.name}", "put_object_retention",
                       Bucket=self.name, Key=f"{bundle_id}/{item.name}", VersionId=item.version_id,
                       Retention={"Mode": MODE, "RetainUntilDate": until})  # fmt: skip

    # ------------------------------------------------------------------ holds

    def set_hold(self, bundle_id: str, objects: list[StoredObject], on: bool) -> None:
        for item in objects:
            self._call(f"{'placing' if on else 'lifting'} a legal hold on {bundle_id}/{item.name}",
                       "put_object_legal_hold", Bucket=self.name, Key=f"{bundle_id}/{item.name}",
                       VersionId=item.version_id, LegalHold={"Status": "ON" if on else "OFF"})  # fmt: skip


def purge_client(profile: str, endpoint: str | None) -> Any:
    """A client with the privileged purge credential (an AWS profile), or StorageError saying
    this workstation does not hold it."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.Session(profile_name=profile)
        if session.get_credentials() is None:
            raise StorageError(f"the purge credential (AWS profile {profile!r}) has no keys here")
    except BotoCoreError as exc:
        raise StorageError(f"the purge credential (AWS profile {profile!r}) is not on this "
                           f"workstation: {exc}") from exc  # fmt: skip
    return session.client("s3", endpoint_url=endpoint,
                          config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))  # fmt: skip


class StorageError(CollectorError):
    """The bucket could not be reached or refused a request (exit 4)."""
