"""Run the command line with the recorded browser and die by SIGKILL at a named point.

    python -m tests.fakes.crash POINT ARGS...      # e.g. "seal.rename:after" capture URL --auth ID

POINT is `name:before` or `name:after`, a name from POINTS: the process kills itself just
before or just after that function runs, as a power cut or `kill -9` would stop it.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
from typing import Any

POINTS: dict[str, tuple[str, str]] = {
    "authorize": ("collector.capture", "authorize"),
    "clock": ("collector.capture", "clock_report"),
    "browser": ("", ""),  # the recorded browser itself
    "screening": ("collector.capture", "screen_capture"),
    "metadata": ("collector.capture", "build_metadata"),
    "bagit": ("collector.evidence.bundle.seal.bagit", "make_bag"),
    "sign": ("collector.evidence.bundle.seal.keys", "sign"),
    "self-check": ("collector.evidence.bundle.seal", "_self_check"),
    "read-only": ("collector.evidence.bundle.seal", "_make_read_only"),
    "sync": ("collector.evidence.bundle.seal", "_sync_tree"),
    "rename": ("", ""),  # the move of the sealed bag into bundles/ (not bagit's own renames)
    "sync-directory": ("collector.evidence.bundle.seal", "_sync_directory"),
    "add-bundle": ("collector.store.ledger.Ledger", "add_bundle"),
    "screening-record": ("collector.capture", "_record_screening"),
}


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _wrap(function: Any, when: str) -> Any:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if when == "before":
            _die()
        result = function(*args, **kwargs)
        if when == "after":
            _die()
        return result

    return wrapper


def _owner(dotted: str) -> Any:
    """The module (or class inside a module) that holds the attribute to wrap."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            owner = getattr(owner, name)
        return owner
    raise ImportError(dotted)


def main(argv: list[str]) -> None:
    import types

    from collector import capture
    from collector.cli import main as cli_main
    from collector.evidence.bundle import seal
    from tests.fakes.browser import FakeBrowser

    point, *args = argv
    name, when = point.split(":")
    player: Any = FakeBrowser()
    if name == "browser":
        player = _wrap(player, when)
    elif name == "rename":
        real = os
        seal.os = types.SimpleNamespace(  # type: ignore[assignment]
            **{k: getattr(real, k) for k in dir(real) if not k.startswith("__")}
        )
        seal.os.rename = _wrap(real.rename, when)
    else:
        dotted, attribute = POINTS[name]
        owner = _owner(dotted)
        setattr(owner, attribute, _wrap(getattr(owner, attribute), when))
    capture.browser_capture = player
    sys.argv = ["collector", *args]
    cli_main()


if __name__ == "__main__":
    main(sys.argv[1:])
