"""The agency policy enforced: exigent captures, protected-content screening, equipment, policy file."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from tests.helpers import FACTS, Cli
from tests.unit.conftest import RecordedSite

THREAT = (
    "A post threatens to open fire at the City Hall rally at noon today and shows a rifle; "
    "the account posted a photo of the building entrance ten minutes ago."
)


def set_policy(cli: Cli, **values: Any) -> None:
    path = cli.store / "collector.toml"
    config = tomllib.loads(path.read_text())
    for dotted, value in values.items():
        target = config["policy"]
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[key]
        target[last] = value
    path.write_text(tomli_w.dumps(config))


def last_event(cli: Cli, prefix: str) -> dict[str, Any]:
    return [e for e in cli.events() if e["action"].startswith(prefix)][-1]


# ------------------------------------------------------------------ exigent captures


def exigent_capture(cli: Cli, url: str) -> dict[str, Any]:
    result = cli.run("capture", url, "--exigent", "--case", "HPD-2026-000777", "--facts", THREAT,
                     "--json", as_user="alice")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_exigent_capture_without_approval_is_recorded_and_owes_review(store: Cli, site: RecordedSite) -> None:
    result = exigent_capture(store, site.http_url("/login-wall.html"))
    meta = json.loads((Path(result["path"]) / "data" / "metadata.json").read_text())
    assert meta["exigent"] is True and meta["authorization"]["approved_by"] is None
    assert meta["authorization"]["conditions"]["exigent"] is True
    info = (Path(result["path"]) / "bag-info.txt").read_text()
    assert "Authorizing-Officer: none: exigent capture" in info
    auth = store.json("auth", "list")[-1]
    assert auth["status"] == "exigent" and auth["scopes"] == [site.http_url("/login-wall.html")]
    verified = store.json("verify", result["bundle_id"], as_user="erin")
    check = {c["name"]: c for c in verified["checks"]}["authorization"]
    assert check["ok"] and check["warning"] and "review is owed" in check["detail"]
    owed = store.json("review", "pending")
    assert [o["id"] for o in owed] == [auth["id"]]


def test_exigent_authorization_covers_only_that_url_and_that_investigator(store: Cli, site: RecordedSite) -> None:
    exigent_capture(store, site.http_url("/login-wall.html"))
    auth_id = store.json("auth", "list")[-1]["id"]
    other = store.run("capture", site.http_url("/index.html"), "--auth", auth_id, as_user="alice")
    assert other.returncode == 3 and "outside every scope" in other.stderr
    dave = store.run("capture", site.http_url("/login-wall.html"), "--auth", auth_id, as_user="dave")
    assert dave.returncode == 3


def test_exigent_needs_case_and_real_facts(store: Cli, site: RecordedSite) -> None:
    url = site.http_url("/login-wall.html")
    assert store.run("capture", url, "--exigent", as_user="alice").returncode == 2
    thin = store.run("capture", url, "--exigent", "--case", "HPD-2026-000777", "--facts", "TBD", as_user="alice")
    assert thin.returncode == 2 and "placeholder" in thin.stderr
    assert store.bundles() == []


def test_exigent_review_approve_and_reject(store: Cli, site: RecordedSite) -> None:
    first = exigent_capture(store, site.http_url("/login-wall.html"))
    auth_id = store.json("auth", "list")[-1]["id"]
    assert store.run("auth", "review", auth_id, "--approve", "--reason", "ok", as_user="alice").returncode == 3
    store.ok("auth", "review", auth_id, "--approve", "--reason", "threat was credible and imminent", as_user="bob")
    assert store.json("auth", "show", auth_id)["status"] == "approved"
    reviewed = store.json("custody", "show", first["bundle_id"])[-1]
    assert reviewed["type"] == "reviewed" and reviewed["details"]["decision"] == "approved"
    check = {c["name"]: c for c in store.json("verify", first["bundle_id"])["checks"]}["authorization"]
    assert check["ok"] and not check["warning"] and "review approved by Bob Brown" in check["detail"]

    second = exigent_capture(store, site.http_url("/index.html"))
    auth2 = store.json("auth", "list")[-1]["id"]
    store.ok("auth", "review", auth2, "--reject", "--reason", "no imminent threat shown", as_user="carol")
    assert store.json("auth", "show", auth2)["status"] == "rejected"
    event = store.json("custody", "show", second["bundle_id"])[-1]
    assert event["details"] == {"kind": "exigent", "decision": "rejected", "reason": "no imminent threat shown",
                                "late": False, "purge_review": True}
    assert last_event(store, "retention.purge-review")["subject"] == second["bundle_id"]
    again = store.run("capture", site.http_url("/index.html"), "--auth", auth2, as_user="alice")
    assert again.returncode == 3 and "rejected" in again.stderr


def test_overdue_exigent_review_warns_on_every_command(store: Cli, site: RecordedSite) -> None:
    exigent_capture(store, site.http_url("/login-wall.html"))
    set_policy(store, exigent_review_hours=1)
    import sqlite3

    db = sqlite3.connect(store.store / "ledger.sqlite")
    auth_id, body = db.execute("SELECT id, body FROM authorizations").fetchall()[-1]
    data = json.loads(body)
    data["requested_at"] = "2026-01-01T00:00:00Z"
    db.execute("UPDATE authorizations SET body = ? WHERE id = ?", (json.dumps(data), auth_id))
    db.commit()
    result = store.run("user", "list")
    assert f"exigent capture {auth_id}" in result.stderr and "awaits a supervisor's review" in result.stderr


# ------------------------------------------------------------------ information limitations


def protected_capture(cli: Cli, site: RecordedSite, path: str, **extra: str) -> tuple[Any, Any]:
    auth_id = cli.approved([site.http_url("/*")], **extra)
    result = cli.run("capture", site.http_url(path), "--auth", auth_id, "--json", as_user="alice")
    return result, auth_id


def test_protected_content_without_nexus_is_quarantined(store: Cli, site: RecordedSite) -> None:
    result, _ = protected_capture(store, site, "/protected/rally.html")
    assert result.returncode == 0, result.stderr
    assert "PROTECTED-CONTENT REVIEW PENDING" in result.stderr
    assert "political views, associations or activities: protest, rally" in result.stderr
    bundle_id = json.loads(result.stdout)["bundle_id"]
    meta = json.loads((store.store / "bundles" / bundle_id / "data" / "metadata.json").read_text())
    screening = meta["screening"]
    assert screening["disposition"] == "quarantined" and screening["nexus"] is None
    assert screening["result"]["matches"][0]["terms"] == ["protest", "rally"]
    assert last_event(store, "screening.")["action"] == "screening.quarantine"
    # only its investigators and supervisors may see it; nobody may export it yet
    assert store.run("show", bundle_id, as_user="dave").returncode == 3
    assert store.run("show", bundle_id, as_user="bob").returncode == 0
    assert store.run("show", bundle_id, as_user="alice").returncode == 0
    blocked = store.run("export", bundle_id, "--recipient", "x", "--reason", "y",
                        "--out", str(store.store.parent / "x.zip"), as_user="erin")
    assert blocked.returncode == 3 and "quarantined" in blocked.stderr
    assert last_event(store, "denied.")["action"] in ("denied.export", "denied.quarantine")


def test_quarantine_review_approve_needs_nexus_and_reject_sends_to_purge(store: Cli, site: RecordedSite) -> None:
    first, _ = protected_capture(store, site, "/protected/rally.html")
    bundle_id = json.loads(first.stdout)["bundle_id"]
    assert store.run("review", "protected", bundle_id, "--approve", as_user="bob").returncode == 2
    assert store.run("review", "protected", bundle_id, "--approve", "--nexus", "x" * 30, as_user="alice").returncode == 3
    store.ok("review", "protected", bundle_id, "--approve", "--nexus",
             "The post offers unregistered pistols for sale at the rally", as_user="bob")
    assert store.run("show", bundle_id, as_user="dave").returncode == 0
    second, _ = protected_capture(store, site, "/protected/rally.html")
    other = json.loads(second.stdout)["bundle_id"]
    store.ok("review", "protected", other, "--reject", "--reason", "no criminal nexus", as_user="carol")
    event = store.json("custody", "show", other)[-1]
    assert event["details"]["decision"] == "rejected" and event["details"]["purge_review"] is True
    assert store.run("show", other, as_user="dave").returncode == 3


def test_protected_content_with_nexus_proceeds(store: Cli, site: RecordedSite) -> None:
    result, _ = protected_capture(
        store, site, "/protected/rally.html",
        **{"--nexus": "The account sells unregistered firearms at political events"},
    )
    assert result.returncode == 0 and "PROTECTED-CONTENT" not in result.stderr
    bundle_id = json.loads(result.stdout)["bundle_id"]
    meta = json.loads((store.store / "bundles" / bundle_id / "data" / "metadata.json").read_text())
    assert meta["screening"]["disposition"] == "nexus-stated"
    assert meta["screening"]["nexus"].startswith("The account sells")
    assert meta["authorization"]["conditions"]["nexus"].startswith("The account sells")


def test_policy_may_refuse_protected_content_instead(store: Cli, site: RecordedSite) -> None:
    set_policy(store, screening__mode="refuse")
    result, _ = protected_capture(store, site, "/protected/rally.html")
    assert result.returncode == 3 and "refuses such captures" in result.stderr
    assert store.bundles() == [] and list((store.store / "work").iterdir()) == []
    assert last_event(store, "capture.")["details"]["code"] == "protected-content"


def test_false_positives_are_not_quarantined(store: Cli, site: RecordedSite) -> None:
    result, _ = protected_capture(store, site, "/protected/credit-union.html")
    assert result.returncode == 0 and "PROTECTED" not in result.stderr
    bundle_id = json.loads(result.stdout)["bundle_id"]
    meta = json.loads((store.store / "bundles" / bundle_id / "data" / "metadata.json").read_text())
    assert meta["screening"]["disposition"] == "clear" and meta["screening"]["result"]["matches"] == []


def test_no_field_classifies_a_person(store: Cli, site: RecordedSite) -> None:
    result, _ = protected_capture(store, site, "/protected/rally.html")
    bundle_id = json.loads(result.stdout)["bundle_id"]
    meta = json.loads((store.store / "bundles" / bundle_id / "data" / "metadata.json").read_text())
    text = json.dumps(meta["screening"]).lower()
    for forbidden in ("person", "subject", "author", "individual"):
        assert forbidden not in text


# ------------------------------------------------------------------ equipment


def test_every_bundle_records_its_machine(sealed: dict[str, Any]) -> None:
    meta = json.loads((sealed["path"] / "data" / "metadata.json").read_text())
    assert meta["machine"]["kind"] == "unregistered" and len(meta["machine"]["machine_id"]) == 64


def test_personal_equipment_refused_unless_authorization_allows(store: Cli, site: RecordedSite) -> None:
    store.ok("equipment", "add", "LAPTOP-ALICE", "--kind", "personal", "--description", "Alice's own laptop",
             "--assigned-to", "alice")
    auth_id = store.approved([site.http_url("/*")])
    refused = store.run("capture", site.http_url("/login-wall.html"), "--auth", auth_id, as_user="alice")
    assert refused.returncode == 3 and "personal equipment" in refused.stderr
    assert last_event(store, "capture.")["details"]["code"] == "equipment"
    allowed = store.approved([site.http_url("/*")], **{"--allow-personal-equipment": ""})
    result = store.json("capture", site.http_url("/login-wall.html"), "--auth", allowed, as_user="alice")
    meta = json.loads((Path(result["path"]) / "data" / "metadata.json").read_text())
    assert meta["machine"]["equipment_id"] == "LAPTOP-ALICE" and meta["machine"]["kind"] == "personal"


def test_unregistered_equipment_refused_when_policy_says_so(store: Cli, site: RecordedSite) -> None:
    set_policy(store, equipment__refuse_unregistered=True)
    auth_id = store.approved([site.http_url("/*")])
    refused = store.run("capture", site.http_url("/login-wall.html"), "--auth", auth_id, as_user="alice")
    assert refused.returncode == 3 and "not in the equipment registry" in refused.stderr
    store.ok("equipment", "add", "WS-017", "--kind", "agency", "--description", "Evidence room workstation")
    store.ok("capture", site.http_url("/login-wall.html"), "--auth", auth_id, as_user="alice")


def test_equipment_registration_rules(store: Cli) -> None:
    assert store.run("equipment", "add", "X1", "--kind", "borrowed", "--description", "d").returncode == 2
    refused = store.run("equipment", "add", "X1", "--kind", "agency", "--description", "d", as_user="alice")
    assert refused.returncode == 3
    store.ok("equipment", "add", "X1", "--kind", "agency", "--description", "d", as_user="bob")
    assert store.run("equipment", "add", "X2", "--kind", "agency", "--description", "d").returncode == 2
    assert [e["id"] for e in store.json("equipment", "list")] == ["X1"]


# ------------------------------------------------------------------ the policy file


def test_policy_stamp_in_every_bundle(sealed: dict[str, Any]) -> None:
    cli: Cli = sealed["cli"]
    shown = cli.json("policy", "show")
    meta = json.loads((sealed["path"] / "data" / "metadata.json").read_text())
    assert meta["policy"] == shown["stamp"]
    assert len(shown["stamp"]["sha256"]) == 64


def test_overdue_policy_review_warns_and_review_clears_it(store: Cli) -> None:
    set_policy(store, last_reviewed=__import__("datetime").date(2024, 1, 1))
    warned = store.run("user", "list")
    assert "annual policy review is overdue" in warned.stderr
    assert store.run("policy", "reviewed", "--reason", "annual review", as_user="alice").returncode == 3
    store.ok("policy", "reviewed", "--reason", "Annual review 2026: no changes needed", "--version", "2",
             as_user="bob")
    assert "overdue" not in store.run("user", "list").stderr
    assert store.json("policy", "show")["stamp"]["version"] == "2"


def test_policy_check_finds_mistakes(store: Cli) -> None:
    assert store.run("policy", "check").returncode == 0
    set_policy(store, default_grading_scale="nato-9x9", screening__categories={"religious": ["church(es)"]})
    result = store.run("policy", "check")
    assert result.returncode == 1
    assert "default_grading_scale" in result.stdout and "regex characters" in result.stdout


def test_request_with_short_nexus_rejected(store: Cli, site: RecordedSite) -> None:
    result = store.run("auth", "request", "--case", "HPD-2026-000123", "--predicate", "criminal-predicate",
                       "--standard", "reasonable-suspicion", "--purpose", "criminal-investigation",
                       "--facts", FACTS, "--retention", "case-evidence", "--scope", site.http_url("/*"),
                       "--nexus", "because", as_user="alice")
    assert result.returncode == 2 and "nexus" in result.stderr
