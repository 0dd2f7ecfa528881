"""Fixtures for the image clean-up tests.

The synthetic scan generator lives in ``bench/imaging_synthetic.py`` (shared with the
benchmark, kept out of the application); the project root goes on ``sys.path`` for it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.imaging_synthetic import STANDARD_SPECS, SyntheticScan, make_scan  # noqa: E402


@pytest.fixture(autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGIN_DESK_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def standard_scans() -> list[SyntheticScan]:
    return [make_scan(spec) for spec in STANDARD_SPECS]
