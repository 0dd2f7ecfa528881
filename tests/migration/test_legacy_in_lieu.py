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


def test_the_detail_of_an_in_lieu_against_a_migrated_certificate_quotes_the_rule(
        demo_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The officer's detail panel compares an in-lieu application with its original; for a
    migrated original it says the transition rule instead (Desk.detail, the demo)."""
    from sqlalchemy import text

    from app.config import load_config
    from app.services.desk import Desk

    with demo_engine.begin() as connection:
        application_id = connection.scalar(text(
            "SELECT id FROM applications WHERE kind = 'in_lieu' AND office_id = "
            "(SELECT id FROM offices WHERE code = 'MUM') ORDER BY id LIMIT 1"))
        connection.execute(text(
            "UPDATE applications SET original_certificate_number = :n, "
            "original_certificate_date = '2025-01-10' WHERE id = :a"),
            {"n": SCHEME_LEGACY, "a": application_id})
    desk = Desk(demo_engine, load_config())
    desk.sign_in("admin@igcc.org.in")
    before = desk.detail(application_id).in_lieu
    assert before is not None and "legacy eCoO 1.0" not in before.note
    assert main(["import-legacy", str(write_export(tmp_path / "legacy.csv")),
                 "--as", "admin@igcc.org.in"]) == 1
    capsys.readouterr()
    after = desk.detail(application_id).in_lieu
    assert after is not None and after.original_number == SCHEME_LEGACY
    assert "issued by the legacy eCoO 1.0 system" in after.note
