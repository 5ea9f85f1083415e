"""Audits: `collector audit report` over a store with real captures, in every format.

One store is built per module through the command line (captures, an exigent capture
rejected and one overdue, a quarantined capture, refusals, a denied permission, a failed
log-in, a grade, an export, a legal hold, a purge, an alias and a personal-equipment
capture, a policy review); the tests read reports of it. The HTML report is opened in
headless Chromium, which must load nothing but the file and run no script.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Cli
from tests.unit.conftest import RecordedSite

AUDITOR = ("audrey", "audrey-passphrase")
HOSTILE_NOTE = "<script>alert(1)</script> seller met at the bridge"
HOSTILE_TITLE = "<img src=x onerror=alert(1)> stolen bikes for sale"
HOSTILE_DENIAL = (
    '=HYPERLINK("http://evil.example") <script>alert(1)</script> the facts describe no crime'
)
THREAT = (
    "A post threatens to open fire at the City Hall steps at noon today and shows a rifle; "
    "the account posted a photo of the building entrance ten minutes ago."
)
ALIAS = "river-watcher"
ALIAS_REASON = "Join the closed group reselling stolen bikes along the river trail"


def _metadata(cli: Cli, bundle_id: str) -> dict[str, Any]:
    return dict(
        json.loads((cli.store / "bundles" / bundle_id / "data" / "metadata.json").read_text())
    )


def _capture(cli: Cli, url: str, *args: str, as_user: str = "alice") -> str:
    return str(cli.json("capture", url, *args, as_user=as_user)["bundle_id"])


def _exigent(cli: Cli, url: str, *args: str) -> tuple[str, str]:
    bundle_id = _capture(
        cli, url, "--exigent", "--case", "HPD-2026-000777", "--facts", THREAT, *args
    )
    return bundle_id, str(_metadata(cli, bundle_id)["authorization"]["id"])


@pytest.fixture(scope="module")
def audited(
    workstation_template: Cli,
    site: RecordedSite,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """A store with one of everything the audit report covers, built through the CLI."""
    target = tmp_path_factory.mktemp("audited") / "store"
    shutil.copytree(workstation_template.store, target)
    cli = Cli(target)
    name, secret = AUDITOR
    cli.ok(
        "user",
        "add",
        name,
        "--role",
        "auditor",
        "--name",
        "Audrey Audit",
        "--badge",
        "AU-501",
        new_passphrase=secret,
    )
    ids: dict[str, Any] = {"cli": cli}
    auth = cli.approved([site.http_url("/*")], **{"--investigator": "dave"})
    ids["auth"] = auth
    ids["graded"] = _capture(cli, site.http_url("/login-wall.html"), "--auth", auth, as_user="dave")
    cli.ok("grade", ids["graded"], "--source", "B", "--content", "2", as_user="alice")
    cli.ok(
        "export",
        ids["graded"],
        "--recipient",
        "ADA Morgan",
        "--agency",
        "County DA",
        "--reason",
        "discovery in HPD-2026-000123",
        "--out",
        str(target.parent / "x.zip"),
        as_user="erin",
    )
    # exigent: one rejected (sent to purge review); one never reviewed and overdue, of the
    # page whose title is markup, with a note that is markup
    ids["exigent_rejected"], ids["exigent_rejected_auth"] = _exigent(
        cli, site.http_url("/index.html")
    )
    cli.ok(
        "auth",
        "review",
        ids["exigent_rejected_auth"],
        "--reject",
        "--reason",
        "no imminent threat shown",
        as_user="carol",
    )
    ids["hostile"], ids["exigent_overdue_auth"] = _exigent(
        cli, site.http_url("/hostile-title.html"), "--note", HOSTILE_NOTE
    )
    db = sqlite3.connect(target / "ledger.sqlite")
    body = json.loads(
        db.execute(
            "SELECT body FROM authorizations WHERE id = ?", (ids["exigent_overdue_auth"],)
        ).fetchone()[0]
    )
    body["requested_at"] = (
        (datetime.now(UTC) - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    )
    db.execute(
        "UPDATE authorizations SET body = ? WHERE id = ?",
        (json.dumps(body), ids["exigent_overdue_auth"]),
    )
    db.commit()
    db.close()
    ids["quarantined"] = _capture(cli, site.http_url("/protected/rally.html"), "--auth", auth)
    refused = cli.run("capture", "https://elsewhere.example/p/1", "--auth", auth, as_user="alice")
    assert refused.returncode == 3, refused.stderr
    denied_auth = cli.request([site.http_url("/*")])
    cli.ok("auth", "deny", denied_auth, "--reason", HOSTILE_DENIAL, as_user="bob")
    ids["denied_auth"] = denied_auth
    assert (
        cli.run(
            "grade", ids["hostile"], "--source", "A", "--content", "1", as_user="erin"
        ).returncode
        == 3
    )
    assert (
        cli.run(
            "grade",
            ids["hostile"],
            "--source",
            "A",
            "--content",
            "1",
            as_user="bob",
            passphrase="not-bobs-passphrase",
        ).returncode
        == 3
    )
    cli.ok(
        "hold", ids["hostile"], "--reason", "civil suit Smith v. City preserves it", as_user="erin"
    )
    cli.ok("purge", ids["graded"], "--reason", "duplicate of the case file copy", as_user="erin")
    cli.ok("purge", "approve", ids["graded"], as_user="bob")
    # aliases: one approved by two supervisors and used; one denied; a self-approval refused
    cli.ok("alias", "request", ALIAS, "--platform", "mastodon", "--handle", "@riverwatch",
           "--reason", ALIAS_REASON, as_user="alice")  # fmt: skip
    assert cli.run("alias", "approve", ALIAS, as_user="alice").returncode == 3
    cli.ok("alias", "approve", ALIAS, as_user="bob")
    cli.ok("alias", "approve", ALIAS, as_user="carol")
    cli.ok("alias", "request", "bike-buyer", "--platform", "mastodon", "--handle", "@bb",
           "--reason", ALIAS_REASON, as_user="dave")  # fmt: skip
    cli.ok("alias", "deny", "bike-buyer", "--reason", "one alias in this case is enough",
           as_user="carol")  # fmt: skip
    alias_auth = cli.approved([site.http_url("/*")], **{"--engagement": "alias", "--alias": ALIAS})
    ids["alias_auth"] = alias_auth
    ids["alias"] = _capture(cli, site.http_url("/s/abc123"), "--auth", alias_auth)
    # personal equipment: this machine becomes Alice's laptop
    cli.ok(
        "equipment",
        "add",
        "LAPTOP-ALICE",
        "--kind",
        "personal",
        "--description",
        "Alice's own laptop",
        "--assigned-to",
        "alice",
    )
    assert (
        cli.run("capture", site.http_url("/index.html"), "--auth", auth, as_user="alice").returncode
        == 3
    )
    personal_auth = cli.approved([site.http_url("/*")], **{"--allow-personal-equipment": ""})
    ids["personal"] = _capture(cli, site.http_url("/index.html"), "--auth", personal_auth)
    cli.ok(
        "policy", "reviewed", "--reason", "Annual review: equipment rules unchanged", as_user="bob"
    )
    return ids


def report(cli: Cli, *args: str, fmt: str = "json") -> Any:
    name, secret = AUDITOR
    result = cli.run("audit", "report", "--format", fmt, *args, as_user=name, passphrase=secret)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if fmt == "json" else result.stdout


def rows(data: dict[str, Any], section: str, **match: Any) -> list[dict[str, Any]]:
    return [r for r in data[section]["rows"] if all(r.get(k) == v for k, v in match.items())]


def one(data: dict[str, Any], section: str, **match: Any) -> dict[str, Any]:
    found = rows(data, section, **match)
    assert len(found) == 1, (section, match, data[section]["rows"])
    return found[0]


@pytest.fixture(scope="module")
def full(audited: dict[str, Any]) -> dict[str, Any]:
    return dict(report(audited["cli"]))


# ------------------------------------------------------------------ sections, in JSON


def test_captures_by_user_and_case_with_flags(
    audited: dict[str, Any], full: dict[str, Any]
) -> None:
    captures = full["captures"]
    assert captures["number"] == 1 and captures["count"] == len(captures["rows"])
    hostile = one(full, "captures", bundle_id=audited["hostile"])
    assert hostile["title"] == HOSTILE_TITLE and hostile["note"] == HOSTILE_NOTE
    assert hostile["captured_by"] == "alice" and hostile["machine"] == "unregistered"
    assert one(full, "captures", bundle_id=audited["graded"])["captured_by"] == "dave"
    assert one(full, "captures", bundle_id=audited["hostile"])["exigent"] is True
    assert one(full, "captures", bundle_id=audited["personal"])["exigent"] is False
    quarantined = one(full, "captures", bundle_id=audited["quarantined"])
    assert "withheld" in quarantined["title"] and quarantined["screening"] == "quarantined"
    personal = one(full, "captures", bundle_id=audited["personal"])
    assert personal["machine"] == "personal" and personal["equipment_id"] == "LAPTOP-ALICE"
    purged = one(full, "captures", bundle_id=audited["graded"])
    assert purged["purged"] is True and purged["metadata_readable"] is False
    alias = one(full, "captures", bundle_id=audited["alias"])
    assert alias["engagement"] == "alias" and alias["alias"] == ALIAS
    by_user = captures["breakdown"]["by user"]
    assert by_user["dave"] == 1 and by_user["alice"] == captures["count"] - 1
    assert set(captures["breakdown"]["by case"]) == {"HPD-2026-000123", "HPD-2026-000777"}
    assert captures["summary"]["exigent"] == 2 and captures["summary"]["personal_equipment"] == 1


def test_refusals_with_reasons(audited: dict[str, Any], full: dict[str, Any]) -> None:
    scope = one(full, "refusals", action="capture.refused", code="scope")
    assert scope["actor"] == "alice" and "outside every scope" in scope["reason"]
    assert "elsewhere.example" in scope["url"]
    assert (
        one(full, "refusals", action="capture.refused", code="equipment")["subject"]
        == audited["auth"]
    )
    denial = one(full, "refusals", action="auth.deny")
    assert denial["kind"] == "denied by supervisor" and denial["reason"] == HOSTILE_DENIAL
    assert denial["actor"] == "bob" and denial["subject"] == audited["denied_auth"]
    assert not rows(full, "refusals", action="auth.login")


def test_exigent_reviews_and_overdue(audited: dict[str, Any], full: dict[str, Any]) -> None:
    rejected = one(full, "exigent", authorization_id=audited["exigent_rejected_auth"])
    assert rejected["decision"] == "rejected" and rejected["reviewer"] == "carol"
    assert rejected["late"] is False and rejected["overdue"] is False
    assert rejected["bundles"] == [audited["exigent_rejected"]]
    overdue = one(full, "exigent", authorization_id=audited["exigent_overdue_auth"])
    assert (
        overdue["status"] == "exigent"
        and overdue["overdue"] is True
        and overdue["decision"] is None
    )
    assert full["exigent"]["summary"]["OVERDUE"] == 1


def test_alias_use(audited: dict[str, Any], full: dict[str, Any]) -> None:
    auth = one(full, "alias", kind="authorization", reference=audited["alias_auth"])
    assert auth["alias"] == ALIAS and auth["outcome"] == "approved" and auth["actor"] == "alice"
    assert one(full, "alias", kind="capture", reference=audited["alias"])["alias"] == ALIAS
    request = one(full, "alias", kind="alias.request", alias=ALIAS)
    assert request["actor"] == "alice" and ALIAS_REASON in request["detail"]
    assert "2 approvals required" in request["detail"]
    approvals = rows(full, "alias", kind="alias.approve", alias=ALIAS)
    assert [(a["actor"], a["detail"].split(";")[0]) for a in approvals] == [
        ("bob", "approval 1 of 2"),
        ("carol", "approval 2 of 2"),
    ]
    assert "active until" in approvals[1]["detail"]
    denial = one(full, "alias", kind="alias.deny", alias="bike-buyer")
    assert denial["actor"] == "carol"
    assert denial["detail"] == "one alias in this case is enough (was pending)"
    refused = one(full, "denied", action="denied.alias")
    assert refused["actor"] == "alice" and "separation of duties" in refused["reason"]
    assert full["alias"]["summary"]["alias_events"] == 5


def test_protected_matches_pending_review(audited: dict[str, Any], full: dict[str, Any]) -> None:
    match = one(full, "protected", bundle_id=audited["quarantined"])
    assert match["disposition"] == "quarantined" and match["state"] == "pending"
    assert match["categories"] == ["political views, associations or activities"]
    assert {"protest", "rally"} <= set(
        match["terms"]["political views, associations or activities"]
    )
    assert match["overdue"] is False and match["review_due"]
    text = json.dumps([full["protected"]["columns"], full["protected"]["rows"]]).lower()
    for forbidden in ("person", "author", "individual", "excerpt"):  # text is described, not people
        assert forbidden not in text


def test_equipment_section(audited: dict[str, Any], full: dict[str, Any]) -> None:
    personal = one(full, "equipment", kind="capture", reference=audited["personal"])
    assert personal["machine"] == "personal" and personal["allowed_by_authorization"] is True
    assert one(full, "equipment", kind="registered")["equipment_id"] == "LAPTOP-ALICE"
    assert "personal equipment" in one(full, "equipment", kind="refused")["detail"]
    assert (
        one(full, "equipment", kind="capture", reference=audited["hostile"])["machine"]
        == "unregistered"
    )
    assert full["equipment"]["summary"]["captures_personal"] == 1


def test_grades_missing(audited: dict[str, Any], full: dict[str, Any]) -> None:
    missing = {r["bundle_id"] for r in full["grades_missing"]["rows"]}
    assert {audited["hostile"], audited["quarantined"], audited["personal"]} <= missing
    assert audited["graded"] not in missing  # graded (and since purged)
    assert full["grades_missing"]["summary"]["purged_not_counted"] == 1


def test_retention_due_from_the_retention_module(
    audited: dict[str, Any], full: dict[str, Any]
) -> None:
    assert full["retention"]["summary"]["source"] == "collector.policy.retention"
    due = one(full, "retention", bundle_id=audited["exigent_rejected"])
    assert due["action"] == "purge-review" and due["days_overdue"] == 0


def test_holds_and_purges(audited: dict[str, Any], full: dict[str, Any]) -> None:
    held = one(full, "holds_purges", kind="held", bundle_id=audited["hostile"])
    assert held["actor"] == "erin" and "Smith v. City" in held["reason"]
    request = one(full, "holds_purges", kind="purge-request", bundle_id=audited["graded"])
    assert request["status"] == "purged" and request["approvals"] == ["bob"]
    purged = one(full, "holds_purges", kind="purged", bundle_id=audited["graded"])
    assert purged["actor"] == "bob" and purged["approvals"] == ["bob"]
    assert purged["reason"] == "duplicate of the case file copy"
    review = one(full, "holds_purges", kind="purge-review", bundle_id=audited["exigent_rejected"])
    assert "exigent capture rejected" in review["reason"]
    assert full["holds_purges"]["summary"]["on_hold_now"] == 1


def test_disseminations(audited: dict[str, Any], full: dict[str, Any]) -> None:
    sent = one(full, "disseminations", bundle_id=audited["graded"])
    assert (sent["recipient"], sent["recipient_agency"]) == ("ADA Morgan", "County DA")
    assert sent["reason"] == "discovery in HPD-2026-000123" and sent["by"] == "erin"
    assert sent["by_name"] == "Erin Evans" and sent["export_id"].startswith("X-")


def test_denied_attempts(full: dict[str, Any]) -> None:
    grade = one(full, "denied", action="denied.grade")
    assert grade["actor"] == "erin" and grade["what"] == "grade" and "may not" in grade["reason"]
    login = one(full, "denied", action="auth.login")
    assert login["actor"] == "bob" and login["what"] == "log in"


def test_policy_review_and_integrity(full: dict[str, Any]) -> None:
    policy = full["policy"]
    assert policy["summary"]["OVERDUE"] is False and len(policy["summary"]["sha256"]) == 64
    review = one(full, "policy", by="bob")
    assert review["reason"] == "Annual review: equipment rules unchanged"
    integrity = full["integrity"]
    assert integrity["summary"]["ledger_chain_ok"] is True and integrity["summary"]["ledger_ok"] is True
    assert {r["check"] for r in integrity["rows"]} >= {"ledger hash chain", "ledger signatures", "ledger checkpoints"}
    assert integrity["summary"]["custody_logs_failed"] == 0
    assert all(r["ok"] for r in integrity["rows"])


# ------------------------------------------------------------------ formats, period, permission


def test_md_and_csv_hold_the_same_items(audited: dict[str, Any], full: dict[str, Any]) -> None:
    cli = audited["cli"]
    text = report(cli, fmt="md")
    table = list(csv.DictReader(io.StringIO(report(cli, fmt="csv"))))
    for name in (
        "captures",
        "refusals",
        "exigent",
        "alias",
        "protected",
        "equipment",
        "grades_missing",
        "retention",
        "holds_purges",
        "disseminations",
        "denied",
        "policy",
        "integrity",
    ):
        section = full[name]
        assert f"## {section['number']}. " in text
        in_csv = [r for r in table if r["section"] == name and r["item"] != "none"]
        assert len(in_csv) >= section["count"], name  # later tests may add denied attempts
        if name == "denied":
            continue
        assert len(in_csv) == section["count"], name
    csv_ids = {r["bundle_id"] for r in table if r["section"] == "captures"}
    assert csv_ids == {r["bundle_id"] for r in full["captures"]["rows"]}
    for bundle_id in csv_ids:
        assert text.count(bundle_id) >= 1
    # hostile text is inert in both
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    hostile = next(
        r for r in table if r["section"] == "captures" and r["bundle_id"] == audited["hostile"]
    )
    assert hostile["title"] == HOSTILE_TITLE and hostile["note"] == HOSTILE_NOTE
    # a value a spreadsheet would run as a formula is kept as text; markdown brackets escaped
    denial = next(r for r in table if r["section"] == "refusals" and r["action"] == "auth.deny")
    assert denial["reason"] == "'" + HOSTILE_DENIAL
    assert "\\[withheld: quarantined" in text


def test_period_filter_excludes_events_outside_it(
    audited: dict[str, Any], full: dict[str, Any]
) -> None:
    cli = audited["cli"]
    today = datetime.now(UTC).date()
    inside = report(cli, "--from", today.isoformat(), "--to", today.isoformat())
    assert inside["captures"]["count"] == full["captures"]["count"] >= 5
    for args in (
        ["--from", (today + timedelta(days=1)).isoformat()],
        ["--to", (today - timedelta(days=1)).isoformat()],
    ):
        outside = report(cli, *args)
        for name in (
            "captures",
            "refusals",
            "alias",
            "protected",
            "equipment",
            "grades_missing",
            "holds_purges",
            "disseminations",
            "denied",
            "policy",
        ):
            assert outside[name]["count"] == 0, (args, name, outside[name]["rows"])
        # an overdue review is never hidden by the period
        overdue = one(outside, "exigent", authorization_id=audited["exigent_overdue_auth"])
        assert overdue["overdue"] is True and overdue["in_period"] is False
        assert outside["exigent"]["count"] == 1
    assert "*none*" in report(cli, "--from", (today + timedelta(days=1)).isoformat(), fmt="md")
    bad = cli.run(
        "audit",
        "report",
        "--from",
        "2026-05-02",
        "--to",
        "2026-05-01",
        as_user=AUDITOR[0],
        passphrase=AUDITOR[1],
    )
    assert bad.returncode == 2 and "after" in bad.stderr


def test_investigator_refused_and_report_run_recorded(
    audited: dict[str, Any], full: dict[str, Any]
) -> None:
    cli = audited["cli"]
    refused = cli.run("audit", "report", as_user="alice")
    assert refused.returncode == 3 and "may not run audit reports" in refused.stderr
    assert refused.stdout == ""
    denied = [e for e in cli.events() if e["action"] == "denied.audit"]
    assert denied[-1]["actor"] == "alice" and denied[-1]["outcome"] == "refused"
    out = cli.store.parent / "audit-2026.csv"
    ran = cli.run(
        "audit",
        "report",
        "--from",
        "2026-01-01",
        "--format",
        "csv",
        "--out",
        str(out),
        as_user="bob",
    )
    assert ran.returncode == 0, ran.stderr
    event = [e for e in cli.events() if e["action"] == "audit.report"][-1]
    assert event["actor"] == "bob" and event["outcome"] == "ok"
    details = event["details"]
    assert (details["from"], details["to"], details["format"]) == ("2026-01-01", None, "csv")
    assert details["out"] == str(out) and details["counts"]["captures"] == full["captures"]["count"]
    import hashlib

    assert details["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    again = cli.run("audit", "report", "--out", str(out), as_user="bob")
    assert again.returncode == 2 and "never overwritten" in again.stderr


def test_overdue_judged_at_a_later_time(audited: dict[str, Any]) -> None:
    """The pure builder: three days on, the protected-content review is overdue."""
    from collector.disclosure.audit import build_report
    from collector.store.store import Store

    store = Store.open(audited["cli"].store)
    try:
        later = build_report(store, None, None, at=datetime.now(UTC) + timedelta(days=4))
    finally:
        store.close()
    match = next(r for r in later.protected.rows if r.bundle_id == audited["quarantined"])
    assert match.state == "pending" and match.overdue
    assert later.protected.summary["OVERDUE"] == 1


# ------------------------------------------------------------------ the HTML, in a browser


def test_html_report_is_escaped_text(audited: dict[str, Any], tmp_path: Path) -> None:
    """Markup from pages, notes and reasons is text in the HTML report (Chromium renders it
    in tests/e2e/test_audit_html.py)."""
    out = tmp_path / "audit.html"
    name, secret = AUDITOR
    audited["cli"].ok(
        "audit", "report", "--format", "html", "--out", str(out), as_user=name, passphrase=secret
    )
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; stolen bikes for sale" in html
