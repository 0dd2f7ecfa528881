"""An in-lieu request against a certificate migrated from the legacy system is refused by
the transition rule on the embedded demo (the SQLite store's reservation) even when its
number is in this store's scheme and dated after 21.12.2024 (on PostgreSQL:
od_is_legacy_certificate, tests/migration/test_legacy_import.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.cli import main
from tests.migration.export import SCHEME_LEGACY, write_export


def test_an_in_lieu_against_a_migrated_certificate_is_refused(
        demo_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.services.central_issuing import IssueRefused, refuse_legacy_original
    from app.store.central import session_factory

    with session_factory(demo_engine)() as session:  # not legacy by its number or date
        refuse_legacy_original(SCHEME_LEGACY, None, "APP-2026-000001", session)
    assert main(["import-legacy", str(write_export(tmp_path / "legacy.csv")),
                 "--as", "admin@igcc.org.in"]) == 1
    capsys.readouterr()
    with session_factory(demo_engine)() as session, \
            pytest.raises(IssueRefused, match="issued by the legacy eCoO 1.0 system"):
        refuse_legacy_original(SCHEME_LEGACY, None, "APP-2026-000001", session)
