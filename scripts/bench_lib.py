"""The benchmark behind `scripts/bench`: collector against baselines measured in the same run.

1. Capture overhead. `collector capture URL --auth ID` (a real subprocess) of the fixture page
   /mastodon/status.html against a bare Playwright script (a subprocess of the same Python) that
   produces the same pixels: the same Chromium with the same launch switches, viewport, scale,
   locale and time zone; load, scroll in steps of two viewports with a 100 ms pause until the
   document has not grown for the store's `scroll_idle_ms` at the bottom (what a simple script
   does), full-page screenshot, DOM, close. Alternated A B A B …; nothing is discarded. The
   key unlock (scrypt, by design slow) is timed on its own, in this process, and taken out of
   collector's wall time for the ratio; the bench store has no time-stamp authority and no
   bucket, so a capture makes no time-stamp or checkpoint round trip (its checkpoint is
   signed and stored locally, which stays in).
   Batch throughput, memory per concurrent context and a very tall page: `bench_scale`.
2. Verify throughput and memory. A real sealed bundle from step 1, copied, with a large random
   file added under data/, manifests regenerated with bagit and tagmanifest-sha256.txt re-signed
   with the investigator's key (it must pass `collector verify` against the store). Then
   `collector verify` against `openssl dgst -sha256` + `openssl dgst -sha512` of the same file,
   one warm-up of each first (both read from the page cache), alternated. Peak RSS of the verify
   process (os.wait4) for the large payload and for a small one.

Everything lives in one temporary directory removed at the end, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import stat
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench_tree import TreePeak, TreeSampler

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
COLLECTOR = VENV_BIN / "collector"
CHROMIUM = "/usr/bin/chromium"
PAGE = "/mastodon/status.html"
LAST_REPLY_MARKER = "reply-40 of 40"

CAPTURE_GOAL_MAX = 1.2  # collector wall time without the key unlock / bare wall time
BARE_SCROLL_PAUSE_S = 0.1  # the bare script's pause at each scroll position
UNLOCK_RUNS = 5
VERIFY_GOAL_MIN = 0.8  # collector throughput / openssl sha256+sha512 throughput
MEMORY_FLAT_MAX = 1.2  # peak RSS with the large payload / with the small payload

CAPTURE_TIMEOUT_S = 240.0
VERIFY_TIMEOUT_S = 600.0
SETUP_TIMEOUT_S = 60.0
MB = 1_000_000  # decimal megabytes throughout: N MB files hold N x 10^6 bytes
WRITE_CHUNK = 4 * MB

INVESTIGATOR = ("alice", "investigator", "Bench Investigator", "I-900", "bench-alice-passphrase")
SUPERVISOR = ("bob", "supervisor", "Bench Supervisor", "S-900", "bench-bob-passphrase")

BARE_SCRIPT = r'''
"""Bare Playwright: launch, load, scroll until the document stops growing, screenshot, DOM, close."""
import json
import os
import sys
import time

marks = {"start": time.time()}
from playwright.sync_api import sync_playwright

cfg = json.loads(sys.argv[1])
marks["imported"] = time.time()
HEIGHT_JS = "() => (document.scrollingElement || document.documentElement).scrollHeight"
STEP_JS = """(step) => {
  const el = document.scrollingElement || document.documentElement;
  const bottom = Math.max(0, el.scrollHeight - window.innerHeight);
  window.scrollTo(0, Math.min(bottom, Math.round(window.scrollY) + step));
  return {height: el.scrollHeight, atBottom: Math.round(window.scrollY) >= bottom - 1};
}"""
env = {k: v for k, v in os.environ.items() if k != "HOME"}
env["HOME"] = cfg["home"]
with sync_playwright() as p:
    marks["driver"] = time.time()
    browser = p.chromium.launch(
        executable_path=cfg["executable"], headless=True, args=cfg["args"], env=env,
        ignore_default_args=cfg["ignore_default_args"],
    )
    marks["launch"] = time.time()
    context = browser.new_context(
        viewport={"width": cfg["width"], "height": cfg["height"]},
        device_scale_factor=cfg["scale"],
        locale=cfg["locale"],
        timezone_id=cfg["timezone"],
    )
    page = context.new_page()
    page.goto(cfg["url"], wait_until="load")
    marks["navigate"] = time.time()
    height = page.evaluate(HEIGHT_JS)
    idle_since = time.monotonic()
    give_up = time.monotonic() + cfg["max_scroll_s"]
    while time.monotonic() < give_up:
        state = page.evaluate(STEP_JS, 2 * cfg["height"])
        time.sleep(cfg["pause_s"])
        new_height = page.evaluate(HEIGHT_JS)
        if new_height > height or not state["atBottom"]:
            height = max(height, new_height)
            idle_since = time.monotonic()
        elif (time.monotonic() - idle_since) * 1000 >= cfg["idle_ms"]:
            break
    page.evaluate("() => window.scrollTo(0, 0)")
    marks["scroll"] = time.time()
    clip = None
    if cfg.get("clip_height"):
        clip = {"x": 0, "y": 0, "width": cfg["width"], "height": cfg["clip_height"]}
    page.screenshot(path=cfg["screenshot"], full_page=True, clip=clip)
    marks["screenshot"] = time.time()
    html = page.content()
    with open(cfg["dom"], "w", encoding="utf-8") as handle:
        handle.write(html)
    marks["dom"] = time.time()
    browser.close()
    marks["close"] = time.time()
marks["end"] = time.time()
print(json.dumps({"marks": marks, "height": height, "dom_chars": len(html)}))
'''

BARE_PHASES = (
    ("python start + import playwright", "start", "imported"),
    ("driver start", "imported", "driver"),
    ("launch", "driver", "launch"),
    ("context + navigate", "launch", "navigate"),
    ("scroll", "navigate", "scroll"),
    ("screenshot", "scroll", "screenshot"),
    ("dom", "screenshot", "dom"),
    ("close", "dom", "close"),
)


class BenchError(Exception):
    """A run that did not do what it must (sanity check failed): the benchmark stops."""


# --------------------------------------------------------------------------- processes


@dataclass
class Measured:
    """One subprocess: wall time, exit code, peak RSS and where its output went."""

    argv: list[str]
    wall_s: float
    returncode: int
    maxrss_kib: int | None  # KiB; only when measured (rss=True)
    tree: TreePeak | None  # peak memory of the process tree; only when measured (tree=True)
    started_epoch: float
    ended_epoch: float
    stdout: str
    stderr: str


_RUNNING: dict[int, subprocess.Popen[Any]] = {}


def run_measured(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    scratch: Path,
    timeout_s: float,
    rss: bool = False,
    tree: bool = False,
) -> Measured:
    """Run `argv`, time it (reaped with a blocking os.wait4) and, with `rss`, its peak RSS;
    with `tree`, the peak memory of it and every process under it (`bench_tree`).

    The peak RSS cannot come from this process's own wait4: Linux keeps a process's RSS
    high-water mark across fork and exec, so every child would report at least this (large)
    Python process's RSS. A small forking parent in between (GNU time, else a bare `python -S`)
    is the fork origin instead; both sides of a comparison get the same wrapper.
    """
    out_path, err_path = scratch / "last.stdout", scratch / "last.stderr"
    rss_path = scratch / "last.maxrss"
    rss_path.unlink(missing_ok=True)
    command = [*rss_wrapper(rss_path), *argv] if rss else list(argv)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started_epoch = time.time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        _RUNNING[proc.pid] = proc
        sampler = TreeSampler(proc.pid).start() if tree else None
        try:
            status, _usage = _wait4(proc, " ".join(argv), timeout_s)
            wall = time.perf_counter() - t0
            ended_epoch = time.time()
        finally:
            _RUNNING.pop(proc.pid, None)
            peak = sampler.stop() if sampler is not None else None
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped here; keep Popen from waiting again
    maxrss: int | None = None
    if rss:
        lines = rss_path.read_text(encoding="utf-8").split() if rss_path.is_file() else []
        text = lines[-1] if lines else ""  # GNU time puts "Command exited ..." first on failure
        if not text.isdigit():
            raise BenchError(f"no peak RSS recorded for {' '.join(argv)} (exit {code})")
        maxrss = int(text)
    return Measured(
        argv=list(argv),
        wall_s=wall,
        returncode=code,
        maxrss_kib=maxrss,
        tree=peak,
        started_epoch=started_epoch,
        ended_epoch=ended_epoch,
        stdout=out_path.read_text(encoding="utf-8", errors="replace"),
        stderr=err_path.read_text(encoding="utf-8", errors="replace"),
    )


GNU_TIME = "/usr/bin/time"
RSS_HELPER = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execvp(sys.argv[2], sys.argv[2:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    f.write(str(usage.ru_maxrss))\n"
    "code = os.waitstatus_to_exitcode(status)\n"
    "sys.exit(code if code >= 0 else 128 - code)\n"
)


def rss_wrapper(rss_path: Path) -> list[str]:
    """A small forking parent that writes its child's peak RSS (KiB) to `rss_path`."""
    if os.access(GNU_TIME, os.X_OK):
        return [GNU_TIME, "-f", "%M", "-o", str(rss_path)]
    return [sys.executable, "-S", "-I", "-c", RSS_HELPER, str(rss_path)]


def rss_method() -> str:
    if os.access(GNU_TIME, os.X_OK):
        return f"{GNU_TIME} -f %M (peak RSS of the command, forked from a small parent)"
    return "python -S fork/exec + os.wait4 ru_maxrss (forked from a small parent)"


def _wait4(proc: subprocess.Popen[bytes], label: str, timeout_s: float) -> tuple[int, Any]:
    """Blocking os.wait4 (no polling, no timing noise); a watchdog ends a hung child."""
    deadline = time.monotonic() + timeout_s
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if pid:
        return status, usage
    # The blocking wait is interrupted by SIGALRM after the timeout (PEP 475 retries otherwise).
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, deadline - time.monotonic()))
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except TimeoutError as exc:
        _stop(proc)
        raise BenchError(f"{label} did not finish in {timeout_s:g}s") from exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return status, usage


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError


def _stop(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM (collector cleans up like Ctrl-C), then SIGKILL; only processes we started."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)


def stop_all_children() -> None:
    for proc in list(_RUNNING.values()):
        _stop(proc)
    _RUNNING.clear()


def run_ok(argv: Sequence[str], env: dict[str, str], *, cwd: Path | None = None) -> str:
    """A set-up command that must succeed; its stdout."""
    result = subprocess.run(
        list(argv),
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=SETUP_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(
            f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip() or result.stdout.strip()}"
        )
    return result.stdout


# --------------------------------------------------------------------------- helpers


def log(message: str = "") -> None:
    print(message, flush=True)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": median(values),
        "min": min(values),
        "max": max(values),
    }


def remove_tree(path: Path) -> None:
    """rmtree that also removes sealed (read-only) bundles."""

    def on_error(func: Callable[..., Any], target: str, _exc: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), stat.S_IRWXU)
            os.chmod(target, stat.S_IRWXU)
            func(target)

    if path.exists():
        shutil.rmtree(path, onerror=on_error)


def make_writable(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        os.chmod(dirpath, stat.S_IRWXU)
        for name in files:
            os.chmod(os.path.join(dirpath, name), stat.S_IRUSR | stat.S_IWUSR)


def write_random(path: Path, size: int) -> None:
    """`size` random bytes, written in chunks (never held in memory at once)."""
    with path.open("wb") as handle:
        left = size
        while left:
            n = min(WRITE_CHUNK, left)
            handle.write(os.urandom(n))
            left -= n


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}


def fmt_s(value: float) -> str:
    return f"{value:.2f} s"


def fmt_mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "WARN"


# --------------------------------------------------------------------------- environment


def environment() -> dict[str, Any]:
    chromium = subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    openssl = subprocess.run(
        ["openssl", "version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "chromium": chromium,
        "playwright": importlib.metadata.version("playwright"),
        "collector": importlib.metadata.version("collector"),
        "python": platform.python_version(),
        "openssl": openssl,
        "platform": platform.platform(),
        "loadavg_start": list(os.getloadavg()),
    }


# --------------------------------------------------------------------------- fixture + store


@contextlib.contextmanager
def fixture_server(scratch: Path) -> Iterator[str]:
    """`python -m fixtures.server` in a subprocess; yields the http base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fixtures.server"],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=(scratch / "fixture-server.stderr").open("wb"),
        text=True,
    )
    _RUNNING[proc.pid] = proc
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise BenchError("the fixture server did not start (see fixture-server.stderr)")
        yield str(json.loads(line)["http"])
    finally:
        _RUNNING.pop(proc.pid, None)
        _stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()


@dataclass
class BenchStore:
    root: Path
    auth_id: str

    def env(self, user: tuple[str, str, str, str, str] | None = None) -> dict[str, str]:
        env = clean_env()
        env["COLLECTOR_STORE"] = str(self.root)
        if user is not None:
            env["COLLECTOR_USER"] = user[0]
            env["COLLECTOR_PASSPHRASE"] = user[4]
        return env


def make_store(root: Path, site: str) -> BenchStore:
    """Like scripts/demo: init, an investigator and a supervisor, a request and its approval."""
    env = clean_env()
    env["COLLECTOR_STORE"] = str(root)
    env["COLLECTOR_ADMIN_PASSPHRASE"] = "bench-admin-passphrase"  # noqa: S105 - a throw-away store
    c = str(COLLECTOR)
    run_ok([c, "init", "--agency", "Bench Police Department", "--allow-private-network"], env)
    for name, role, full, badge, passphrase in (INVESTIGATOR, SUPERVISOR):
        run_ok(
            [c, "user", "add", name, "--role", role, "--name", full, "--badge", badge],
            {**env, "COLLECTOR_NEW_PASSPHRASE": passphrase},
        )
    as_alice = {**env, "COLLECTOR_USER": INVESTIGATOR[0], "COLLECTOR_PASSPHRASE": INVESTIGATOR[4]}
    request = run_ok(
        [
            c, "auth", "request", "--json",
            "--case", "HPD-2026-000123",
            "--predicate", "criminal-predicate",
            "--standard", "reasonable-suspicion",
            "--purpose", "criminal-investigation",
            "--retention", "case-evidence",
            "--scope", f"{site}/*",
            "--facts", "Benchmark run on the built-in fixture site: a public status thread "
            "posted on 2026-11-20 is captured repeatedly to time the collector.",
        ],
        as_alice,
    )  # fmt: skip
    auth_id = str(json.loads(request)["id"])
    as_bob = {**env, "COLLECTOR_USER": SUPERVISOR[0], "COLLECTOR_PASSPHRASE": SUPERVISOR[4]}
    run_ok([c, "auth", "approve", auth_id], as_bob)
    return BenchStore(root=root, auth_id=auth_id)


# --------------------------------------------------------------------------- 1. capture


@dataclass
class CaptureRun:
    kind: str  # "collector" or "bare"
    index: int
    wall_s: float
    phases: dict[str, float] = field(default_factory=dict)
    screenshot: str = ""
    screenshot_px: tuple[int, int] = (0, 0)
    dom_has_last_reply: bool = False
    bundle: str = ""
    tree: TreePeak | None = None


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def collector_phases(meta: dict[str, Any], run: Measured) -> dict[str, float]:
    """Wall time split by capture.steps in metadata.json, plus what happens around the browser."""
    capture = meta["capture"]
    start, end = _epoch(capture["started_at"]), _epoch(capture["ended_at"])
    steps = capture["steps"]
    phases = {"python start, store, key, gate": start - run.started_epoch}
    if steps:
        phases["driver start"] = _epoch(steps[0]["started_at"]) - start
    covered = 0.0
    for step in steps:
        took = _epoch(step["ended_at"]) - _epoch(step["started_at"])
        phases[step["name"]] = phases.get(step["name"], 0.0) + took
        covered += took
    if steps:
        first, last = _epoch(steps[0]["started_at"]), _epoch(steps[-1]["ended_at"])
        phases["between steps"] = (last - first) - covered
        phases["driver stop"] = end - last
    phases["metadata, seal, ledger, exit"] = run.ended_epoch - end
    return phases


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return (0, 0)
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def run_collector_capture(
    store: BenchStore,
    url: str,
    index: int,
    scratch: Path,
    marker: str = LAST_REPLY_MARKER,
    tree: bool = False,
) -> tuple[CaptureRun, Measured]:
    before = set((store.root / "bundles").iterdir())
    run = run_measured(
        [str(COLLECTOR), "capture", url, "--auth", store.auth_id],
        env=store.env(INVESTIGATOR),
        scratch=scratch,
        timeout_s=CAPTURE_TIMEOUT_S,
        tree=tree,
    )
    new = sorted(set((store.root / "bundles").iterdir()) - before)
    if run.returncode != 0 or len(new) != 1 or not (new[0] / "seal.sig").is_file():
        raise BenchError(
            f"collector capture run {index}: exit {run.returncode}, {len(new)} new bundle(s)\n"
            f"{run.stdout}{run.stderr}"
        )
    bundle = new[0]
    meta = json.loads((bundle / "data" / "metadata.json").read_text(encoding="utf-8"))
    dom = (bundle / "data" / "page.html").read_text(encoding="utf-8")
    shot = bundle / "data" / "screenshot.png"
    return (
        CaptureRun(
            kind="collector",
            index=index,
            wall_s=run.wall_s,
            phases=collector_phases(meta, run),
            screenshot=str(shot),
            screenshot_px=png_size(shot),
            dom_has_last_reply=marker in dom,
            bundle=str(bundle),
            tree=run.tree,
        ),
        run,
    )


def run_bare_capture(
    script: Path,
    config: dict[str, Any],
    index: int,
    scratch: Path,
    keep_shot: bool,
    marker: str = LAST_REPLY_MARKER,
    tree: bool = False,
) -> CaptureRun:
    work = scratch / f"bare-{index}"
    (work / "home").mkdir(parents=True)
    cfg = {
        **config,
        "home": str(work / "home"),
        "screenshot": str(work / "screenshot.png"),
        "dom": str(work / "page.html"),
    }
    run = run_measured(
        [sys.executable, str(script), json.dumps(cfg)],
        env=clean_env(),
        scratch=scratch,
        timeout_s=CAPTURE_TIMEOUT_S,
        tree=tree,
    )
    if run.returncode != 0:
        raise BenchError(f"bare capture run {index}: exit {run.returncode}\n{run.stderr}")
    report = json.loads(run.stdout.strip().splitlines()[-1])
    marks: dict[str, float] = report["marks"]
    phases = {"python start + import playwright": marks["imported"] - run.started_epoch}
    phases.update({name: marks[b] - marks[a] for name, a, b in BARE_PHASES[1:]})
    phases["exit"] = run.ended_epoch - marks["close"]
    dom = Path(cfg["dom"]).read_text(encoding="utf-8")
    shot = Path(cfg["screenshot"])
    result = CaptureRun(
        kind="bare",
        index=index,
        wall_s=run.wall_s,
        phases=phases,
        screenshot=str(shot) if keep_shot else "",
        screenshot_px=png_size(shot),
        dom_has_last_reply=marker in dom,
        tree=run.tree,
    )
    if not result.dom_has_last_reply:
        raise BenchError(f"bare capture run {index}: the DOM lacks {marker!r}")
    if not keep_shot:
        remove_tree(work)
    return result


def same_pixels(a: Path, b: Path) -> bool | None:
    try:
        from PIL import Image, ImageChops
    except ImportError:
        return None
    Image.MAX_IMAGE_PIXELS = None
    with Image.open(a) as one, Image.open(b) as two:
        if one.size != two.size:
            return False
        return ImageChops.difference(one.convert("RGB"), two.convert("RGB")).getbbox() is None


def bare_setup(store: BenchStore, url: str, scratch: Path) -> tuple[Path, dict[str, Any]]:
    """The bare script on disk and its configuration: the store's browser settings for `url`."""
    from collector.browser.launch import PLAYWRIGHT_FEATURES_SWITCH, launch_args
    from collector.store.config import CONFIG_NAME, load_config

    settings = load_config(store.root / CONFIG_NAME).browser
    if settings.executable_path != CHROMIUM:
        log(
            f"note: the store's Chromium is {settings.executable_path}; the bare script uses it too"
        )
    config = {
        "url": url,
        "executable": settings.executable_path,
        "args": launch_args(settings),
        "ignore_default_args": [PLAYWRIGHT_FEATURES_SWITCH],  # as collector launches it
        "width": settings.viewport_width,
        "height": settings.viewport_height,
        "scale": settings.device_scale_factor,
        "locale": settings.locale,
        "timezone": settings.timezone_id,
        "idle_ms": settings.scroll_idle_ms,
        "pause_s": BARE_SCROLL_PAUSE_S,
        "max_scroll_s": settings.scroll_max_time_s,
    }
    script = scratch / "bare_capture.py"
    script.write_text(BARE_SCRIPT, encoding="utf-8")
    return script, config


def unlock_times(store: BenchStore, runs: int = UNLOCK_RUNS) -> list[float]:
    """Seconds per key unlock as a capture does it (`Store.authenticate`: the passphrase-
    protected private key decrypted, its certificate checked), in this process."""
    from collector.store.store import Store

    opened = Store.open(store.root)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        opened.authenticate(INVESTIGATOR[0], INVESTIGATOR[4])
        times.append(time.perf_counter() - t0)
    return times


def bench_capture(
    store: BenchStore, site: str, runs: int, scratch: Path
) -> tuple[dict[str, Any], list[CaptureRun]]:
    url = site + PAGE
    script, bare_config = bare_setup(store, url, scratch)
    unlocks = unlock_times(store)
    unlock = median(unlocks)

    log(f"== 1. capture overhead: {runs} pairs (A = collector capture, B = bare Playwright)")
    log(f"   url {url}; launch args {' '.join(bare_config['args'])}")
    log(
        f"   the bare script stops scrolling after {bare_config['idle_ms']} ms without growth at "
        f"the bottom, pausing {BARE_SCROLL_PAUSE_S * 1000:.0f} ms at each position"
    )
    log(
        f"   key unlock {unlock:.3f} s (median of {len(unlocks)}, {min(unlocks):.3f}-"
        f"{max(unlocks):.3f}): taken out of collector's wall time for the ratio; no time-stamp "
        "authority or bucket in the bench store, so no time-stamp or checkpoint round trip"
    )
    collector_runs: list[CaptureRun] = []
    bare_runs: list[CaptureRun] = []
    for i in range(1, runs + 1):
        a, _ = run_collector_capture(store, url, i, scratch)
        collector_runs.append(a)
        b = run_bare_capture(script, bare_config, i, scratch, keep_shot=(i == 1))
        bare_runs.append(b)
        log(
            f"   pair {i}/{runs}: collector {a.wall_s:6.2f} s ({a.wall_s - unlock:5.2f} s without "
            f"the unlock)  bare {b.wall_s:6.2f} s  ratio {(a.wall_s - unlock) / b.wall_s:5.2f}  "
            f"(screenshots {a.screenshot_px[0]}x{a.screenshot_px[1]}"
            f" / {b.screenshot_px[0]}x{b.screenshot_px[1]}; collector DOM has last reply: "
            f"{a.dom_has_last_reply})"
        )
    pixels = same_pixels(Path(collector_runs[0].screenshot), Path(bare_runs[0].screenshot))
    remove_tree(scratch / "bare-1")

    c_wall = [r.wall_s for r in collector_runs]
    c_net = [w - unlock for w in c_wall]
    b_wall = [r.wall_s for r in bare_runs]
    ratios = [a / b for a, b in zip(c_net, b_wall, strict=True)]
    ratio = median(ratios)
    result = {
        "url_path": PAGE,
        "pairs": runs,
        "launch_args": bare_config["args"],
        "bare_scroll_rule": {"idle_ms": bare_config["idle_ms"], "pause_s": BARE_SCROLL_PAUSE_S},
        "key_unlock_s": spread(unlocks),
        "key_unlock_runs_s": unlocks,
        "timestamp_round_trip": "none: the bench store has no time-stamp authority",
        "checkpoint_round_trip": "none: the checkpoint is signed and stored locally (no "
        "time-stamp authority, no bucket); its local cost stays in the wall time",
        "collector_wall_s": spread(c_wall),
        "collector_wall_without_unlock_s": spread(c_net),
        "bare_wall_s": spread(b_wall),
        "collector_runs_s": c_wall,
        "bare_runs_s": b_wall,
        "pair_ratios": ratios,
        "pair_ratios_with_unlock": [a / b for a, b in zip(c_wall, b_wall, strict=True)],
        "ratio_median_of_pairs": ratio,
        "ratio_of_medians": median(c_net) / median(b_wall),
        "goal_max_ratio": CAPTURE_GOAL_MAX,
        "verdict": verdict(ratio <= CAPTURE_GOAL_MAX),
        "collector_phases_median_s": median_phases(collector_runs),
        "bare_phases_median_s": median_phases(bare_runs),
        "collector_dom_has_last_reply": [r.dom_has_last_reply for r in collector_runs],
        "screenshot_px": {
            "collector": [list(r.screenshot_px) for r in collector_runs],
            "bare": [list(r.screenshot_px) for r in bare_runs],
        },
        "first_pair_pixel_identical": pixels,
    }
    return result, collector_runs


def median_phases(runs: list[CaptureRun]) -> dict[str, float]:
    names: list[str] = []
    for run in runs:
        names += [n for n in run.phases if n not in names]
    return {n: median([r.phases.get(n, 0.0) for r in runs]) for n in names}


# --------------------------------------------------------------------------- 2. verify


def build_verify_bundle(source: Path, parent: Path, size_mb: int, store: BenchStore) -> Path:
    """A copy of a sealed bundle with a random file under data/, re-manifested and re-signed."""
    import bagit

    from collector.evidence import keys

    name, role, _full, _badge, passphrase = INVESTIGATOR
    del role
    parent.mkdir(parents=True)
    # Another name: a bundle directory named like a ledger bundle is verified against that
    # bundle's custody log, which this re-sealed copy (a different seal digest) cannot match.
    dest = parent / f"bench-{source.name}"
    shutil.copytree(source, dest)
    make_writable(dest)
    write_random(dest / "data" / f"bench-{size_mb}MB.bin", size_mb * MB)
    # bagit lists every root file in the tag manifests; the signature must not be one of them.
    (dest / "seal.sig").unlink()
    bagit.Bag(str(dest)).save(processes=1, manifests=True)
    key = keys.load_private(store.root / "keys" / f"{name}.key.pem", passphrase, name)
    signed = (dest / "tagmanifest-sha256.txt").read_bytes()
    (dest / "seal.sig").write_bytes(keys.sign(key, signed))
    return dest


def check_verifies(bundle: Path, store: BenchStore, scratch: Path) -> None:
    run = run_measured(
        [str(COLLECTOR), "verify", "--json", str(bundle)],
        env=store.env(),
        scratch=scratch,
        timeout_s=VERIFY_TIMEOUT_S,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        report = {"checks": []}
    failed = [f"{c['name']}: {c['detail']}" for c in report["checks"] if not c["ok"]]
    if run.returncode != 0 or failed or not report["checks"]:
        raise BenchError(
            f"the constructed bundle {bundle} does not verify (exit {run.returncode}): "
            + ("; ".join(failed) or run.stderr.strip())
        )


def verify_once(bundle: Path, store: BenchStore, scratch: Path) -> tuple[float, int]:
    """`collector verify PATH`: wall time and peak RSS (KiB)."""
    run = run_measured(
        [str(COLLECTOR), "verify", str(bundle)],
        env=store.env(),
        scratch=scratch,
        timeout_s=VERIFY_TIMEOUT_S,
        rss=True,
    )
    if run.returncode != 0 or run.maxrss_kib is None:
        raise BenchError(f"collector verify {bundle} exited {run.returncode}\n{run.stdout}")
    return run.wall_s, run.maxrss_kib


def openssl_once(path: Path, scratch: Path) -> tuple[float, int, dict[str, float]]:
    """`openssl dgst -sha256 FILE` then `openssl dgst -sha512 FILE`: summed wall time, peak RSS."""
    times: dict[str, float] = {}
    rss = 0
    for alg in ("sha256", "sha512"):
        run = run_measured(
            ["openssl", "dgst", f"-{alg}", str(path)],
            env=clean_env(),
            scratch=scratch,
            timeout_s=VERIFY_TIMEOUT_S,
            rss=True,
        )
        if run.returncode != 0 or run.maxrss_kib is None:
            raise BenchError(f"openssl dgst -{alg} exited {run.returncode}: {run.stderr}")
        times[alg] = run.wall_s
        rss = max(rss, run.maxrss_kib)
    return sum(times.values()), rss, times


def bench_verify(
    source_bundle: Path,
    store: BenchStore,
    large_mb: int,
    small_mb: int,
    runs: int,
    scratch: Path,
) -> dict[str, Any]:
    log(f"== 2. verify: building bundles with {large_mb} MB and {small_mb} MB payload files")
    t0 = time.perf_counter()
    large = build_verify_bundle(source_bundle, scratch / "verify-large", large_mb, store)
    small = build_verify_bundle(source_bundle, scratch / "verify-small", small_mb, store)
    for bundle in (large, small):
        check_verifies(bundle, store, scratch)
    log(
        f"   built and checked (collector verify: every check passes) in {time.perf_counter() - t0:.1f} s"
    )
    big_file = large / "data" / f"bench-{large_mb}MB.bin"
    size_mb = big_file.stat().st_size / MB
    payload_bytes = sum(p.stat().st_size for p in (large / "data").rglob("*") if p.is_file())

    log("   warm-up: one collector verify and one openssl sha256 + sha512 (page cache)")
    warm_c, _ = verify_once(large, store, scratch)
    warm_o, _, _ = openssl_once(big_file, scratch)
    log(f"   warm-up: collector {warm_c:.2f} s, openssl {warm_o:.2f} s")

    c_times: list[float] = []
    o_times: list[float] = []
    o_split: list[dict[str, float]] = []
    c_rss: list[int] = []
    o_rss: list[int] = []
    for i in range(1, runs + 1):
        c_wall, c_max_rss = verify_once(large, store, scratch)
        o_total, o_max_rss, split = openssl_once(big_file, scratch)
        c_times.append(c_wall)
        c_rss.append(c_max_rss)
        o_times.append(o_total)
        o_split.append(split)
        o_rss.append(o_max_rss)
        log(
            f"   pair {i}/{runs}: collector verify {c_wall:5.2f} s ({size_mb / c_wall:6.0f} MB/s, "
            f"peak RSS {fmt_mib(c_max_rss)})  openssl {o_total:5.2f} s "
            f"(sha256 {split['sha256']:.2f} + sha512 {split['sha512']:.2f}; "
            f"{size_mb / o_total:6.0f} MB/s)"
        )

    log(f"   peak RSS with the {small_mb} MB payload: 1 warm-up + {runs} runs")
    verify_once(small, store, scratch)
    s_runs = [verify_once(small, store, scratch) for _ in range(runs)]
    s_times = [wall for wall, _ in s_runs]
    s_rss = [peak for _, peak in s_runs]
    # Fixed cost (interpreter, imports, store, ledger) vs streaming rate, from the two sizes.
    delta_t = median(c_times) - median(s_times)
    streaming = (size_mb - small_mb) / delta_t if delta_t > 0 else float("nan")
    fixed = median(s_times) - small_mb / streaming if delta_t > 0 else float("nan")

    c_tp = [size_mb / t for t in c_times]
    o_tp = [size_mb / t for t in o_times]
    ratios = [c / o for c, o in zip(c_tp, o_tp, strict=True)]
    ratio = median(ratios)
    mem_ratio = median(c_rss) / median(s_rss)
    return {
        "large_file_mb": size_mb,
        "large_payload_bytes": payload_bytes,
        "small_file_mb": small_mb,
        "pairs": runs,
        "throughput_basis": "size of the large file / wall time (collector also hashes the "
        f"capture's own artifacts, {payload_bytes - big_file.stat().st_size} bytes more)",
        "warmup_s": {"collector": warm_c, "openssl": warm_o},
        "collector_wall_s": spread(c_times),
        "openssl_wall_s": spread(o_times),
        "openssl_split_s": o_split,
        "collector_runs_s": c_times,
        "openssl_runs_s": o_times,
        "collector_mb_s": spread(c_tp),
        "openssl_combined_mb_s": spread(o_tp),
        "pair_ratios": ratios,
        "ratio_median_of_pairs": ratio,
        "ratio_of_median_throughputs": median(c_tp) / median(o_tp),
        "goal_min_ratio": VERIFY_GOAL_MIN,
        "verdict": verdict(ratio >= VERIFY_GOAL_MIN),
        "peak_rss_kib": {
            "collector_large": spread([float(x) for x in c_rss]),
            "collector_small": spread([float(x) for x in s_rss]),
            "openssl": spread([float(x) for x in o_rss]),
            "collector_large_runs": c_rss,
            "collector_small_runs": s_rss,
        },
        "rss_method": rss_method(),
        "small_verify_wall_s": spread(s_times),
        "collector_streaming_mb_s": streaming,
        "collector_fixed_cost_s": fixed,
        "memory_ratio_large_over_small": mem_ratio,
        "memory_goal_max_ratio": MEMORY_FLAT_MAX,
        "memory_verdict": verdict(mem_ratio <= MEMORY_FLAT_MAX),
    }


# --------------------------------------------------------------------------- report


def markdown(results: dict[str, Any]) -> str:
    env, cap, ver = results["environment"], results["capture"], results["verify"]
    rss = ver["peak_rss_kib"]
    unlock = cap["key_unlock_s"]["median"]
    rows = [
        (
            f"capture `{cap['url_path']}` (wall time, {cap['pairs']} pairs; without the "
            f"{unlock:.2f} s key unlock)",
            fmt_s(cap["collector_wall_without_unlock_s"]["median"]),
            f"{fmt_s(cap['bare_wall_s']['median'])} (bare Playwright)",
            f"{cap['ratio_median_of_pairs']:.2f}×",
            f"≤ {CAPTURE_GOAL_MAX}× — {cap['verdict']}",
        ),
        *scale_rows(results),
        (
            f"verify, {ver['large_file_mb']:.0f} MB payload (throughput, {ver['pairs']} pairs)",
            f"{ver['collector_mb_s']['median']:.0f} MB/s",
            f"{ver['openssl_combined_mb_s']['median']:.0f} MB/s (openssl sha256 + sha512)",
            f"{ver['ratio_median_of_pairs']:.2f}",
            f"≥ {VERIFY_GOAL_MIN} — {ver['verdict']}",
        ),
        (
            f"verify peak RSS, {ver['large_file_mb']:.0f} MB vs {ver['small_file_mb']} MB payload",
            fmt_mib(rss["collector_large"]["median"]),
            f"{fmt_mib(rss['collector_small']['median'])} ({ver['small_file_mb']} MB payload)",
            f"{ver['memory_ratio_large_over_small']:.2f}",
            f"flat (≤ {MEMORY_FLAT_MAX}) — {ver['memory_verdict']}",
        ),
    ]
    lines = [
        "| measure | collector (median) | baseline (median) | ratio | goal |",
        "|---|---|---|---|---|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        f"_`scripts/bench`, {env['date'][:10]}: {env['cpu_count']} CPUs, {env['chromium']}, "
        f"Playwright {env['playwright']}, {env['openssl'].split(' (')[0]}. Ratios are medians of "
        "per-pair ratios of alternated runs on a shared machine; memory is the whole process "
        "tree's (collector, the Playwright driver, every Chromium process), PSS._",
    ]
    return "\n".join(lines)


def scale_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """The Markdown rows of `bench_scale` (none when it was not run)."""
    rows: list[tuple[str, str, str, str, str]] = []
    batch, tall = results.get("batch"), results.get("tall")
    if batch is not None:
        many, one = str(batch["concurrency"]), "1"
        rows.append((
            f"batch of {len(batch['pages'])} fixture pages, `--concurrency {many}` (throughput, "
            f"{batch['pairs']} pairs)",
            f"{fmt_s(batch['wall_s'][many]['median'])}",
            f"{fmt_s(batch['wall_s'][one]['median'])} (`--concurrency 1`)",
            f"{batch['throughput_ratio']:.2f}×",
            f"≥ {batch['goal_min_ratio']}× — {batch['verdict']}",
        ))
        rows.append((
            f"memory per extra concurrent capture (peak, {many} at once vs 1, divided by "
            f"{int(many) - 1})",
            f"{batch['per_context_mib']:.0f} MiB",
            f"{batch['per_context_rss_sum_median_mib']:.0f} MiB (RSS summed over processes)",
            "",
            f"< {batch['context_goal_max_mib']:.0f} MiB — {batch['context_verdict']}",
        ))
    if tall is not None:
        rows.append((
            f"peak memory, capture of `{tall['url_path']}` ({tall['runs']} run(s))",
            f"{tall['peak_mib']:.0f} MiB",
            f"{tall['bare_peak_mib']:.0f} MiB (bare Playwright, one full-page screenshot)",
            f"{tall['ratio_to_bare']:.2f}",
            f"< {tall['goal_max_mib']:.0f} MiB — {tall['verdict']}",
        ))
    return rows


def print_report(results: dict[str, Any]) -> None:
    env, cap, ver = results["environment"], results["capture"], results["verify"]
    rss = ver["peak_rss_kib"]
    log()
    log("== environment")
    for key in ("date", "cpu_count", "chromium", "playwright", "collector", "python", "openssl"):
        log(f"   {key:<10} {env[key]}")
    log(f"   load avg   start {env['loadavg_start']}  end {env['loadavg_end']}")
    log()
    log("== where the capture time goes (medians, seconds)")
    for name, value in cap["collector_phases_median_s"].items():
        log(f"   collector  {name:<32} {value:6.2f}")
    for name, value in cap["bare_phases_median_s"].items():
        log(f"   bare       {name:<32} {value:6.2f}")
    log()
    log("== results")
    c, b = cap["collector_wall_s"], cap["bare_wall_s"]
    log(
        f"   capture   collector {c['median']:.2f} s (min {c['min']:.2f}, max {c['max']:.2f})   "
        f"bare {b['median']:.2f} s (min {b['min']:.2f}, max {b['max']:.2f})"
    )
    log(
        f"             ratio {cap['ratio_median_of_pairs']:.2f}× median of pairs without the key "
        f"unlock of {cap['key_unlock_s']['median']:.3f} s ({cap['ratio_of_medians']:.2f}× of "
        f"medians; {median(cap['pair_ratios_with_unlock']):.2f}× with it); goal ≤ "
        f"{CAPTURE_GOAL_MAX}× → {cap['verdict']}"
    )
    log(f"             time-stamp round trip: {cap['timestamp_round_trip']}")
    log(f"             checkpoint round trip: {cap['checkpoint_round_trip']}")
    log(
        f"             first pair pixel-identical: {cap['first_pair_pixel_identical']}; "
        f"screenshot sizes collector {cap['screenshot_px']['collector'][0]}, "
        f"bare {cap['screenshot_px']['bare'][0]}"
    )
    cv, ov = ver["collector_mb_s"], ver["openssl_combined_mb_s"]
    log(
        f"   verify    collector {cv['median']:.0f} MB/s ({ver['collector_wall_s']['median']:.2f} s)   "
        f"openssl sha256+sha512 {ov['median']:.0f} MB/s ({ver['openssl_wall_s']['median']:.2f} s)"
    )
    log(
        f"             ratio {ver['ratio_median_of_pairs']:.2f} median of pairs "
        f"({ver['ratio_of_median_throughputs']:.2f} of medians); goal ≥ {VERIFY_GOAL_MIN} → "
        f"{ver['verdict']}"
    )
    log(
        f"   memory    verify peak RSS {fmt_mib(rss['collector_large']['median'])} "
        f"({ver['large_file_mb']:.0f} MB) vs {fmt_mib(rss['collector_small']['median'])} "
        f"({ver['small_file_mb']} MB); ratio {ver['memory_ratio_large_over_small']:.2f} → "
        f"{ver['memory_verdict']} (openssl {fmt_mib(rss['openssl']['median'])})"
    )
    log(
        f"             verify split from the two sizes: ~{ver['collector_fixed_cost_s']:.2f} s fixed "
        f"(start-up, store, ledger) + streaming at ~{ver['collector_streaming_mb_s']:.0f} MB/s"
    )
    print_scale(results)
    log()
    log("== Markdown for the README")
    log(results["markdown"])
    log()


def print_scale(results: dict[str, Any]) -> None:
    batch, tall = results.get("batch"), results.get("tall")
    if batch is not None:
        many = str(batch["concurrency"])
        w1, wn = batch["wall_s"]["1"], batch["wall_s"][many]
        log(
            f"   batch     {len(batch['pages'])} pages: --concurrency {many} {wn['median']:.2f} s "
            f"(min {wn['min']:.2f}, max {wn['max']:.2f})   --concurrency 1 {w1['median']:.2f} s "
            f"(min {w1['min']:.2f}, max {w1['max']:.2f})"
        )
        log(
            f"             throughput ratio {batch['throughput_ratio']:.2f}× (pairs "
            f"{', '.join(f'{r:.2f}' for r in batch['pair_ratios'])}); goal ≥ "
            f"{batch['goal_min_ratio']}× → {batch['verdict']}"
        )
        log(
            f"   contexts  per extra concurrent capture {batch['per_context_mib']:.0f} MiB PSS "
            f"(pairs {', '.join(f'{v:.0f}' for v in batch['per_context_pss_mib'])}); RSS summed "
            f"over processes {batch['per_context_rss_sum_median_mib']:.0f} MiB (upper bound); "
            f"goal < {batch['context_goal_max_mib']:.0f} MiB → {batch['context_verdict']}"
        )
    if tall is not None:
        log(
            f"   tall      {tall['url_path']}: peak {tall['peak_mib']:.0f} MiB PSS (runs "
            f"{', '.join(f'{v:.0f}' for v in tall['collector_peak_pss_mib'])}; RSS summed "
            f"{', '.join(f'{v:.0f}' for v in tall['collector_peak_rss_sum_mib'])}) against the bare "
            f"script's {tall['bare_peak_mib']:.0f} MiB; goal < {tall['goal_max_mib']:.0f} MiB → "
            f"{tall['verdict']}"
        )


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description=(__doc__ or "").split("\n\n", 1)[0]
    )
    parser.add_argument("--runs", type=int, default=7, help="capture pairs (default 7)")
    parser.add_argument("--verify-runs", type=int, default=3, help="verify pairs (default 3)")
    parser.add_argument("--verify-mb", type=int, default=500, help="large payload, MB (500)")
    parser.add_argument("--small-mb", type=int, default=50, help="small payload for RSS, MB (50)")
    parser.add_argument(
        "--batch-runs", type=int, default=3, help="batch pairs, concurrency 3 and 1 (default 3)"
    )
    parser.add_argument(
        "--tall-runs", type=int, default=1, help="100 000 px page pairs (default 1)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("bench-results.json"), help="results JSON file"
    )
    args = parser.parse_args(argv)
    for name in ("runs", "verify_runs", "verify_mb", "small_mb", "batch_runs", "tall_runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out.resolve()
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGHUP, _on_term)
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="collector-bench-"))
    need = (args.verify_mb + args.small_mb) * MB * 1.1 + 200 * MB
    free = shutil.disk_usage(scratch).free
    try:
        if free < need:
            raise BenchError(
                f"{scratch} has {free / MB:.0f} MB free; the run needs ~{need / MB:.0f}"
            )
        results: dict[str, Any] = {"environment": environment()}
        results["config"] = {
            "runs": args.runs,
            "verify_runs": args.verify_runs,
            "verify_mb": args.verify_mb,
            "small_mb": args.small_mb,
            "batch_runs": args.batch_runs,
            "tall_runs": args.tall_runs,
        }
        log(f"== scratch {scratch} ({free / 1e9:.0f} GB free)")
        with fixture_server(scratch) as site:
            log(f"== fixture site {site}; making a throw-away store")
            store = make_store(scratch / "store", site)
            results["capture"], captures = bench_capture(store, site, args.runs, scratch)
            # bench_scale imports this module by name: let it find this one, not a second copy.
            sys.modules.setdefault("bench_lib", sys.modules[__name__])
            import bench_scale

            results["batch"] = bench_scale.bench_batch(store, site, args.batch_runs, scratch)
            results["tall"] = bench_scale.bench_tall(store, site, args.tall_runs, scratch)
        # The fixture server is gone: verify does not need it.
        results["verify"] = bench_verify(
            Path(captures[0].bundle),
            store,
            args.verify_mb,
            args.small_mb,
            args.verify_runs,
            scratch,
        )
        results["environment"]["loadavg_end"] = list(os.getloadavg())
        results["runtime_s"] = time.perf_counter() - started
        results["markdown"] = markdown(results)
        out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print_report(results)
        log(f"wrote {out}; total runtime {results['runtime_s']:.0f} s")
        return 0
    except BenchError as exc:
        log(f"bench: {exc}")
        return 1
    except KeyboardInterrupt:
        log("bench: interrupted; cleaning up")
        return 130
    finally:
        stop_all_children()
        remove_tree(scratch)


if __name__ == "__main__":
    sys.exit(main())
