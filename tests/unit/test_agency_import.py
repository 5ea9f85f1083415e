"""Moving a workstation store into an agency store (`collector store copy --to`): its bundles
verified before and after, committed to the bucket with their custody logs and a signed `moved`
event; its ledger archived as its own chain; its root cross-certified by the agency."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from collector.evidence import pki
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from tests.helpers import Cli
from tests.unit.conftest import RecordedSite


@pytest.fixture
def workstation(cli: Cli, site: RecordedSite) -> tuple[Cli, list[str]]:
    """A workstation store with two captures, one of them under legal hold."""
    auth_id = cli.approved([site.http_url("/*")])
    ids = [cli.json("capture", site.http_url(page), "--auth", auth_id, as_user="alice")["bundle_id"]
           for page in ("/s/abc123", "/index.html")]  # fmt: skip
    cli.ok("hold", ids[0], "--reason", "Preservation letter, Doe v. City", as_user="bob")
    return cli, ids


def _root_sha256(store: Path) -> str:
    """The workstation root's SHA-256 as an administrator computes it, with OpenSSL."""
    der = subprocess.run(["openssl", "x509", "-in", str(store / "pki" / "root.cert.pem"), "-outform", "DER"],
                         capture_output=True, check=True).stdout  # fmt: skip
    return hashlib.sha256(der).hexdigest()


def _copy(workstation: Cli, agency: Cli, *args: str, root: str | None = None) -> Any:
    mover = Cli(workstation.store, env=agency.env)
    return mover.run("store", "copy", "--to", str(agency.store), "--root-sha256",
                     root or _root_sha256(workstation.store), *args, as_user="erin")  # fmt: skip


def test_a_workstation_store_moves_in_and_verifies_on_its_own_terms(
    workstation: tuple[Cli, list[str]], agency: tuple[Cli, str], s3: SeaweedServer
) -> None:
    ws, ids = workstation
    target, bucket = agency
    before = (ws.store / "ledger.sqlite").read_bytes()
    done = _copy(ws, target, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["moved"] == ids and report["failed_after"] == {} and report["waiting"] == []
    assert (ws.store / "ledger.sqlite").read_bytes() == before  # the workstation store is only read

    for bundle_id in ids:  # verified from the bucket, against the workstation's PKI and log
        checked = target.json("verify", bundle_id, as_user="erin")
        assert checked["ok"], checked
        assert checked["path"] == f"s3://{bucket}/{bundle_id}/"
        custody = target.json("custody", "show", bundle_id)
        assert custody[0]["type"] == "captured" and custody[0]["actor"]["user"] == "alice"
        moved = [e for e in custody if e["type"] == "moved"]
        assert len(moved) == 1 and moved[0]["actor"]["user"] == "erin"
        assert moved[0]["details"]["from_store"] == report["store_id"]
        assert target.run("custody", "verify", bundle_id).returncode == 0
    purge = s3.client("purge")  # the hold came along as the bucket's legal hold
    assert s3.legal_holds(bucket, f"{ids[0]}/") == {"ON"}

    imported = target.json("ledger", "verify", "--imported", report["store_id"])
    checks = {c["name"]: c for c in imported["checks"]}
    assert imported["ok"] and checks["archive"]["ok"] and checks["cross-certificate"]["ok"]
    assert imported["event_count"] == report["events"]
    assert target.json("ledger", "verify")["ok"]  # the agency's own chain, not spliced
    archive = purge.list_object_versions(Bucket=bucket, Prefix=f"imports/{report['store_id']}/")["Versions"]
    names = {v["Key"].split("/", 2)[2] for v in archive}
    assert "ledger.sqlite" in names and "pki/root.cert.pem" in names
    assert not any(n.endswith(".key.pem") for n in names)  # no private key leaves the workstation
    retention = purge.get_object_retention(Bucket=bucket, Key=archive[0]["Key"], VersionId=archive[0]["VersionId"])
    assert retention["Retention"]["Mode"] == "GOVERNANCE"

    again = _copy(ws, target)
    assert again.returncode == 2 and "already copied" in again.stderr


def test_the_cross_certificate_binds_the_workstation_root_to_the_agency(
    workstation: tuple[Cli, list[str]], agency: tuple[Cli, str], pg: PostgresServer
) -> None:
    ws, _ids = workstation
    target, _bucket = agency
    assert _copy(ws, target).returncode == 0

    with pg.connect(target.ledger_url, "owner") as db:
        pem = db.execute("SELECT cross_certificate FROM imported_stores").fetchone()[0]
        vault = dict(db.execute("SELECT name, data FROM vault WHERE name LIKE 'pki/%.cert.pem'").fetchall())
    agency_root, issuing = (x509.load_pem_x509_certificate(base64.b64decode(vault[f"pki/{n}.cert.pem"]))
                            for n in ("root", "intermediate"))  # fmt: skip
    cross = x509.load_pem_x509_certificate(pem.encode())
    ws_root = x509.load_pem_x509_certificate((ws.store / "pki" / "root.cert.pem").read_bytes())
    assert pki.endorsement_problem(cross, ws_root, issuing, agency_root) is None
    assert cross.issuer == issuing.subject and cross.subject == ws_root.subject
    ws_issuing = x509.load_pem_x509_certificate((ws.store / "pki" / "intermediate.cert.pem").read_bytes())
    assert pki.endorsement_problem(cross, ws_issuing, issuing, agency_root) is not None  # another name and key
    assert pki.endorsement_problem(cross, ws_root, ws_issuing, agency_root) is not None  # not our issuing CA


def test_a_bundle_that_does_not_verify_stops_the_whole_copy(
    workstation: tuple[Cli, list[str]], agency: tuple[Cli, str]
) -> None:
    ws, ids = workstation
    target, _bucket = agency
    page = ws.store / "bundles" / ids[1] / "data" / "page.html"
    page.chmod(0o644)
    page.write_bytes(page.read_bytes() + b"<!-- changed -->")
    refused = _copy(ws, target)
    assert refused.returncode == 1 and ids[1] in refused.stderr and "nothing is copied" in refused.stderr
    assert target.run("verify", ids[0]).returncode == 2  # not in the agency store
    assert not any(e["action"] == "store.imported" for e in target.events())


def test_the_administrator_vouches_for_one_root_only(
    workstation: tuple[Cli, list[str]], agency: tuple[Cli, str]
) -> None:
    """A store whose root is not the one the administrator named (a forged workstation store,
    consistent on its own terms) is refused before anything is written."""
    ws, _ids = workstation
    target, _bucket = agency
    refused = _copy(ws, target, root="ab" * 32)
    assert refused.returncode == 3 and "not the root named by --root-sha256" in refused.stderr
    assert _copy(ws, target, root="not-a-digest").returncode == 2
    assert not any(e["action"] == "store.imported" for e in target.events())


def test_only_a_custodian_of_the_agency_moves_a_store_in(
    workstation: tuple[Cli, list[str]], agency: tuple[Cli, str]
) -> None:
    ws, _ids = workstation
    target, _bucket = agency
    mover = Cli(ws.store, env=target.env)
    refused = mover.run("store", "copy", "--to", str(target.store), "--root-sha256", _root_sha256(ws.store),
                        as_user="alice")  # fmt: skip
    assert refused.returncode == 3
    assert [e["outcome"] for e in target.events() if e["action"] == "denied.store.import"] == ["refused"]


def test_a_moved_bundle_is_exported_and_verifies_with_the_agencys_key_list(
    workstation: tuple[Cli, list[str]], agency: tuple[Cli, str], tmp_path: Path
) -> None:
    """The agency's key list (1.2) carries each imported store's key list and cross-certificate;
    a recipient verifies a moved bundle against the workstation's PKI, endorsed by the agency
    root, with no store."""
    ws, ids = workstation
    target, _bucket = agency
    assert _copy(ws, target).returncode == 0
    out = tmp_path / "export.zip"
    target.ok("export", ids[1], "--recipient", "ADA Jane Roe", "--reason", "discovery", "--out", str(out),
              as_user="erin")  # fmt: skip
    keys = tmp_path / "agency-keys.json"
    target.ok("keys", "export", "--out", str(keys))
    listed = json.loads(keys.read_text())
    assert listed["format"] == "collector-keys/1.2" and len(listed["imported"]) == 1
    checked = subprocess.run([str(Path(sys.executable).with_name("collector")), "verify", str(out), "--trust", str(keys),
                              "--json"], capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    report = json.loads(checked.stdout)
    assert checked.returncode == 0, checked.stdout
    signer = {c["name"]: c for c in report["bundles"][0]["checks"]}["signer certificate"]
    assert signer["ok"] and "cross-certified" in signer["detail"], signer

    listed["imported"][0]["cross_certificate"] = listed["root"]  # an endorsement that is not one
    forged = tmp_path / "forged-keys.json"
    forged.write_text(json.dumps(listed))
    refused = subprocess.run([str(Path(sys.executable).with_name("collector")), "verify", str(out), "--trust",
                              str(forged)], capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert refused.returncode == 1, refused.stdout


def test_a_copy_stopped_after_it_was_recorded_is_finished_by_running_it_again(
    workstation: tuple[Cli, list[str]], agency: tuple[Cli, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from collector.store import imports

    ws, ids = workstation
    target, _bucket = agency

    def stopped(*_args: object) -> None:
        raise imports.IntegrityError("the workstation lost power")

    with monkeypatch.context() as patch:
        patch.setattr(imports, "_bring_in", stopped)
        assert _copy(ws, target).returncode == 1
    for bundle_id in ids:  # recorded, with its moved event, but not yet in the bucket
        assert [e["type"] for e in target.json("custody", "show", bundle_id)][-1] == "moved"
    done = _copy(ws, target, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["moved"] == ids
    for bundle_id in ids:
        assert target.json("verify", bundle_id, as_user="erin")["ok"]
    assert _copy(ws, target).returncode == 2  # nothing left to do


def test_a_row_smuggled_into_imported_bundles_is_caught(
    workstation: tuple[Cli, list[str]], agency: tuple[Cli, str], pg: PostgresServer, site: RecordedSite
) -> None:
    """The workstations' role may INSERT into `imported_bundles`: a bundle sealed in the agency,
    listed there as moved in, would be judged against the workstation's PKI. The signed
    `store.imported` event does not name it, so verification stops."""

    ws, _ids = workstation
    target, _bucket = agency
    assert _copy(ws, target).returncode == 0
    auth_id = target.approved([site.http_url("/*")])
    own = target.json("capture", site.http_url("/s/abc123"), "--auth", auth_id, as_user="alice")["bundle_id"]
    with pg.connect(target.ledger_url, "app") as db:
        store_id = db.execute("SELECT store_id FROM imported_stores").fetchone()[0]
        db.execute("INSERT INTO imported_bundles VALUES (%s, %s)", (own, store_id))
    refused = target.run("verify", own, as_user="erin")
    assert refused.returncode == 1 and "does not name it" in refused.stderr, refused.stderr


def test_only_a_workstation_store_moves_and_only_into_an_agency_store(
    workstation: tuple[Cli, list[str]], agency: tuple[Cli, str], tmp_path: Path
) -> None:
    ws, _ids = workstation
    target, _bucket = agency
    other = ws.copy(tmp_path / "another-workstation")
    for where, message in ((other.store, "must be an agency store"), (tmp_path / "nowhere", "no evidence store")):
        refused = Cli(ws.store, env=target.env).run("store", "copy", "--to", str(where), "--root-sha256",
                                                    _root_sha256(ws.store), as_user="erin")  # fmt: skip
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr
    backwards = Cli(target.store, env=target.env).run("store", "copy", "--to", str(target.store), "--root-sha256",
                                                      "ab" * 32, as_user="erin")  # fmt: skip
    assert backwards.returncode == 2 and "must be a workstation store" in backwards.stderr, backwards.stderr


def test_an_object_smuggled_into_the_archive_listing_is_caught(
    workstation: tuple[Cli, list[str]], agency: tuple[Cli, str], pg: PostgresServer, s3: SeaweedServer
) -> None:
    """The workstations' role may INSERT into `bundle_objects`: a file added to an imported
    store's archive (here a time-stamp root) no longer matches the listing the signed
    `store.imported` event carries, so the archive is not read and its bundles do not verify."""

    ws, ids = workstation
    target, bucket = agency
    report = json.loads(_copy(ws, target, "--json").stdout)
    prefix = f"imports/{report['store_id']}"
    body = b"-----BEGIN CERTIFICATE-----\nplanted\n-----END CERTIFICATE-----\n"
    planted = s3.client("app").put_object(Bucket=bucket, Key=f"{prefix}/tsa/root-9.pem", Body=body)
    with pg.connect(target.ledger_url, "app") as db:
        db.execute("INSERT INTO bundle_objects VALUES (%s, 'tsa/root-9.pem', %s, %s, %s, 'now')",
                   (prefix, planted["VersionId"], hashlib.sha256(body).hexdigest(), len(body)))  # fmt: skip
    refused = target.run("verify", ids[0], as_user="erin")
    assert refused.returncode == 1 and "lists other objects" in refused.stderr, refused.stderr
    assert target.run("ledger", "verify", "--imported", report["store_id"]).returncode == 1
