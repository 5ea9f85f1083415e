"""An agency store's bundles in a real S3 Object Lock bucket (SeaweedFS) with a real PostgreSQL
ledger: committed by version and locked, read by recorded version from another workstation, the
bucket refusing the workstations' own credential, and an outbox while the bucket is away."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from tests.helpers import REPO, Cli
from tests.unit.conftest import RecordedSite


def _capture(cli: Cli, site: RecordedSite) -> dict[str, Any]:
    auth_id = cli.approved([site.http_url("/*")])
    return dict(cli.json("capture", site.http_url("/s/abc123"), "--auth", auth_id, as_user="alice"))


def _checks(cli: Cli, bundle_id: str) -> tuple[int, dict[str, dict[str, Any]]]:
    import json

    done = cli.run("verify", bundle_id, "--json", as_user="erin")
    return done.returncode, {c["name"]: c for c in json.loads(done.stdout)["checks"]}


def _workstation(cli: Cli, where: Path) -> Cli:
    other = Cli(where, env=cli.env)
    where.mkdir()
    shutil.copy(cli.store / "collector.toml", where / "collector.toml")
    return other


def test_a_sealed_bundle_is_committed_by_version_and_locked(agency: tuple[Cli, str], s3: SeaweedServer,
                                                           site: RecordedSite, tmp_path: Path) -> None:  # fmt: skip
    cli, bucket = agency
    result = _capture(cli, site)
    bundle_id = result["bundle_id"]
    assert not any("outbox" in w for w in result["warnings"]), result["warnings"]
    stored = [e for e in cli.events() if e["action"] == "bundle.stored"]
    assert len(stored) == 1 and stored[0]["subject"] == bundle_id and stored[0]["details"]["mode"] == "GOVERNANCE"
    files = sorted(p.relative_to(Path(result["path"])).as_posix() for p in Path(result["path"]).rglob("*") if p.is_file())
    purge = s3.client("purge")
    listed = purge.list_object_versions(Bucket=bucket, Prefix=f"{bundle_id}/")["Versions"]
    assert sorted(v["Key"].split("/", 1)[1] for v in listed) == files
    for version in listed:
        retention = purge.get_object_retention(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
        assert retention["Retention"]["Mode"] == "GOVERNANCE"
        assert retention["Retention"]["RetainUntilDate"] > datetime.now(UTC) + timedelta(days=365)
    code, checks = _checks(cli, bundle_id)
    assert code == 0 and checks["storage"]["ok"] and "nothing else under its prefix" in checks["storage"]["detail"]
    checkpoints = purge.list_object_versions(Bucket=bucket, Prefix="ledger/").get("Versions", [])
    assert checkpoints, "no ledger checkpoint in the bucket"
    newest = max(checkpoints, key=lambda v: v["Key"])
    body = json.loads(purge.get_object(Bucket=bucket, Key=newest["Key"], VersionId=newest["VersionId"])["Body"].read())
    assert body["statement"]["event_count"] > 10
    locked = purge.get_object_retention(Bucket=bucket, Key=newest["Key"], VersionId=newest["VersionId"])
    assert locked["Retention"]["Mode"] == "GOVERNANCE"
    against = tmp_path / "checkpoint.json"
    against.write_text(json.dumps(body))
    assert cli.run("ledger", "verify", "--against", str(against)).returncode == 0


def test_the_workstation_credential_cannot_destroy_a_sealed_bundle(agency: tuple[Cli, str], s3: SeaweedServer,
                                                                   site: RecordedSite, tmp_path: Path) -> None:  # fmt: skip
    """Deletes and overwrites with the credential every workstation holds: recorded versions
    survive, another workstation reads them, and `verify` names what was added."""
    cli, bucket = agency
    bundle_id = _capture(cli, site)["bundle_id"]
    app = s3.client("app")
    key = f"{bundle_id}/data/page.html"
    version = next(v["VersionId"] for v in app.list_object_versions(Bucket=bucket, Prefix=key)["Versions"])
    for bypass in (False, True):
        with pytest.raises(ClientError):
            app.delete_object(Bucket=bucket, Key=key, VersionId=version, BypassGovernanceRetention=bypass)
    app.delete_object(Bucket=bucket, Key=f"{bundle_id}/bagit.txt")  # a delete marker only
    app.put_object(Bucket=bucket, Key=key, Body=b"<html>forged</html>")  # a new version only
    other = _workstation(cli, tmp_path / "second")
    code, checks = _checks(other, bundle_id)
    assert code == 0, checks
    assert checks["payload sha256"]["ok"]
    storage = checks["storage"]
    assert storage["ok"] and storage["warning"]
    assert "delete marker" in storage["detail"] and f"{key} version" in storage["detail"]
    assert not (other.store / "bundles" / bundle_id).exists()  # verified as streamed from the bucket
    other.ok("fetch", bundle_id, "--out", str(tmp_path / "copy"), as_user="erin")
    assert b"forged" not in (tmp_path / "copy" / "data" / "page.html").read_bytes()


def test_a_bundle_waits_in_the_outbox_while_the_bucket_is_away(agency: tuple[Cli, str], s3: SeaweedServer,
                                                               site: RecordedSite) -> None:  # fmt: skip
    cli, _bucket = agency
    config = cli.store / "collector.toml"
    text = config.read_text()
    config.write_text(text.replace(s3.endpoint, "http://127.0.0.1:9"))
    try:
        result = _capture(cli, site)
        bundle_id = result["bundle_id"]
        assert any("waits in this workstation's outbox" in w for w in result["warnings"])
        outbox = [e for e in cli.events() if e["action"] == "bundle.outbox"]
        assert outbox and all(e["outcome"] == "failed" and e["subject"] == bundle_id for e in outbox)
        stuck = cli.run("store", "flush", "--json")
        assert stuck.returncode == 4
    finally:
        config.write_text(text)
    flushed = cli.json("store", "flush")  # (opening the store has already flushed it)
    assert flushed["waiting"] == [] and flushed["committed"] in ([], [bundle_id])
    assert [e["subject"] for e in cli.events() if e["action"] == "bundle.stored"] == [bundle_id]
    code, checks = _checks(cli, bundle_id)
    assert code == 0 and "nothing else under its prefix" in checks["storage"]["detail"]


def test_an_upload_never_committed_is_cleaned_up_before_the_bundle_is(agency: tuple[Cli, str], s3: SeaweedServer,
                                                                      site: RecordedSite) -> None:  # fmt: skip
    """A workstation that died between uploading and committing left versions under the
    bundle's prefix: the next flush deletes those it can, records those the bucket keeps
    (already locked), and commits fresh versions; `verify` reads only those."""
    cli, bucket = agency
    config = cli.store / "collector.toml"
    text = config.read_text()
    config.write_text(text.replace(s3.endpoint, "http://127.0.0.1:9"))
    try:
        bundle_id = _capture(cli, site)["bundle_id"]
    finally:
        config.write_text(text)
    app = s3.client("app")
    app.put_object(Bucket=bucket, Key=f"{bundle_id}/bagit.txt", Body=b"half an upload")
    locked = app.put_object(Bucket=bucket, Key=f"{bundle_id}/data/page.html", Body=b"locked, never committed")
    app.put_object_retention(Bucket=bucket, Key=f"{bundle_id}/data/page.html", VersionId=locked["VersionId"],
                             Retention={"Mode": "GOVERNANCE",
                                        "RetainUntilDate": datetime.now(UTC) + timedelta(days=2)})  # fmt: skip
    assert cli.json("store", "flush")["waiting"] == []
    cleaned = [e for e in cli.events() if e["action"] == "bundle.cleaned"]
    assert len(cleaned) == 1 and cleaned[0]["subject"] == bundle_id and cleaned[0]["outcome"] == "failed"
    assert [d.split(" version ")[0] for d in cleaned[0]["details"]["deleted"]] == [f"{bundle_id}/bagit.txt"]
    assert [d.split(" version ")[0] for d in cleaned[0]["details"]["left"]] == [f"{bundle_id}/data/page.html"]
    code, checks = _checks(cli, bundle_id)
    assert code == 0 and checks["payload sha256"]["ok"], checks
    assert checks["storage"]["warning"] and f"version {locked['VersionId']}" in checks["storage"]["detail"]
    keys = [v["Key"] for v in app.list_object_versions(Bucket=bucket, Prefix=f"{bundle_id}/bagit.txt")["Versions"]]
    assert keys == [f"{bundle_id}/bagit.txt"]  # only the committed version


def test_a_hold_is_an_s3_legal_hold_and_fetch_gives_a_copy_checkable_without_us(
    agency: tuple[Cli, str], s3: SeaweedServer, site: RecordedSite, tmp_path: Path
) -> None:
    cli, bucket = agency
    bundle_id = _capture(cli, site)["bundle_id"]
    purge = s3.client("purge")
    versions = s3.versions(bucket, f"{bundle_id}/")

    def holds() -> set[str]:
        return s3.legal_holds(bucket, f"{bundle_id}/")

    cli.ok("hold", bundle_id, "--reason", "litigation hold for the trial", as_user="erin")
    assert holds() == {"ON"}
    with pytest.raises(ClientError):
        purge.delete_object(Bucket=bucket, Key=versions[0]["Key"], VersionId=versions[0]["VersionId"],
                            BypassGovernanceRetention=True)  # fmt: skip
    cli.ok("release", bundle_id, "--reason", "the trial ended and the appeal window closed", as_user="erin")
    assert holds() == {"OFF"}

    other = _workstation(cli, tmp_path / "second")
    out = tmp_path / "copy"
    done = other.json("fetch", bundle_id, "--out", str(out), as_user="erin")
    assert done["verified"] and done["files"] == len(versions)
    for manifest, tool in (("manifest-sha256.txt", "sha256sum"), ("tagmanifest-sha256.txt", "sha256sum")):
        checked = subprocess.run([tool, "-c", manifest], cwd=out, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout
    bagit = subprocess.run([str(REPO / ".venv-tools" / "bin" / "bagit.py"), "--validate", str(out)],
                           capture_output=True, text=True)  # fmt: skip
    assert bagit.returncode == 0 and "is valid" in bagit.stderr
    again = other.run("fetch", bundle_id, "--out", str(out), as_user="erin")
    assert again.returncode == 2 and "exists" in again.stderr
    assert [e["subject"] for e in cli.events() if e["action"] == "bundle.fetched"] == [bundle_id]


def test_a_purge_needs_the_privileged_credential_and_empties_the_bucket(
    agency: tuple[Cli, str], s3: SeaweedServer, site: RecordedSite, tmp_path: Path
) -> None:
    cli, bucket = agency
    bundle_id = _capture(cli, site)["bundle_id"]
    request = cli.json("purge", "request", bundle_id, "--reason", "Court order 2026-CV-114 to expunge the record",
                       as_user="erin")  # fmt: skip
    refused = cli.run("purge", "approve", request["id"], as_user="carol")
    assert refused.returncode == 3 and "names none ([bundles] purge_profile)" in refused.stderr
    config = cli.store / "collector.toml"
    config.write_text(config.read_text().replace("[bundles]\n", '[bundles]\npurge_profile = "collector-purge"\n'))
    elsewhere = cli.run("purge", "approve", request["id"], as_user="carol")  # no such profile here
    assert elsewhere.returncode == 3 and "cannot be purged on this workstation" in elsewhere.stderr
    assert [e["outcome"] for e in cli.events() if e["action"] == "denied.purge.approve"] == ["refused", "refused"]
    assert s3.client("purge").list_object_versions(Bucket=bucket, Prefix=f"{bundle_id}/").get("Versions")

    key, secret = s3.keys["purge"]
    credentials = tmp_path / "aws-credentials"
    credentials.write_text(f"[collector-purge]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
    purger = Cli(cli.store, env={**cli.env, "AWS_SHARED_CREDENTIALS_FILE": str(credentials)})
    done = purger.json("purge", "approve", request["id"], as_user="carol")
    assert done["tombstone"]["files"] > 5 and not done.get("warnings")
    left = s3.client("purge").list_object_versions(Bucket=bucket, Prefix=f"{bundle_id}/")
    assert not left.get("Versions")
    verify = cli.run("verify", bundle_id)
    assert verify.returncode == 5 and "PURGED under policy" in verify.stderr


def test_a_retain_review_extends_the_buckets_retention(agency: tuple[Cli, str], s3: SeaweedServer,
                                                      site: RecordedSite) -> None:  # fmt: skip
    cli, bucket = agency
    bundle_id = _capture(cli, site)["bundle_id"]
    purge = s3.client("purge")
    versions = purge.list_object_versions(Bucket=bucket, Prefix=f"{bundle_id}/")["Versions"]

    def until() -> set[int]:
        return {purge.get_object_retention(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
                ["Retention"]["RetainUntilDate"].year for v in versions}  # fmt: skip

    before = until()
    assert len(before) == 1 and before == {datetime.now(UTC).year + 7}  # case-evidence: lock_years
    reason = "Trial set for 2029: the evidence is needed until the appeal is decided"
    config = cli.store / "collector.toml"
    config.write_text(config.read_text().replace("lock_years = 7", "lock_years = 9"))
    cli.ok("retention", "review", bundle_id, "--retain", "--reason", reason, as_user="bob")
    assert until() == {datetime.now(UTC).year + 9}
    config.write_text(config.read_text().replace("lock_years = 9", "lock_years = 1"))
    cli.ok("retention", "review", bundle_id, "--retain", "--reason", reason, as_user="carol")
    assert until() == {datetime.now(UTC).year + 9}  # never shortened


def test_a_workstation_copy_that_differs_from_the_bucket_is_never_exported(
    agency: tuple[Cli, str], site: RecordedSite, tmp_path: Path
) -> None:
    """`verify` reads the bucket; what an export reads from this workstation's own copy is
    first checked against the recorded versions, so a copy changed here is refused by name."""
    cli, _bucket = agency
    bundle_id = _capture(cli, site)["bundle_id"]
    page = cli.store / "bundles" / bundle_id / "data" / "page.html"
    page.write_bytes(page.read_bytes() + b"<!-- changed on this workstation -->")
    code, checks = _checks(cli, bundle_id)
    assert code == 0 and checks["payload sha256"]["ok"]  # the bucket's copy is intact
    done = cli.run("export", bundle_id, "--recipient", "ADA Jane Roe", "--reason", "discovery",
                   "--out", str(tmp_path / "export.zip"), as_user="erin")  # fmt: skip
    assert done.returncode == 1 and "data/page.html" in done.stderr and "not what the bucket" in done.stderr
    assert not (tmp_path / "export.zip").exists()


def test_an_object_row_added_after_the_commit_is_caught(agency: tuple[Cli, str], pg: PostgresServer,
                                                        s3: SeaweedServer, site: RecordedSite,
                                                        tmp_path: Path) -> None:  # fmt: skip
    """The workstations' role may INSERT into `bundle_objects`: a row smuggled in for a committed
    bundle (pointing at a version it uploaded) no longer matches the listing digest the signed
    `bundle.stored` event carries, so `verify` fails and nothing is read through it."""

    cli, bucket = agency
    bundle_id = _capture(cli, site)["bundle_id"]
    cli.store.joinpath("bundles", bundle_id).rename(tmp_path / "aside")  # read only from the bucket
    smuggled = s3.client("app").put_object(Bucket=bucket, Key=f"{bundle_id}/data/extra.html", Body=b"<p>planted</p>")
    with pg.connect(cli.ledger_url, "app") as db:
        db.execute("INSERT INTO bundle_objects (bundle_id, name, version_id, sha256, size, stored_at) "
                   "VALUES (%s, 'data/extra.html', %s, %s, 14, '2026-12-05T00:00:00Z')",
                   (bundle_id, smuggled["VersionId"], hashlib.sha256(b"<p>planted</p>").hexdigest()))  # fmt: skip
    code, checks = _checks(cli, bundle_id)
    assert code == 1 and not checks["storage"]["ok"]
    assert "differ from those `bundle.stored`" in checks["storage"]["detail"]
    fetched = cli.run("fetch", bundle_id, "--out", str(tmp_path / "copy"), as_user="erin")
    assert fetched.returncode == 1 and "bundle.stored" in fetched.stderr and not (tmp_path / "copy").exists()


def test_an_authorization_edited_in_the_database_does_not_shorten_the_lock(
    agency: tuple[Cli, str], pg: PostgresServer, s3: SeaweedServer, site: RecordedSite
) -> None:
    """The workstations' role may UPDATE `authorizations`. A bundle waiting in the outbox is
    locked for the retention class sealed into its metadata, not the one the row says now."""
    cli, bucket = agency
    config = cli.store / "collector.toml"
    text = config.read_text()
    config.write_text(text.replace(s3.endpoint, "http://127.0.0.1:9"))
    try:
        result = _capture(cli, site)
    finally:
        config.write_text(text)
    bundle_id = result["bundle_id"]
    with pg.connect(cli.ledger_url, "app") as db:
        body = db.execute("SELECT body FROM authorizations").fetchone()[0]
        assert '"case-evidence"' in body
        db.execute("UPDATE authorizations SET body = %s", (body.replace('"case-evidence"', '"preliminary"'),))
    assert cli.json("store", "flush")["waiting"] == []
    purge = s3.client("purge")
    years = {purge.get_object_retention(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
             ["Retention"]["RetainUntilDate"].year for v in s3.versions(bucket, f"{bundle_id}/")}  # fmt: skip
    assert years == {datetime.now(UTC).year + 7}  # case-evidence: lock_years, not preliminary's 1
