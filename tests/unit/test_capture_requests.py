"""Two signatures: an investigator signs a capture request, a capture system (its own key and
certificate) seals the capture. `verify` checks both; each forgery of either is caught, also by
someone who holds the capture system's key. Pages are replayed from recordings (no browser)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import bagit
import pytest

from collector.errors import Refused
from collector.evidence import keys
from collector.evidence.bundle import layout
from collector.evidence.model import CaptureRequest
from collector.evidence.request import sign
from collector.jobs import requests
from collector.jobs import run as jobs
from collector.store import jobs as recorded_jobs
from collector.store.store import Actor, Store
from tests.helpers import PASSPHRASES, Cli
from tests.unit.conftest import RecordedSite


def enroll(cli: Cli, name: str = "cap-01") -> None:
    cli.ok("user", "add", name, "--role", "capture-system", "--name", f"Capture system {name}.pd.example",
           "--badge", f"{name}.pd.example", new_passphrase=PASSPHRASES[name])  # fmt: skip


def _actors(cli: Cli) -> tuple[Store, Actor, Actor]:
    store = Store.open(cli.store)
    return store, store.authenticate("alice", PASSPHRASES["alice"]), store.authenticate("cap-01", PASSPHRASES["cap-01"])


def _checks(cli: Cli, target: str) -> dict[str, dict[str, Any]]:
    done = cli.run("verify", target, "--json", as_user="erin")
    return {c["name"]: {**c, "rc": done.returncode} for c in json.loads(done.stdout)["checks"]}


@pytest.fixture(autouse=True)
def _store_environment(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process store access sees what the command line would (an agency store's credentials)."""
    for name, value in cli.env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def sealed(cli: Cli, site: RecordedSite) -> dict[str, Any]:
    auth_id = cli.approved([site.http_url("/*")])
    enroll(cli)
    store, alice, system = _actors(cli)
    signed = requests.make(store, alice, site.http_url("/s/abc123"), auth_id, note="from the tip")
    done = jobs.run(store, system, signed.request.job_id)
    return {"store": store, "alice": alice, "system": system, "signed": signed, "auth": auth_id,
            "bundle": cli.store / "bundles" / done.bundle_id, "id": done.bundle_id}  # fmt: skip


@pytest.mark.both_backends
def test_a_capture_system_seals_what_an_investigator_signed(cli: Cli, sealed: dict[str, Any]) -> None:
    checks = _checks(cli, sealed["id"])
    assert checks["capture request"]["rc"] == 0 and checks["capture request"]["ok"]
    assert "requested by alice" in checks["capture request"]["detail"]
    assert "captured by system cap-01" in checks["capture request"]["detail"]
    assert checks["requester certificate"]["ok"] and "Alice Adams" in checks["requester certificate"]["detail"]
    assert checks["signer certificate"]["ok"] and "capture-system" in checks["signer certificate"]["detail"]
    bundle = sealed["bundle"]
    assert (bundle / layout.REQUEST).read_bytes() == sealed["signed"].request.canonical()
    meta = json.loads((bundle / "data" / "metadata.json").read_text())
    assert meta["operator"]["user"] == "cap-01" and meta["request"]["requested_by"] == "alice"
    # Checked without this tool: the request's signature, and the tag manifest covering it.
    out = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", layout.REQUESTER_KEY, "-rawin",
                          "-in", layout.REQUEST, "-sigfile", layout.REQUEST_SIGNATURE],
                         cwd=bundle, capture_output=True, text=True)  # fmt: skip
    assert "Signature Verified Successfully" in out.stdout, out.stderr
    listed = (bundle / "tagmanifest-sha256.txt").read_text()
    assert all(name in listed for name in layout.REQUEST_FILES)
    # The capture is the investigator's: custody begins with them, the bundle row names them.
    row = sealed["store"].ledger.bundle(sealed["id"])
    assert row is not None and row.captured_by == "alice"
    assert cli.ok("custody", "transfer", sealed["id"], "--to", "erin", "--reason", "to the property room",
                  as_user="alice").returncode == 0  # fmt: skip
    assert cli.ok("ledger", "verify").returncode == 0  # every event signed by whoever acted


@pytest.mark.both_backends
def test_a_job_is_sealed_once(cli: Cli, sealed: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    store, system, job_id = sealed["store"], sealed["system"], sealed["signed"].request.job_id
    with pytest.raises(jobs.AlreadySealed):
        jobs.run(store, system, job_id)
    # Two workers that both began before either sealed: the second is refused at sealing time.
    monkeypatch.setattr(recorded_jobs, "sealed_as", lambda *_: None)
    with pytest.raises(Refused, match="already sealed"):
        jobs.run(store, system, job_id)
    assert len(cli.bundles()) == 1 and not list((cli.store / "work").glob("*.partial"))
    refused = [e for e in cli.events() if e["action"] == "capture.refused"]
    assert refused[-1]["details"]["code"] == "job-sealed"


def test_a_request_sealed_again_outside_the_claim_is_caught_by_the_stores_record(
        cli: Cli, sealed: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A holder of the capture system's key replays an investigator's signed request: a worker
    changed to skip the job's claim seals a second bundle for the same job. Both its signatures
    hold, but the store's ledger says which one bundle the job was sealed as."""
    import collector.capture as capture_module

    store, system, job_id = sealed["store"], sealed["system"], sealed["signed"].request.job_id
    assert _checks(cli, sealed["id"])["job seal"]["ok"]
    monkeypatch.setattr(recorded_jobs, "sealed_as", lambda *_: None)
    monkeypatch.setattr(capture_module, "claim_job", lambda *_: None)
    again = jobs.run(store, system, job_id)
    monkeypatch.undo()
    checks = _checks(cli, again.bundle_id)
    assert checks["capture request"]["ok"] and checks["requester certificate"]["ok"]
    assert not checks["job seal"]["ok"] and checks["job seal"]["rc"] == 1
    assert f"sealed as {sealed['id']}, not as this bundle" in checks["job seal"]["detail"]


def test_a_job_without_a_recorded_signed_request_is_refused(cli: Cli, site: RecordedSite) -> None:
    auth_id = cli.approved([site.http_url("/*")])
    enroll(cli)
    store, alice, system = _actors(cli)
    with pytest.raises(Refused, match="no capture request"):
        jobs.run(store, system, "J-20261205T000000Z-000000000000")
    # A request the capture system made up, signed with its own key, recorded as if alice's.
    forged = CaptureRequest(job_id="J-20261205T000000Z-00000000000F", url=site.http_url("/s/abc123"),
                            authorization_id=auth_id, requested_by="alice",
                            key_fingerprint=alice.user.key_fingerprint, requested_at=alice.user.created_at)  # fmt: skip
    signed = sign(forged, system.key)
    store.ledger.record(recorded_jobs.LedgerAction.capture_requested, actor="cap-01", subject=forged.job_id,
                        details={"signed": signed.model_dump(mode="json")})  # fmt: skip
    with pytest.raises(Refused, match="signature does not verify"):
        jobs.run(store, system, forged.job_id)
    # An investigator may not seal jobs, a capture system may not request them.
    with pytest.raises(Refused):
        jobs.run(store, alice, forged.job_id)
    with pytest.raises(Refused):
        requests.make(store, system, site.http_url("/s/abc123"), auth_id)
    assert cli.bundles() == []


def test_a_revoked_authorization_stops_a_queued_request(cli: Cli, site: RecordedSite) -> None:
    auth_id = cli.approved([site.http_url("/*")])
    enroll(cli)
    store, alice, system = _actors(cli)
    signed = requests.make(store, alice, site.http_url("/s/abc123"), auth_id)
    cli.ok("auth", "revoke", auth_id, "--reason", "case closed", as_user="bob")
    with pytest.raises(Refused):
        jobs.run(store, system, signed.request.job_id)
    assert cli.bundles() == []


# ------------------------------------------------------------------ forgeries


def _writable(bundle: Path) -> None:
    for root, _dirs, names in os.walk(bundle):
        os.chmod(root, 0o755)
        for name in names:
            os.chmod(os.path.join(root, name), 0o644)


def _reseal(bundle: Path, key: Any) -> None:
    """What someone holding the capture system's key can do: rewrite the tag manifests and
    sign them again (the time-stamp then no longer matches and is removed)."""
    bagit.Bag(str(bundle)).save(manifests=True)
    (bundle / layout.SIGNATURE).write_bytes(keys.sign(key, (bundle / layout.SIGNED_FILE).read_bytes()))
    (bundle / layout.TIMESTAMP).unlink(missing_ok=True)


def _copy(sealed: dict[str, Any], tmp_path: Path) -> Path:
    copy = tmp_path / sealed["id"]
    shutil.copytree(sealed["bundle"], copy)
    _writable(copy)
    return copy


def _metadata(bundle: Path, change: Any) -> None:
    path = bundle / "data" / "metadata.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta, indent=2) + "\n")


def test_a_changed_request_breaks_the_seal(cli: Cli, sealed: dict[str, Any], tmp_path: Path) -> None:
    copy = _copy(sealed, tmp_path)
    text = (copy / layout.REQUEST).read_text().replace("/s/abc123", "/s/other")
    (copy / layout.REQUEST).write_text(text)
    checks = _checks(cli, str(copy))
    assert checks["capture request"]["rc"] != 0
    assert not checks["tag files sha256"]["ok"] and not checks["capture request"]["ok"]


def test_a_capture_system_cannot_forge_the_investigators_request(cli: Cli, sealed: dict[str, Any],
                                                                 tmp_path: Path) -> None:  # fmt: skip
    """Resealed with the capture system's own key: the seal holds, the request does not."""
    system = sealed["system"]
    copy = _copy(sealed, tmp_path)
    asked = json.loads((copy / layout.REQUEST).read_text())
    asked["note"] = "a note alice never wrote"
    changed = CaptureRequest.model_validate(asked)
    (copy / layout.REQUEST).write_bytes(changed.canonical())
    _metadata(copy, lambda m: m.update(note=changed.note, request=changed.model_dump(mode="json")))
    _reseal(copy, system.key)
    checks = _checks(cli, str(copy))
    assert checks["seal signature"]["ok"]
    assert not checks["capture request"]["ok"] and "does not verify" in checks["capture request"]["detail"]


def test_a_capture_system_cannot_sign_as_the_requester(cli: Cli, sealed: dict[str, Any], tmp_path: Path) -> None:
    system = sealed["system"]
    copy = _copy(sealed, tmp_path)
    own = keys.public_pem(system.key.public_key())
    asked = CaptureRequest.model_validate_json((copy / layout.REQUEST).read_bytes())
    mine = asked.model_copy(update={"key_fingerprint": keys.fingerprint(own)})
    (copy / layout.REQUEST).write_bytes(mine.canonical())
    (copy / layout.REQUEST_SIGNATURE).write_bytes(bytes.fromhex(sign(mine, system.key).signature))
    (copy / layout.REQUESTER_KEY).write_bytes(own)
    _metadata(copy, lambda m: m.update(request=mine.model_dump(mode="json")))
    _reseal(copy, system.key)
    checks = _checks(cli, str(copy))
    assert checks["capture request"]["ok"]  # consistent on its own terms...
    assert not checks["requester certificate"]["ok"]  # ...but alice's certificate is not for that key
    assert "not for the request's key" in checks["requester certificate"]["detail"]


def test_a_capture_system_bundle_without_a_request_fails(cli: Cli, sealed: dict[str, Any], tmp_path: Path) -> None:
    copy = _copy(sealed, tmp_path)
    for name in layout.REQUEST_FILES:
        (copy / name).unlink()
    _metadata(copy, lambda m: m.update(request=None))
    _reseal(copy, sealed["system"].key)
    checks = _checks(cli, str(copy))
    assert checks["seal signature"]["ok"]
    assert not checks["capture request"]["ok"] and "carries no capture request" in checks["capture request"]["detail"]


def test_a_changed_seal_is_caught(cli: Cli, sealed: dict[str, Any], tmp_path: Path) -> None:
    copy = _copy(sealed, tmp_path)
    signature = bytearray((copy / layout.SIGNATURE).read_bytes())
    signature[0] ^= 1
    (copy / layout.SIGNATURE).write_bytes(bytes(signature))
    checks = _checks(cli, str(copy))
    assert not checks["seal signature"]["ok"] and checks["capture request"]["ok"]


def test_the_requester_may_say_they_reviewed_the_capture(cli: Cli, sealed: dict[str, Any]) -> None:
    bundle_id = sealed["id"]
    other = cli.run("custody", "review", bundle_id, as_user="dave")
    assert other.returncode == 3 and "only alice" in other.stderr
    done = cli.json("custody", "review", bundle_id, "--note", "thread and photo as reported", as_user="alice")
    assert done["type"] == "requester-reviewed" and done["actor"]["user"] == "alice"
    assert done["details"]["job_id"] == sealed["signed"].request.job_id and "I requested" in done["details"]["statement"]
    assert cli.run("custody", "review", bundle_id, as_user="alice").returncode == 2  # once
    assert cli.run("custody", "verify", bundle_id, as_user="erin").returncode == 0
    assert cli.run("verify", bundle_id, as_user="erin").returncode == 0


def test_a_requester_key_swapped_in_the_registry_is_refused_before_capturing(cli: Cli, site: RecordedSite) -> None:
    """Someone who can write the key registry (and the users table) but holds no issuing CA puts
    their own key in alice's place and signs a request as her: the capture system refuses it,
    because no certificate names alice with that key."""
    import sqlite3

    from collector.evidence.keys import generate_unencrypted, unencrypted_from

    auth_id = cli.approved([site.http_url("/*")])
    enroll(cli)
    store, alice, system = _actors(cli)
    mine = unencrypted_from(generate_unencrypted(), "test key")
    public = keys.public_pem(mine.public_key())
    (cli.store / "keys" / "alice.pub.pem").write_bytes(public)
    db = sqlite3.connect(cli.store / "ledger.sqlite")
    db.execute("UPDATE users SET key_fingerprint = ?, public_key_pem = ? WHERE name = 'alice'",
               (keys.fingerprint(public), public.decode()))  # fmt: skip
    db.commit()
    db.close()
    forged = CaptureRequest(job_id="J-20261205T000000Z-0000000000AA", url=site.http_url("/s/abc123"),
                            authorization_id=auth_id, requested_by="alice", key_fingerprint=keys.fingerprint(public),
                            requested_at=alice.user.created_at)  # fmt: skip
    store = Store.open(cli.store)
    store.ledger.record(recorded_jobs.LedgerAction.capture_requested, actor="cap-01", subject=forged.job_id,
                        details={"signed": sign(forged, mine).model_dump(mode="json")})  # fmt: skip
    system = store.authenticate("cap-01", PASSPHRASES["cap-01"])
    with pytest.raises(Refused, match="certificate"):
        jobs.run(store, system, forged.job_id)
    assert cli.bundles() == []
