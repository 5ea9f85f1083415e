"""What the agency's bundle storage must refuse, tried against a real S3 server with Object Lock
(SeaweedFS, the pinned release): its enforcement has changed between releases, so the contract
the tool relies on is tested here, with the workstations' own credential."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from collector.errors import IntegrityError
from collector.store.objects import Bucket, StoredObject
from fixtures.seaweed import SeaweedServer

KEY = "B-20261205T000000Z-00000000/data/page.html"



@pytest.fixture
def locked(s3: SeaweedServer) -> tuple[str, str]:
    """A bucket holding one object version under governance retention for a day."""
    bucket = s3.bucket()
    app = s3.client("app")
    version = app.put_object(Bucket=bucket, Key=KEY, Body=b"<html>evidence</html>",
                             ChecksumAlgorithm="SHA256")["VersionId"]  # fmt: skip
    app.put_object_retention(Bucket=bucket, Key=KEY, VersionId=version,
                             Retention={"Mode": "GOVERNANCE", "RetainUntilDate": _in(days=1)})  # fmt: skip
    return bucket, version


def _in(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


def _refused(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    return str(refused.value.response["Error"]["Code"])


def test_a_bucket_is_versioned_with_object_lock(s3: SeaweedServer) -> None:
    bucket = s3.bucket()
    app = s3.client("app")
    assert app.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    config = app.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert config["ObjectLockEnabled"] == "Enabled"


def test_the_workstation_credential_cannot_delete_a_retained_version(s3: SeaweedServer,
                                                                      locked: tuple[str, str]) -> None:  # fmt: skip
    bucket, version = locked
    app = s3.client("app")
    assert _refused(app.delete_object, Bucket=bucket, Key=KEY, VersionId=version) == "AccessDenied"
    assert _refused(app.delete_object, Bucket=bucket, Key=KEY, VersionId=version,
                    BypassGovernanceRetention=True) == "AccessDenied"  # fmt: skip
    assert app.get_object(Bucket=bucket, Key=KEY, VersionId=version)["Body"].read() == b"<html>evidence</html>"


def test_the_workstation_credential_may_extend_retention_but_never_shorten_it(
    s3: SeaweedServer, locked: tuple[str, str]
) -> None:
    bucket, version = locked
    app = s3.client("app")
    for bypass in (False, True):
        assert _refused(app.put_object_retention, Bucket=bucket, Key=KEY, VersionId=version,
                        BypassGovernanceRetention=bypass,
                        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": _in(minutes=1)}) == "AccessDenied"  # fmt: skip
    later = _in(days=30)
    app.put_object_retention(Bucket=bucket, Key=KEY, VersionId=version,
                             Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later})  # fmt: skip
    kept = app.get_object_retention(Bucket=bucket, Key=KEY, VersionId=version)["Retention"]
    assert abs((kept["RetainUntilDate"] - later).total_seconds()) < 2


def test_a_delete_without_a_version_only_adds_a_marker(s3: SeaweedServer, locked: tuple[str, str]) -> None:
    """S3 semantics the tool must respect: reads are always by recorded version id."""
    bucket, version = locked
    app = s3.client("app")
    marker = app.delete_object(Bucket=bucket, Key=KEY)
    assert marker["DeleteMarker"] is True
    assert _refused(app.get_object, Bucket=bucket, Key=KEY) in ("NoSuchKey", "404")
    assert app.get_object(Bucket=bucket, Key=KEY, VersionId=version)["Body"].read() == b"<html>evidence</html>"
    listed = app.list_object_versions(Bucket=bucket, Prefix=KEY)
    assert [v["VersionId"] for v in listed["Versions"]] == [version]
    assert len(listed["DeleteMarkers"]) == 1


def test_a_legal_hold_refuses_even_the_purge_credential(s3: SeaweedServer, locked: tuple[str, str]) -> None:
    bucket, version = locked
    app, purge = s3.client("app"), s3.client("purge")
    app.put_object_legal_hold(Bucket=bucket, Key=KEY, VersionId=version, LegalHold={"Status": "ON"})
    for client in (purge, s3.client("admin")):
        assert _refused(client.delete_object, Bucket=bucket, Key=KEY, VersionId=version,
                        BypassGovernanceRetention=True) == "AccessDenied"  # fmt: skip
    app.put_object_legal_hold(Bucket=bucket, Key=KEY, VersionId=version, LegalHold={"Status": "OFF"})
    purge.delete_object(Bucket=bucket, Key=KEY, VersionId=version, BypassGovernanceRetention=True)
    assert _refused(app.get_object, Bucket=bucket, Key=KEY, VersionId=version) in ("NoSuchVersion", "NoSuchKey")


def test_the_purge_credential_needs_to_ask_for_the_bypass(s3: SeaweedServer, locked: tuple[str, str]) -> None:
    bucket, version = locked
    purge = s3.client("purge")
    assert _refused(purge.delete_object, Bucket=bucket, Key=KEY, VersionId=version) == "AccessDenied"


def test_a_version_read_differently_from_its_record_is_named_and_never_read_past_its_size(
    s3: SeaweedServer, locked: tuple[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What `verify` streams: a recorded digest or size the bucket's bytes do not match is
    reported by name, and a longer object is read only to its recorded size and one byte."""
    bucket, version = locked
    for name, value in s3.env("app").items():
        monkeypatch.setenv(name, value)
    body = b"<html>evidence</html>"
    bundle_id, name = KEY.split("/", 1)
    right = StoredObject(name, version, hashlib.sha256(body).hexdigest(), len(body))
    store = Bucket(f"s3://{bucket}", s3.endpoint)
    streamed, changed = store.stream_into(bundle_id, [right], tmp_path / "a", keep=lambda _n: False)
    assert changed == [] and streamed[name].sha256 == right.sha256 and streamed[name].size == len(body)
    assert (tmp_path / "a" / name).read_bytes() == b""  # a stand-in: the payload is only hashed
    short = StoredObject(name, version, hashlib.sha256(body[:5]).hexdigest(), 5)
    streamed, changed = store.stream_into(bundle_id, [short], tmp_path / "b", keep=lambda _n: True)
    assert len(changed) == 1 and changed[0].startswith(f"{name} version {version} reads as")
    assert (tmp_path / "b" / name).read_bytes() == body[:6]
    with pytest.raises(IntegrityError):
        store.fetch(bundle_id, [short], tmp_path / "c")
