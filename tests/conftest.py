"""Shared fixtures: an isolated data directory per test, and the seeded demo store."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DEMO_TODAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own ORIGIN_DESK_HOME and no ORIGIN_DESK_* settings from outside."""
    for key in list(os.environ):
        if key.startswith("ORIGIN_DESK_"):
            monkeypatch.delenv(key)
    # the demo token points SOFTHSM2_CONF at itself: undo that after every test
    monkeypatch.setenv("SOFTHSM2_CONF", os.environ.get("SOFTHSM2_CONF", ""))
    if not os.environ["SOFTHSM2_CONF"]:
        monkeypatch.delenv("SOFTHSM2_CONF")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ORIGIN_DESK_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def seeded_demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store, seeded once per test session (tests get copies)."""
    from app.store.demo import create_demo_store

    path = tmp_path_factory.mktemp("demo") / "demo-central.sqlite"
    engine = create_demo_store(path, today=DEMO_TODAY)
    engine.dispose()
    return path


@pytest.fixture
def demo_store(seeded_demo_file: Path, data_home: Path) -> Iterator[Path]:
    """A private copy of the seeded demo store, where the app expects it."""
    target = data_home / "demo-central.sqlite"
    shutil.copyfile(seeded_demo_file, target)
    yield target


@pytest.fixture
def demo_engine(demo_store: Path):  # type: ignore[no-untyped-def]
    from app.store.central import sqlite_engine

    engine = sqlite_engine(demo_store)
    yield engine
    engine.dispose()
