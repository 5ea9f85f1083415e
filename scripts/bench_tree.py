"""Peak memory of a process and every process under it (Chromium's included), sampled.

Two sums per sample, both read from /proc/PID/smaps_rollup:

- PSS: each page counted once for the whole machine, split among the processes that map it,
  so the sum over the tree is the memory the tree itself holds (Chromium's code and shared
  memory once, not once per process);
- RSS: each process's resident pages in full, so shared pages count once per process that maps
  them (Chromium's binary alone is counted in every renderer): an upper bound.

A sample every SAMPLE_S on a thread of its own; a process that starts and ends between two
samples is not seen, so the peaks are lower bounds of the truth, the same for both sides of
a comparison.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

SAMPLE_S = 0.1


@dataclass
class TreePeak:
    """The largest sums seen (KiB) and how many processes the tree had then."""

    pss_kib: int = 0
    rss_kib: int = 0
    processes: int = 0
    samples: int = 0


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kids.setdefault(int(fields[1]), []).append(int(name))
    return kids


def _rollup(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in KiB; (0, 0) once it is gone."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except (OSError, ValueError):
        return 0, 0
    return pss, rss


def tree_sums(root: int) -> tuple[int, int, int]:
    """(PSS, RSS, processes) of `root` and its descendants now."""
    kids = _children()
    stack, pss, rss, count = [root], 0, 0, 0
    while stack:
        pid = stack.pop()
        one_pss, one_rss = _rollup(pid)
        pss, rss, count = pss + one_pss, rss + one_rss, count + 1
        stack.extend(kids.get(pid, []))
    return pss, rss, count


@dataclass
class TreeSampler:
    """Samples the tree under `root` until `stop()`; `peak` holds the largest sums."""

    root: int
    peak: TreePeak = field(default_factory=TreePeak)
    _done: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._done.is_set():
            pss, rss, count = tree_sums(self.root)
            peak = self.peak
            peak.samples += 1
            if pss > peak.pss_kib:
                peak.pss_kib, peak.processes = pss, count
            peak.rss_kib = max(peak.rss_kib, rss)
            self._done.wait(SAMPLE_S)

    def stop(self) -> TreePeak:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        return self.peak
