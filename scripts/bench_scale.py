"""The scale part of `scripts/bench`: batches, memory per concurrent context, a very tall page.

3. Batch throughput. The same 12 fixture pages (BATCH_PAGES) captured with
   `collector capture --from FILE --concurrency 3` and with `--concurrency 1`, alternated
   (the order swapped every pair); the ratio is the one-by-one wall time over the concurrent
   one. Every run must capture all 12.
4. Memory per extra concurrent context. One more pair of the same runs, sampled (`bench_tree`;
   the timed runs are not sampled, as sampling takes processor time): the peak memory
   of the whole process tree (collector, the Playwright driver, every Chromium process) with 3
   captures at once minus with 1, divided by 2. PSS is the tree's own memory; the sum of RSS
   counts Chromium's shared pages once per process and is shown as the upper bound.
5. A very tall page. `collector capture` of /tall-thread?px=100000 (a generated thread 100 000
   CSS px tall) against the bare script on the same page with the same screenshot clip, each
   sampled the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bench_lib as lib

BATCH_PAGES = (
    "/mastodon/status.html",
    "/s/abc123",
    "/multilingual.html",
    "/tall.html",
    "/login-wall.html",
    "/expand.html",
    "/consent.html",
    "/virtual-feed.html",
    "/media-state.html",
    "/index.html",
    "/hostile-title.html",
    "/mastodon/status.html?copy=2",
)
"""Twelve pages of the fixture site that capture: threads, a redirect, a 32 000 px page, a
login wall, expanders, a consent overlay, a virtualised feed, media, plain pages."""
CONCURRENCY = 3
BATCH_GOAL_MIN = 1.7  # pages per second with --concurrency 3 / with --concurrency 1
CONTEXT_GOAL_MAX_MB = 300.0  # extra peak memory per extra concurrent capture (PSS)
TALL_PAGE = "/tall-thread?px=100000"
TALL_MARKER = "END OF TALL PAGE"
TALL_GOAL_MAX_MB = 1000.0  # peak memory of the whole process tree (PSS)
BATCH_TIMEOUT_S = 900.0
MIB = 1024  # KiB per MiB


def mib(kib: float) -> float:
    return kib / MIB


def run_batch(
    store: lib.BenchStore, url_file: Path, concurrency: int, scratch: Path, sampled: bool
) -> lib.Measured:
    """One batch run (its process tree sampled if `sampled`); BenchError unless every page was
    captured."""
    run = lib.run_measured(
        [str(lib.COLLECTOR), "capture", "--from", str(url_file), "--auth", store.auth_id,
         "--concurrency", str(concurrency), "--json"],
        env=store.env(lib.INVESTIGATOR),
        scratch=scratch,
        timeout_s=BATCH_TIMEOUT_S,
        tree=sampled,
    )  # fmt: skip
    outcomes = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    captured = [o for o in outcomes if o.get("outcome") == "captured"]
    if run.returncode != 0 or len(captured) != len(BATCH_PAGES):
        failed = [f"{o.get('url')}: {o.get('outcome')} {o.get('detail')}" for o in outcomes
                  if o.get("outcome") != "captured"]  # fmt: skip
        raise lib.BenchError(
            f"batch --concurrency {concurrency}: exit {run.returncode}, {len(captured)} of "
            f"{len(BATCH_PAGES)} captured; {'; '.join(failed) or run.stderr.strip()[-2000:]}"
        )
    return run


def bench_batch(store: lib.BenchStore, site: str, runs: int, scratch: Path) -> dict[str, Any]:
    url_file = scratch / "batch-urls.txt"
    url_file.write_text("".join(f"{site}{page}\n" for page in BATCH_PAGES), encoding="utf-8")
    lib.log(
        f"== 3-4. batch of {len(BATCH_PAGES)} pages: {runs} pairs of --concurrency {CONCURRENCY} "
        "and --concurrency 1 (order swapped every pair), timed unsampled; then one pair sampled "
        "for memory"
    )
    walls: dict[int, list[float]] = {1: [], CONCURRENCY: []}
    pss: dict[int, list[int]] = {1: [], CONCURRENCY: []}
    rss: dict[int, list[int]] = {1: [], CONCURRENCY: []}
    for i in range(1, runs + 1):
        order = (CONCURRENCY, 1) if i % 2 else (1, CONCURRENCY)
        for concurrency in order:
            walls[concurrency].append(run_batch(store, url_file, concurrency, scratch, False).wall_s)
        lib.log(
            f"   pair {i}/{runs}: --concurrency {CONCURRENCY} {walls[CONCURRENCY][-1]:6.2f} s  "
            f"--concurrency 1 {walls[1][-1]:6.2f} s  ratio "
            f"{walls[1][-1] / walls[CONCURRENCY][-1]:4.2f}"
        )
    # Memory in runs of their own: sampling the tree (smaps_rollup of every process, ten
    # times a second) takes processor time that the concurrent run needs and the one-by-one
    # run has to spare, so sampled runs would understate the throughput ratio.
    for concurrency in (CONCURRENCY, 1):
        run = run_batch(store, url_file, concurrency, scratch, True)
        assert run.tree is not None
        pss[concurrency].append(run.tree.pss_kib)
        rss[concurrency].append(run.tree.rss_kib)
    lib.log(
        f"   memory pair: --concurrency {CONCURRENCY} peak {mib(pss[CONCURRENCY][-1]):5.0f} MiB PSS "
        f"({mib(rss[CONCURRENCY][-1]):5.0f} MiB RSS summed)  --concurrency 1 peak "
        f"{mib(pss[1][-1]):5.0f} MiB PSS ({mib(rss[1][-1]):5.0f} MiB RSS summed)"
    )
    ratios = [one / many for one, many in zip(walls[1], walls[CONCURRENCY], strict=True)]
    ratio = lib.median(ratios)
    extra = CONCURRENCY - 1
    per_pss = [mib(b - a) / extra for a, b in zip(pss[1], pss[CONCURRENCY], strict=True)]
    per_rss = [mib(b - a) / extra for a, b in zip(rss[1], rss[CONCURRENCY], strict=True)]
    context = lib.median(per_pss)
    return {
        "pages": [site + page for page in BATCH_PAGES],
        "pairs": runs,
        "concurrency": CONCURRENCY,
        "wall_s": {str(c): lib.spread(w) for c, w in walls.items()},
        "runs_s": {str(c): w for c, w in walls.items()},
        "pages_per_minute": {
            str(c): 60 * len(BATCH_PAGES) / lib.median(w) for c, w in walls.items()
        },
        "pair_ratios": ratios,
        "throughput_ratio": ratio,
        "goal_min_ratio": BATCH_GOAL_MIN,
        "verdict": lib.verdict(ratio >= BATCH_GOAL_MIN),
        "peak_pss_mib": {str(c): [mib(v) for v in p] for c, p in pss.items()},
        "peak_rss_sum_mib": {str(c): [mib(v) for v in r] for c, r in rss.items()},
        "per_context_pss_mib": per_pss,
        "per_context_rss_sum_mib": per_rss,
        "per_context_mib": context,
        "per_context_rss_sum_median_mib": lib.median(per_rss),
        "context_goal_max_mib": CONTEXT_GOAL_MAX_MB,
        "context_verdict": lib.verdict(context < CONTEXT_GOAL_MAX_MB),
    }


def bench_tall(store: lib.BenchStore, site: str, runs: int, scratch: Path) -> dict[str, Any]:
    from collector.browser.artifact_steps import screenshot_clip

    url = site + TALL_PAGE
    script, config = lib.bare_setup(store, url, scratch)
    clip = screenshot_clip(config["width"], 100_000, config["width"], config["scale"])
    config["clip_height"] = clip["height"] if clip is not None else None
    lib.log(
        f"== 5. a page 100 000 px tall ({TALL_PAGE}): {runs} pair(s) of collector capture and "
        f"the bare script (one full-page screenshot, clipped like collector's to "
        f"{config['clip_height']} px), process tree sampled"
    )
    c_pss: list[int] = []
    c_rss: list[int] = []
    b_pss: list[int] = []
    b_rss: list[int] = []
    c_wall: list[float] = []
    b_wall: list[float] = []
    for i in range(1, runs + 1):
        ours, _ = lib.run_collector_capture(store, url, i, scratch, marker=TALL_MARKER, tree=True)
        bare = lib.run_bare_capture(
            script, config, 100 + i, scratch, keep_shot=False, marker=TALL_MARKER, tree=True
        )
        assert ours.tree is not None and bare.tree is not None
        c_pss.append(ours.tree.pss_kib)
        c_rss.append(ours.tree.rss_kib)
        b_pss.append(bare.tree.pss_kib)
        b_rss.append(bare.tree.rss_kib)
        c_wall.append(ours.wall_s)
        b_wall.append(bare.wall_s)
        lib.log(
            f"   pair {i}/{runs}: collector {ours.wall_s:6.2f} s, peak {mib(c_pss[-1]):5.0f} MiB PSS "
            f"({mib(c_rss[-1]):5.0f} MiB RSS summed), screenshot {ours.screenshot_px[0]}x"
            f"{ours.screenshot_px[1]}  bare {bare.wall_s:6.2f} s, peak {mib(b_pss[-1]):5.0f} MiB "
            f"PSS ({mib(b_rss[-1]):5.0f} MiB RSS summed)"
        )
    peak = mib(lib.median(c_pss))
    return {
        "url_path": TALL_PAGE,
        "runs": runs,
        "bare_clip_height": config["clip_height"],
        "collector_wall_s": lib.spread(c_wall),
        "bare_wall_s": lib.spread(b_wall),
        "collector_peak_pss_mib": [mib(v) for v in c_pss],
        "collector_peak_rss_sum_mib": [mib(v) for v in c_rss],
        "bare_peak_pss_mib": [mib(v) for v in b_pss],
        "bare_peak_rss_sum_mib": [mib(v) for v in b_rss],
        "peak_mib": peak,
        "bare_peak_mib": mib(lib.median(b_pss)),
        "ratio_to_bare": peak / mib(lib.median(b_pss)),
        "goal_max_mib": TALL_GOAL_MAX_MB,
        "verdict": lib.verdict(peak < TALL_GOAL_MAX_MB),
    }
