from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import Cli, make_store


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return make_store(tmp_path_factory.mktemp("template"))


@pytest.fixture
def cli(store_template: Cli, tmp_path: Path) -> Cli:
    """A fresh copy of a store with the standard users (see tests/helpers.py)."""
    target = tmp_path / "store"
    shutil.copytree(store_template.store, target)
    return Cli(target)
