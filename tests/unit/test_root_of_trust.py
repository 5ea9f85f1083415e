"""The agency PKI as a forger meets it: a bundle's signer is anchored to the agency root, by
certificate, with the revocation state and the recorded issuance at the time of the seal."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from collector.evidence import keys, pki
from collector.evidence.trust import AgencyTrust, Issuance, judge_approver, judge_signer
from collector.store import pki as store_pki
from collector.store.store import Store
from tests.fakes.forge import confess, insert_key, reseal
from tests.helpers import ADMIN_PASSPHRASE, Cli


@pytest.fixture
def held(sealed: dict[str, Any], tmp_path: Path) -> tuple[Cli, str, Path]:
    """A private copy of the session's sealed store: (cli, bundle id, bundle directory)."""
    target = tmp_path / "store"
    shutil.copytree(sealed["cli"].store, target)
    bundle_id = sealed["result"]["bundle_id"]
    return Cli(target), bundle_id, target / "bundles" / bundle_id


def nowhere(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "no-store-here")


def published(cli: Cli, tmp_path: Path) -> Path:
    out = tmp_path / "published" / "agency-keys.json"
    out.parent.mkdir(exist_ok=True)
    cli.ok("keys", "export", "--out", str(out))
    return out


def failed(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return {c["name"]: c["detail"] for c in json.loads(result.stdout)["checks"] if not c["ok"]}


def checks(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def forged_copy(bag: Path, tmp_path: Path, name: str = "forged") -> Path:
    copy = tmp_path / name
    shutil.copytree(bag, copy)
    return copy


# ------------------------------------------------------------------ the genuine article


def test_a_bundle_carries_its_signers_chain_and_openssl_accepts_it(held: tuple[Cli, str, Path]) -> None:
    cli, _bundle_id, bag = held
    chain = pki.load_certificates((bag / "signer-chain.pem").read_bytes())
    assert len(chain) == 2
    holder = pki.holder(chain[0])
    assert holder is not None and (holder.user, holder.role, holder.badge) == ("alice", "investigator", "I-101")
    assert "signer-chain.pem" in (bag / "tagmanifest-sha256.txt").read_text()
    done = subprocess.run(
        ["openssl", "verify", "-CAfile", str(cli.store / "pki" / "root.cert.pem"), "-untrusted",
         "signer-chain.pem", "-crl_check", "-CRLfile", str(cli.store / "pki" / "crl.pem"), "signer-chain.pem"],
        cwd=bag, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "signer-chain.pem: OK", done.stderr
    subject = subprocess.run(["openssl", "x509", "-in", "signer-chain.pem", "-noout", "-subject"],
                             cwd=bag, capture_output=True, text=True).stdout  # fmt: skip
    assert "UID = alice" in subject and "OU = investigator" in subject


def test_in_the_store_the_signer_is_certified(held: tuple[Cli, str, Path]) -> None:
    cli, bundle_id, _bag = held
    result = cli.run("verify", bundle_id, "--json")
    assert result.returncode == 0, result.stdout
    signer = checks(result)["signer certificate"]
    assert signer["ok"] and signer["detail"].startswith(
        "Alice Adams (alice, badge I-101, investigator), certified by this store's agency root at "
    )
    assert "(local clock)" in signer["detail"] and signer["warning"]  # the test store has no TSA
    approval = checks(result)["authorization"]
    assert approval["ok"] and approval["detail"].endswith("signature verified; certified supervisor at the approval")


def test_a_bundle_directory_verifies_with_the_key_list_on_a_machine_with_no_store(
    held: tuple[Cli, str, Path], tmp_path: Path
) -> None:
    cli, _bundle_id, bag = held
    keylist = published(cli, tmp_path)
    listed = json.loads(keylist.read_text())
    assert listed["format"] == "collector-keys/1.1" and listed["root"].startswith("-----BEGIN CERTIFICATE")
    assert {c["user"] for c in listed["certificates"]} >= {"alice", "bob", "erin", "system"}
    result = nowhere(tmp_path).run("verify", str(bag), "--trust", str(keylist), "--json")
    assert result.returncode == 0, result.stdout
    assert "certified by the trusted key list of Test Police Department" in checks(result)["signer certificate"]["detail"]
    alone = nowhere(tmp_path).run("verify", str(bag), "--json")
    assert alone.returncode == 1
    assert list(failed(alone)) == ["signer certificate"]
    assert failed(alone)["signer certificate"].startswith("signer not anchored: the certificate names Alice Adams")
    assert not (tmp_path / "no-store-here").exists()


def test_a_key_list_of_format_1_0_judges_the_signer_by_key_alone(
    held: tuple[Cli, str, Path], tmp_path: Path
) -> None:
    cli, _bundle_id, bag = held
    keylist = published(cli, tmp_path)
    data = json.loads(keylist.read_text())
    old = {k: data[k] for k in ("agency", "store_id", "exported_at", "keys", "tsa_roots")}
    keylist.write_text(json.dumps({"format": "collector-keys/1.0", **old}))
    result = nowhere(tmp_path).run("verify", str(bag), "--trust", str(keylist), "--json")
    assert result.returncode == 0, result.stdout
    signer = checks(result)["signer certificate"]
    assert signer["warning"] and signer["detail"].startswith(
        "not anchored to an agency root: the trusted key list of Test Police Department (format 1.0: no agency root)"
    )
    assert checks(result)["signer key"]["detail"] == "registered to alice"


def test_a_key_list_that_lies_about_a_certificate_is_refused(held: tuple[Cli, str, Path], tmp_path: Path) -> None:
    cli, _bundle_id, bag = held
    keylist = published(cli, tmp_path)
    data = json.loads(keylist.read_text())
    data["certificates"][0]["sha256"] = "0" * 64
    keylist.write_text(json.dumps(data))
    result = nowhere(tmp_path).run("verify", str(bag), "--trust", str(keylist))
    assert result.returncode == 2 and "does not match its digest" in result.stderr
    assert result.stderr.count("\n") == 1


# ------------------------------------------------------------------ forgeries


def test_a_key_inserted_into_the_ledger_cannot_sign_for_alice(held: tuple[Cli, str, Path], tmp_path: Path) -> None:
    """With write access to the ledger: a key registered to alice in the table, the bundle
    edited and resealed with it, alice's genuine certificate chain left in place."""
    cli, bundle_id, bag = held
    keylist = published(cli, tmp_path)
    key = Ed25519PrivateKey.generate()
    insert_key(cli.store / "ledger.sqlite", "alice", key)
    confess(bag)
    reseal(bag, key)
    result = cli.run("verify", bundle_id, "--json")
    assert result.returncode == 1
    problems = failed(result)
    assert problems["signer key"].endswith("is not in the store's key registry")
    assert problems["signer certificate"] == "the certificate in signer-chain.pem is not for the seal's key"
    outside = nowhere(tmp_path).run("verify", str(bag), "--trust", str(keylist), "--json")
    assert outside.returncode == 1
    assert failed(outside)["signer certificate"] == "the certificate in signer-chain.pem is not for the seal's key"


def test_a_bundle_resealed_under_a_self_made_agency_is_not_anchored(
    held: tuple[Cli, str, Path], tmp_path: Path
) -> None:
    """Outside any store: a root, an issuing CA and a certificate naming alice, all made by
    the forger, ship inside the bundle."""
    cli, _bundle_id, bag = held
    keylist = published(cli, tmp_path)
    now = datetime.now(UTC)
    root_key, ca_key, key = (Ed25519PrivateKey.generate() for _ in range(3))
    root = pki.make_root("Test Police Department", root_key, now - timedelta(days=30))
    ca = pki.make_intermediate("Test Police Department", ca_key.public_key(), root_key, root, now - timedelta(days=30))
    cert = pki.issue_user(user="alice", full_name="Alice Adams", badge="I-101", role="investigator",
                          agency="Test Police Department", public_key=key.public_key(), issuer_key=ca_key,
                          issuer=ca, now=now - timedelta(days=30))  # fmt: skip
    copy = forged_copy(bag, tmp_path)
    confess(copy)
    reseal(copy, key, (pki.pem(cert) + pki.pem(ca)).encode())
    result = nowhere(tmp_path).run("verify", str(copy), "--trust", str(keylist), "--json")
    assert result.returncode == 1
    problems = failed(result)
    assert problems["signer certificate"].startswith("the issuing CA does not chain to a trusted agency root")
    assert problems["signer key"].endswith("is not in the store's key registry")
    alone = nowhere(tmp_path).run("verify", str(copy), "--json")
    assert alone.returncode == 1 and failed(alone)["signer certificate"].startswith("signer not anchored")


def _mint(store_dir: Path, key: Ed25519PrivateKey, at: datetime, *, record: bool) -> x509.Certificate:
    """What someone holding the issuing CA (the administrator's passphrase) can do: certify a
    key of their own as alice's, valid from `at` — and, with `record`, enter it in the ledger
    through the tool (the issuance event can only carry the time it is recorded)."""
    store = Store.open(store_dir)
    try:
        issuer = store.pki.unlock(ADMIN_PASSPHRASE)
        alice = store.ledger.user("alice")
        assert alice is not None
        public = keys.public_pem(key.public_key())
        forged = alice.model_copy(update={"key_fingerprint": keys.fingerprint(public),
                                          "public_key_pem": public.decode()})  # fmt: skip
        if not record:
            return pki.issue_user(user="alice", full_name=alice.full_name, badge=alice.badge, role="investigator",
                                  agency=store.config.agency, public_key=key.public_key(),
                                  issuer_key=issuer.key, issuer=issuer.certificate, now=at)  # fmt: skip
        real_now = store_pki.now
        store_pki.now = lambda: at  # type: ignore[assignment]
        try:
            with store.ledger.transaction() as db:
                return store.pki.issue(forged, issuer, db, None)
        finally:
            store_pki.now = real_now  # type: ignore[assignment]
    finally:
        store.close()


@pytest.mark.parametrize("record", [False, True], ids=["unrecorded", "recorded-now"])
def test_a_back_dated_certificate_is_caught(held: tuple[Cli, str, Path], tmp_path: Path, record: bool) -> None:
    cli, bundle_id, bag = held
    meta = json.loads((bag / "data" / "metadata.json").read_text())
    started = datetime.fromisoformat(meta["capture"]["started_at"])
    key = Ed25519PrivateKey.generate()
    cert = _mint(cli.store, key, started - timedelta(days=1), record=record)
    assert cert.not_valid_before_utc < started
    if record:
        insert_key(cli.store / "ledger.sqlite", "alice", key)
    keylist = published(cli, tmp_path)
    intermediate = (cli.store / "pki" / "intermediate.cert.pem").read_bytes()
    confess(bag)
    reseal(bag, key, pki.pem(cert).encode() + intermediate)
    inside = cli.run("verify", bundle_id, "--json")
    outside = nowhere(tmp_path).run("verify", str(bag), "--trust", str(keylist), "--json")
    for result in (inside, outside):
        assert result.returncode == 1
        reason = failed(result)["signer certificate"]
        if record:
            assert "was recorded as issued at" in reason and reason.endswith("(local clock)): back-dated")
        else:
            assert "is not recorded as issued by the agency" in reason


def test_a_role_edited_in_the_table_is_refused(held: tuple[Cli, str, Path]) -> None:
    cli, _bundle_id, _bag = held
    auth_id = cli.request(["https://example.org/*"], as_user="dave")
    with sqlite3.connect(cli.store / "ledger.sqlite") as db:
        db.execute("UPDATE users SET role='supervisor' WHERE name='alice'")
    result = cli.run("auth", "approve", auth_id, as_user="alice")
    assert result.returncode == 3
    assert "is not the role certified (investigator): roles come from certificates" in result.stderr
    refused = [e for e in cli.events() if e["action"] == "auth.login" and e["outcome"] == "refused"]
    assert refused and refused[-1]["actor"] == "alice"
    assert cli.json("auth", "show", auth_id)["status"] == "pending"
    # nor does a table row make someone else an investigator, a supervisor or a custodian
    with sqlite3.connect(cli.store / "ledger.sqlite") as db:
        db.execute("UPDATE users SET role='investigator' WHERE name='erin'")
    listed = cli.run("auth", "request", "--case", "HPD-2026-000124", "--predicate", "criminal-predicate",
                     "--standard", "reasonable-suspicion", "--purpose", "criminal-investigation",
                     "--facts", "On 2026-11-21 the account offered stolen bicycles for sale in a public post.",
                     "--scope", "https://example.org/*", "--retention", "case-evidence",
                     "--investigator", "erin", as_user="dave")  # fmt: skip
    assert listed.returncode == 2 and "'erin' is not an active investigator" in listed.stderr
    with sqlite3.connect(cli.store / "ledger.sqlite") as db:
        db.execute("UPDATE users SET role='investigator' WHERE name='alice'")
    to_system = cli.run("custody", "transfer", _bundle_id, "--to", "system", "--reason", "x", as_user="alice")
    assert to_system.returncode == 2 and "no valid certificate of a person" in to_system.stderr


def test_a_key_compromised_before_the_seal_fails_and_a_later_retirement_does_not(
    sealed: dict[str, Any], tmp_path: Path
) -> None:
    bundle_id = sealed["result"]["bundle_id"]
    meta = json.loads((sealed["path"] / "data" / "metadata.json").read_text())
    started = datetime.fromisoformat(meta["capture"]["started_at"])
    compromised = Cli(tmp_path / "compromised")
    retired = Cli(tmp_path / "retired")
    for cli in (compromised, retired):
        shutil.copytree(sealed["cli"].store, cli.store)
    since = (started - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S%z")
    compromised.ok("user", "retire", "alice", "--compromised-since", since)
    result = compromised.run("verify", bundle_id, "--json")
    assert result.returncode == 1
    reason = failed(result)["signer certificate"]
    assert "revoked (key-compromise) with effect from" in reason and reason.endswith("before the seal")
    retired.ok("user", "retire", "alice")
    later = retired.run("verify", bundle_id, "--json")
    assert later.returncode == 0, later.stdout
    assert "revoked later (retired" in checks(later)["signer certificate"]["detail"]
    assert "signatures made before stay valid" in checks(later)["signer certificate"]["detail"]


def test_a_chain_file_removed_from_a_bundle_is_caught(held: tuple[Cli, str, Path], tmp_path: Path) -> None:
    cli, _bundle_id, bag = held
    keylist = published(cli, tmp_path)
    copy = forged_copy(bag, tmp_path)
    os.chmod(copy, 0o755)
    (copy / "signer-chain.pem").unlink()
    result = nowhere(tmp_path).run("verify", str(copy), "--trust", str(keylist), "--json")
    assert result.returncode == 1
    problems = failed(result)
    assert problems["signer certificate"].startswith("signer-chain.pem missing or unreadable")
    assert "signer-chain.pem" in problems["tag files sha256"]


# ------------------------------------------------------------------ the root off-line


def test_the_root_key_goes_off_line(cli: Cli, tmp_path: Path) -> None:
    root_key = cli.store / "keys" / "agency" / "root.key.pem"
    assert root_key.is_file()
    out = tmp_path / "offline" / "agency-root.pem"
    out.parent.mkdir()
    wrong = Cli(cli.store, env={"COLLECTOR_ADMIN_PASSPHRASE": "not-the-passphrase"}).run(
        "root", "export", "--out", str(out)
    )
    assert wrong.returncode == 3 and not out.exists()
    done = cli.run("root", "export", "--out", str(out), "--remove")
    assert done.returncode == 0, done.stderr
    assert not root_key.exists() and (out.stat().st_mode & 0o777) == 0o600
    text = out.read_text()
    assert "BEGIN ENCRYPTED PRIVATE KEY" in text and "BEGIN CERTIFICATE" in text
    event = next(e for e in cli.events() if e["action"] == "pki.root-exported")
    assert event["details"]["removed"] is True and event["details"]["file"] == "agency-root.pem"
    # the issuing CA still issues; the root is needed only to renew it
    cli.ok("user", "add", "fay", "--role", "auditor", "--name", "Fay Fox", "--badge", "X-1",
           new_passphrase="fay-passphrase")  # fmt: skip
    again = cli.run("root", "export", "--out", str(tmp_path / "again.pem"))
    assert again.returncode == 2 and "not on this machine" in again.stderr


# ------------------------------------------------------------------ the judgement itself


@pytest.fixture(scope="module")
def agency() -> dict[str, Any]:
    now = datetime.now(UTC)
    root_key, ca_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    root = pki.make_root("PD", root_key, now - timedelta(days=10))
    ca = pki.make_intermediate("PD", ca_key.public_key(), root_key, root, now - timedelta(days=10))
    return {"now": now, "root": root, "ca": ca, "ca_key": ca_key}


def _certify(agency: dict[str, Any], user: str, role: str, at: datetime) -> tuple[x509.Certificate, bytes]:
    key = Ed25519PrivateKey.generate()
    cert = pki.issue_user(user=user, full_name=user.title(), badge="1", role=role, agency="PD",
                          public_key=key.public_key(), issuer_key=agency["ca_key"], issuer=agency["ca"],
                          now=at)  # fmt: skip
    return cert, keys.public_pem(key.public_key())


def _trust(agency: dict[str, Any], *certs: x509.Certificate, at: datetime) -> AgencyTrust:
    from cryptography.hazmat.primitives import hashes

    crl = pki.make_crl([], agency["ca_key"], agency["ca"], agency["now"], 1)
    return AgencyTrust(source="test", roots=[agency["root"]], intermediates=[agency["ca"]], crls=[crl],
                       issued={c.fingerprint(hashes.SHA256()).hex(): Issuance(at) for c in certs},
                       sealing_roles=frozenset({"investigator"}))  # fmt: skip


def test_judgement_names_what_is_wrong(agency: dict[str, Any]) -> None:
    now, earlier = agency["now"], agency["now"] - timedelta(days=5)
    cert, public = _certify(agency, "ann", "investigator", earlier)
    trust = _trust(agency, cert, at=earlier)
    good = judge_signer([cert, agency["ca"]], public, "ann", now, True, trust)
    assert good.ok and not good.warning and "not revoked" in good.detail
    assert not judge_signer([cert], public, "bea", now, True, trust).ok
    assert "not the operator bea" in judge_signer([cert], public, "bea", now, True, trust).detail
    supervisor, sup_public = _certify(agency, "sue", "supervisor", earlier)
    judged = judge_signer([supervisor], sup_public, "sue", now, True, _trust(agency, supervisor, at=earlier))
    assert not judged.ok and judged.detail == "the certificate's role supervisor may not seal captures"
    too_early = judge_signer([cert], public, "ann", earlier - timedelta(days=1), True, trust)
    assert not too_early.ok and too_early.detail.startswith("the signer's certificate was not valid at")
    no_crl = AgencyTrust(source="t", roots=[agency["root"]], intermediates=[agency["ca"]],
                         issued=trust.issued, sealing_roles=trust.sealing_roles)  # fmt: skip
    unsure = judge_signer([cert], public, "ann", now, True, no_crl)
    assert unsure.ok and unsure.warning and "revocation NOT checked" in unsure.detail


def test_an_approvers_role_is_judged_at_the_approval(agency: dict[str, Any]) -> None:
    now, earlier = agency["now"], agency["now"] - timedelta(days=5)
    sup, sup_public = _certify(agency, "sue", "supervisor", earlier)
    inv, inv_public = _certify(agency, "ian", "investigator", earlier)
    trust = _trust(agency, sup, inv, at=earlier)
    trust = AgencyTrust(**{**trust.__dict__, "certificates": [sup, inv],
                           "approving_roles": frozenset({"supervisor"})})  # fmt: skip
    fingerprint = keys.fingerprint(sup_public)
    assert judge_approver(fingerprint, "sue", now, trust).ok
    wrong_role = judge_approver(keys.fingerprint(inv_public), "ian", now, trust)
    assert not wrong_role.ok and "investigator, who may not approve" in wrong_role.detail
    assert not judge_approver(fingerprint, "ian", now, trust).ok  # sue's key, ian's name
    too_early = judge_approver(fingerprint, "sue", earlier - timedelta(days=1), trust)
    assert not too_early.ok and "was valid at the approval" in too_early.detail
    before_pki = judge_approver(fingerprint, "sue", now - timedelta(days=30), trust)
    assert before_pki.ok and before_pki.warning and "before the agency PKI existed" in before_pki.detail
