"""Two workstations, each a process with its own directory holding only the agency's
`collector.toml`, working through one PostgreSQL ledger and one Object Lock bucket: they
capture at the same time, verify each other's bundles, hold, export and purge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from tests.helpers import REPO, Cli, make_store
from tests.unit.conftest import RecordedSite

# A workstation: the command line in its own process, pages replayed from the recordings.
WORKSTATION = """
import sys
from unittest import mock
from collector import capture
from collector.cli import run
from tests.fakes import browser as fake
with mock.patch.object(capture, "browser_capture", fake.FakeBrowser()):
    sys.exit(run(sys.argv[1:]))
"""


class Workstation:
    def __init__(self, cli: Cli) -> None:
        self.cli = cli

    def start(self, *args: str, as_user: str | None = None) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
        env.update(self.cli.environment(as_user, None, None))
        env["PYTHONPATH"] = str(REPO)
        return subprocess.Popen([sys.executable, "-c", WORKSTATION, *args], env=env, cwd=self.cli.store,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip

    def run(self, *args: str, as_user: str | None = None) -> subprocess.CompletedProcess[str]:
        process = self.start(*args, as_user=as_user)
        out, err = process.communicate(timeout=300)
        return subprocess.CompletedProcess(args, process.returncode, out, err)

    def json(self, *args: str, as_user: str | None = None) -> Any:
        done = self.run(*args, "--json", as_user=as_user)
        assert done.returncode == 0, f"{args}: {done.returncode}\n{done.stderr}"
        return json.loads(done.stdout)


def test_two_workstations_share_one_agency_store(pg: PostgresServer, s3: SeaweedServer, site: RecordedSite,
                                                 tmp_path: Path) -> None:  # fmt: skip
    bucket = s3.bucket()
    made = make_store(tmp_path / "made", env={**pg.env("owner"), **s3.env("app")},
                      extra=["--ledger", pg.fresh_database(), "--bundles", f"s3://{bucket}",
                             "--s3-endpoint", s3.endpoint])  # fmt: skip
    key, secret = s3.keys["purge"]
    credentials = tmp_path / "aws-credentials"  # only the first workstation holds the purge credential
    credentials.write_text(f"[collector-purge]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
    config = made.store / "collector.toml"
    config.write_text(config.read_text().replace("[bundles]\n", '[bundles]\npurge_profile = "collector-purge"\n'))
    env = {**pg.env("app"), **s3.env("app")}
    stations = []
    for name, extra in (("one", {"AWS_SHARED_CREDENTIALS_FILE": str(credentials)}), ("two", {})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "collector.toml").write_bytes(config.read_bytes())
        stations.append(Workstation(Cli(tmp_path / name, env={**env, **extra})))
    one, two = stations
    auth_id = one.cli.approved([site.http_url("/*")])

    # both capture at once, twice each
    running = [w.start("capture", site.http_url("/s/abc123"), "--auth", auth_id, "--json", as_user="alice")
               for w in (one, two, one, two)]  # fmt: skip
    results = []
    for process in running:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    ids = [r["bundle_id"] for r in results]
    assert len(set(ids)) == 4 and not any("outbox" in w for r in results for w in r["warnings"])
    mine, theirs = ids[0], ids[1]

    # each verifies what the other sealed, as the bucket holds it
    for station, bundle_id in ((one, theirs), (two, mine)):
        report = station.json("verify", bundle_id, as_user="erin")
        assert report["ok"], report
        assert report["path"] == f"s3://{bucket}/{bundle_id}/"
        assert not (station.cli.store / "bundles" / bundle_id).exists()

    # the second holds the first's bundle: the bucket holds every version
    two.run("hold", mine, "--reason", "litigation hold for the trial", as_user="erin").check_returncode()
    assert s3.legal_holds(bucket, f"{mine}/") == {"ON"}

    # the second exports a bundle it never had, and the export verifies without a store
    out = tmp_path / "export.zip"
    two.json("export", mine, theirs, "--recipient", "ADA Jane Roe", "--reason", "discovery",
             "--out", str(out), as_user="erin")  # fmt: skip
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
    assert any(n.startswith(f"bundles/{mine}/data/") for n in names)
    keys = tmp_path / "keys.json"
    one.run("keys", "export", "--out", str(keys)).check_returncode()
    checked = subprocess.run([str(Path(sys.executable).with_name("collector")), "verify", str(out),
                              "--trust", str(keys)], capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # a purge requested on the second is carried out on the first, which holds the credential
    request = two.json("purge", theirs, "--reason", "Court order 2026-CV-114 to expunge the record",
                       as_user="erin")  # fmt: skip
    refused = two.run("purge", "approve", request["id"], as_user="carol")
    assert refused.returncode == 3 and "cannot be purged on this workstation" in refused.stderr
    one.json("purge", "approve", request["id"], as_user="carol")
    assert not s3.versions(bucket, f"{theirs}/")
    assert two.run("verify", theirs).returncode == 5
    held = one.run("purge", mine, "--reason", "Court order 2026-CV-115 to expunge the record", as_user="erin")
    assert held.returncode == 3 and "hold" in held.stderr, held.stderr  # never purged under hold

    for station in (one, two):
        assert station.json("ledger", "verify")["ok"]
        assert station.run("custody", "verify", mine).returncode == 0
