"""The agency-store benchmark behind `scripts/bench --agency`: the same work on a workstation
store (SQLite and a directory) and on an agency store (PostgreSQL and an Object Lock bucket, real
servers on 127.0.0.1), measured in one run and alternated.

1. Capture: `collector capture` of the fixture page into each store, alternated A B A B; the
   agency capture includes committing the bundle to the bucket (upload, read back, lock, record).
2. Verify from the bucket: `collector verify ID` on a second workstation that holds only
   `collector.toml` (it reads the bundle by recorded versions, then verifies) against
   `collector verify ID` of the same bundle on the workstation that sealed it.
3. Verify throughput on a large payload: a sealed bundle with a large random file added (as in
   `scripts/bench`, re-manifested and re-signed) is put in the bucket by `Bucket.put_bundle`; the
   verification engine then checks it read from the local disk (`verify_bundle(DIR)`) and
   streamed from the bucket (`Bucket.stream_into` + `verify_bundle(…, streamed=…)`, what
   `collector verify ID` does), alternated, in this process. Both must find every payload digest
   matching.
4. Concurrency: N processes capture at once into the agency store from N workstation
   directories; every capture must succeed, the ledger must verify with no gap, and every bundle
   must be committed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_lib as lib

from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer

CAPTURE_GOAL_MAX = 1.1
VERIFY_GOAL_MIN = 0.8


def _agency_store(root: Path, site: str, pg: PostgresServer, s3: SeaweedServer) -> tuple[lib.BenchStore, dict[str, str]]:
    owner = {**pg.env("owner"), **s3.env("app")}
    app = {**pg.env("app"), **s3.env("app")}
    env = {**lib.clean_env(), **owner, "COLLECTOR_STORE": str(root),
           "COLLECTOR_ADMIN_PASSPHRASE": "bench-admin-passphrase"}  # fmt: skip
    lib.run_ok([str(lib.COLLECTOR), "init", "--agency", "Bench Police Department", "--allow-private-network",
                "--ledger", pg.fresh_database(), "--bundles", f"s3://{s3.bucket('bench')}",
                "--s3-endpoint", s3.endpoint], env)  # fmt: skip
    env.update(app)
    for name, role, full, badge, passphrase in (lib.INVESTIGATOR, lib.SUPERVISOR):
        lib.run_ok([str(lib.COLLECTOR), "user", "add", name, "--role", role, "--name", full, "--badge", badge],
                   {**env, "COLLECTOR_NEW_PASSPHRASE": passphrase})  # fmt: skip
    alice = {**env, "COLLECTOR_USER": lib.INVESTIGATOR[0], "COLLECTOR_PASSPHRASE": lib.INVESTIGATOR[4]}
    request = lib.run_ok([str(lib.COLLECTOR), "auth", "request", "--json", "--case", "HPD-2026-000123",
                          "--predicate", "criminal-predicate", "--standard", "reasonable-suspicion",
                          "--purpose", "criminal-investigation", "--retention", "case-evidence",
                          "--scope", f"{site}/*", "--facts",
                          "Benchmark run on the built-in fixture site: a public status thread posted "
                          "on 2026-11-20 is captured repeatedly to time the collector."], alice)  # fmt: skip
    auth_id = str(json.loads(request)["id"])
    bob = {**env, "COLLECTOR_USER": lib.SUPERVISOR[0], "COLLECTOR_PASSPHRASE": lib.SUPERVISOR[4]}
    lib.run_ok([str(lib.COLLECTOR), "auth", "approve", auth_id], bob)
    return lib.BenchStore(root=root, auth_id=auth_id), app


def _capture(store: lib.BenchStore, extra: dict[str, str], url: str, scratch: Path) -> tuple[float, str]:
    run = lib.run_measured([str(lib.COLLECTOR), "capture", url, "--auth", store.auth_id, "--json"],
                           env={**store.env(lib.INVESTIGATOR), **extra}, scratch=scratch,
                           timeout_s=lib.CAPTURE_TIMEOUT_S)  # fmt: skip
    if run.returncode != 0:
        raise lib.BenchError(f"capture into {store.root} exited {run.returncode}: {run.stderr.strip()}")
    result = json.loads(run.stdout)
    if any("outbox" in w for w in result["warnings"]):
        raise lib.BenchError(f"the agency capture was not committed: {result['warnings']}")
    return run.wall_s, str(result["bundle_id"])


def _verify(root: Path, bundle_id: str, extra: dict[str, str], scratch: Path) -> float:
    run = lib.run_measured([str(lib.COLLECTOR), "verify", bundle_id],
                           env={**lib.clean_env(), "COLLECTOR_STORE": str(root), **extra},
                           scratch=scratch, timeout_s=lib.VERIFY_TIMEOUT_S)  # fmt: skip
    if run.returncode != 0:
        raise lib.BenchError(f"verify {bundle_id} in {root} exited {run.returncode}: {run.stdout[-500:]}")
    return run.wall_s


def _throughput(bundle: Path, app: dict[str, str], s3: SeaweedServer, runs: int) -> dict[str, Any]:
    """Seconds per verification of `bundle` from the disk and streamed from the bucket."""
    os.environ.update(app)  # the workstations' S3 credential, for boto3's standard chain
    from collector.evidence.bundle.verify import VerifyReport, verify_bundle
    from collector.store.objects import Bucket
    from collector.store.verify import kept_when_streamed

    target = Bucket(f"s3://{s3.bucket('bench-large')}", s3.endpoint)
    stored = target.put_bundle(bundle, "bench-large", datetime.now(UTC) + timedelta(days=1))
    size = sum(item.size for item in stored)

    def payload_ok(report: VerifyReport) -> None:
        checks = {c.name: c for c in report.checks}
        if not (checks["payload sha256"].ok and checks["payload sha512"].ok):
            raise lib.BenchError(f"the large bundle's payload did not verify: {checks}")

    seconds: dict[str, list[float]] = {"local": [], "bucket": []}
    for _ in range(runs):
        started = time.perf_counter()
        payload_ok(verify_bundle(bundle))
        seconds["local"].append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as scratch:
            started = time.perf_counter()
            streamed, changed = target.stream_into("bench-large", stored, Path(scratch) / "b",
                                                   keep=kept_when_streamed)  # fmt: skip
            payload_ok(verify_bundle(Path(scratch) / "b", streamed=streamed))
            seconds["bucket"].append(time.perf_counter() - started)
            if changed:
                raise lib.BenchError(f"the bucket's copy reads differently: {changed}")
    return {"bytes": size, "seconds": seconds,
            "speed_ratio": lib.median([a / b for a, b in zip(seconds["local"], seconds["bucket"], strict=True)])}  # fmt: skip


def _concurrent(store: lib.BenchStore, app: dict[str, str], url: str, scratch: Path, n: int) -> dict[str, Any]:
    procs = []
    t0 = time.perf_counter()
    for i in range(n):
        where = scratch / f"ws-{i}"
        where.mkdir()
        shutil.copy(store.root / "collector.toml", where / "collector.toml")
        env = {**lib.clean_env(), **app, "COLLECTOR_STORE": str(where), "COLLECTOR_USER": lib.INVESTIGATOR[0],
               "COLLECTOR_PASSPHRASE": lib.INVESTIGATOR[4]}  # fmt: skip
        procs.append(subprocess.Popen([str(lib.COLLECTOR), "capture", url, "--auth", store.auth_id, "--json"],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))  # fmt: skip
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=lib.CAPTURE_TIMEOUT_S * 2)
        if proc.returncode != 0:
            raise lib.BenchError(f"a concurrent capture exited {proc.returncode}: {err.strip()}")
        results.append(json.loads(out))
    wall = time.perf_counter() - t0
    env = {**lib.clean_env(), **app, "COLLECTOR_STORE": str(store.root)}
    ledger = json.loads(lib.run_ok([str(lib.COLLECTOR), "ledger", "verify", "--json"], env))
    events = json.loads(lib.run_ok([str(lib.COLLECTOR), "ledger", "show", "--json"], env))
    seqs = [e["seq"] for e in events]
    stored = {e["subject"] for e in events if e["action"] == "bundle.stored"}
    ids = {r["bundle_id"] for r in results}
    return {"processes": n, "wall_s": wall, "captures_ok": len(results), "ledger_ok": bool(ledger["ok"]),
            "gapless": seqs == list(range(1, len(seqs) + 1)), "all_committed": ids <= stored}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="alternated capture and verify pairs")
    parser.add_argument("--processes", type=int, default=4, help="concurrent capturing processes")
    parser.add_argument("--large-mb", type=int, default=512, help="size of the large payload (MB)")
    parser.add_argument("--out", type=Path, default=Path("bench-agency-results.json"))
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="collector-bench-agency-"))
    try:
        with lib.fixture_server(scratch) as site, PostgresServer() as pg, SeaweedServer() as s3:
            url = site + lib.PAGE
            local = lib.make_store(scratch / "local", site)
            agency, app = _agency_store(scratch / "agency", site, pg, s3)
            second = scratch / "second"
            second.mkdir()
            shutil.copy(agency.root / "collector.toml", second / "collector.toml")
            capture: dict[str, list[float]] = {"local": [], "agency": []}
            verify: dict[str, list[float]] = {"local": [], "bucket": []}
            for i in range(args.runs):
                lib.log(f"pair {i + 1}/{args.runs}")
                wall, _ = _capture(local, {}, url, scratch)
                capture["local"].append(wall)
                wall, agency_id = _capture(agency, app, url, scratch)
                capture["agency"].append(wall)
                verify["local"].append(_verify(agency.root, agency_id, app, scratch))
                verify["bucket"].append(_verify(second, agency_id, app, scratch))
            lib.log(f"verify throughput with a {args.large_mb} MB payload")
            local_id = _capture(local, {}, url, scratch)[1]
            large = lib.build_verify_bundle(local.root / "bundles" / local_id, scratch / "large", args.large_mb, local)
            throughput = _throughput(large, app, s3, args.runs)
            lib.log(f"{args.processes} concurrent captures")
            together = _concurrent(agency, app, url, scratch, args.processes)
    finally:
        lib.stop_all_children()
        lib.remove_tree(scratch)
    capture_ratio = lib.median([a / b for a, b in zip(capture["agency"], capture["local"], strict=True)])
    verify_ratio = lib.median([b / a for a, b in zip(verify["bucket"], verify["local"], strict=True)])
    results = {"capture": capture, "verify": verify, "capture_ratio": capture_ratio,
               "verify_speed_ratio": verify_ratio, "throughput": throughput, "concurrent": together, "environment": lib.environment()}  # fmt: skip
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    lib.log("")
    lib.log("| measure | agency (median) | workstation (median) | ratio | goal |")
    lib.log("|---|---|---|---|---|")
    lib.log(f"| capture `{lib.PAGE}` incl. commit to the bucket ({args.runs} pairs) | "
            f"{lib.fmt_s(lib.median(capture['agency']))} | {lib.fmt_s(lib.median(capture['local']))} | "
            f"{capture_ratio:.2f}× | ≤ {CAPTURE_GOAL_MAX}× — {lib.verdict(capture_ratio <= CAPTURE_GOAL_MAX)} |")
    lib.log(f"| verify from the bucket vs the sealing workstation's copy ({args.runs} pairs, speed) | "
            f"{lib.fmt_s(lib.median(verify['bucket']))} | {lib.fmt_s(lib.median(verify['local']))} | "
            f"{verify_ratio:.2f} | ≥ {VERIFY_GOAL_MIN} — {lib.verdict(verify_ratio >= VERIFY_GOAL_MIN)} |")
    speed = throughput["speed_ratio"]
    mb_s = {k: throughput["bytes"] / lib.MB / lib.median(v) for k, v in throughput["seconds"].items()}
    lib.log(f"| verify a {args.large_mb} MB payload streamed from the bucket vs read from disk ({args.runs} pairs, "
            f"speed) | {mb_s['bucket']:.0f} MB/s | {mb_s['local']:.0f} MB/s | {speed:.2f} | "
            f"≥ {VERIFY_GOAL_MIN} — {lib.verdict(speed >= VERIFY_GOAL_MIN)} |")
    ok = together["ledger_ok"] and together["gapless"] and together["all_committed"]
    lib.log(f"| {together['processes']} processes capturing at once | {lib.fmt_s(together['wall_s'])} | | | "
            f"no lost or reordered row — {lib.verdict(ok)} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
