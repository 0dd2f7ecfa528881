"""Revision 0011 on PostgreSQL through the officer's own login: od_is_legacy_certificate is
is_legacy_certificate, od_legacy_refusal is legacy_refusal word for word; the store's own
reservation and a plain-SQL approval refuse a legacy original with that sentence (ODREF),
and a non-legacy in-lieu application still approves and reserves its number."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models import ApplicationStatus
from app.models.legacy import is_legacy_certificate, legacy_refusal
from tests.in_lieu.support import make_in_lieu
from tests.in_lieu.test_legacy_rule import LEGACY, QUOTE
from tests.store.conftest import CentralDb, officer_emails
from tests.support.postgres import PostgresServer

BOUNDARIES = [None, dt.date(2024, 12, 20), dt.date(2024, 12, 21), dt.date(2023, 12, 31),
              dt.date(2024, 1, 1), dt.date(2026, 11, 30)]
NUMBERS = [
    None, "", "   ", "IGCC/2026/0000012", "IGCC/2024/0000001", "IGCC/2023/0004411",
    "IGCC/2025/123456", "IGCC/2025/12345678", " IGCC/2026/0000012\n", "\u00a0IGCC/2026/0000012",
    "IGCC/2026/0000012\u3000", "IG CC/2026/0000012", "IG\u00a0CC/2026/0000012",
    "ABCDEFGHIJKLMNOP/2026/0000012", "ABCDEFGHIJKLMNOPQ/2026/0000012", "/2026/0000012",
    "A/B/2026/0000012", "IGCC/0000/0000012", "IGCC/9999/0000012", "IGCC/2026/0000012/",
    "IGCC/\u0662\u0660\u0662\u0666/0000012", "IGCC/2026/000001\u0662", LEGACY,
    "MUM-2024-58123", "IGCC/2026/0000012\n1", "igcc/2024/0000001", "ÉÇÖ/2025/0000001",
]
SPACES = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2007\u200a\u2028\u2029\u202f\u3000"
PIECE = st.text(alphabet=st.sampled_from(list("AGIC/Zé-_.09\u0662") + list(SPACES)),
                max_size=18)
YEAR = st.one_of(st.integers(1990, 2030).map(str), st.sampled_from(["0000", "202", "20245"]))
SERIAL = st.integers(0, 10**9).map(str) | st.integers(0, 99999).map(lambda n: f"{n:07d}")
SCHEME = st.builds(lambda lead, agency, year, serial, tail: f"{lead}{agency}/{year}/{serial}{tail}",
                   st.sampled_from(["", " ", "\xa0", "\n", "\u2003"]), PIECE, YEAR, SERIAL,
                   st.sampled_from(["", " ", "\u3000", "\r\n", "x", "/"]))
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                   max_size=40)
DATES = st.one_of(st.none(), st.sampled_from(BOUNDARIES[1:]),
                  st.dates(dt.date(2023, 1, 1), dt.date(2026, 12, 31)))


def _officer(db: CentralDb, email: str) -> psycopg.Connection:
    url = db.login_url(email).replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True)


def _is_legacy(conn: psycopg.Connection, number: str | None, issued_on: dt.date | None) -> bool:
    row = conn.execute("SELECT od_is_legacy_certificate(%s, %s::date)", (number, issued_on)
                       ).fetchone()
    assert row is not None
    return bool(row[0])


def _refusal(conn: psycopg.Connection, number: str | None, app: str | None) -> str:
    row = conn.execute("SELECT od_legacy_refusal(%s, %s)", (number, app)).fetchone()
    assert row is not None
    return str(row[0])


def test_the_store_says_what_python_says(central: CentralDb) -> None:
    email = officer_emails(central)["MUM"][0]
    with _officer(central, email) as conn:
        for number in NUMBERS:
            for issued_on in BOUNDARIES:
                assert _is_legacy(conn, number, issued_on) == \
                    is_legacy_certificate(number, issued_on), (number, issued_on)
            for app in (None, "", "APP-2026-000042"):
                assert _refusal(conn, number, app) == legacy_refusal(number, app), (number, app)
        # the table has both answers at each boundary
        assert _is_legacy(conn, "IGCC/2024/0000001", dt.date(2024, 12, 20))
        assert not _is_legacy(conn, "IGCC/2024/0000001", dt.date(2024, 12, 21))
        assert _is_legacy(conn, "IGCC/2023/0000001", None)
        assert not _is_legacy(conn, "IGCC/2024/0000001", None)
        assert _is_legacy(conn, "IGCC/\u0662\u0660\u0662\u0666/0000012", None)
        assert QUOTE in _refusal(conn, LEGACY, "APP-1")

        @settings(max_examples=400, deadline=None, derandomize=True)
        @given(number=st.one_of(st.none(), SCHEME, ANY_TEXT), issued_on=DATES)
        def agree(number: str | None, issued_on: dt.date | None) -> None:
            assert _is_legacy(conn, number, issued_on) == \
                is_legacy_certificate(number, issued_on)
            assert _refusal(conn, number, "APP-X") == legacy_refusal(number, "APP-X")

        agree()


def _expect_refusal(central: CentralDb, email: str, sql: str, params: tuple[object, ...],
                    sentence: str) -> None:
    with _officer(central, email) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute(sql, params)
    assert refused.value.sqlstate == "ODREF"
    assert refused.value.diag.message_primary == sentence


@pytest.mark.parametrize(("number", "dated"), [
    (LEGACY, None),  # not this store's numbering
    (None, dt.date(2024, 12, 20)),  # the original as it stands, dated before eCoO 2.0
])
def test_the_stores_own_reservation_quotes_the_rule(central: CentralDb, number: str | None,
                                                    dated: dt.date | None) -> None:
    email = officer_emails(central)["MUM"][0]
    owner = central.owner_engine()
    made = make_in_lieu(owner, officer_email=email, original_number=number)
    if dated is not None:
        with owner.begin() as connection:
            connection.exec_driver_sql(
                "UPDATE applications SET original_certificate_date = %s WHERE id = %s",
                (dated, made.application_id))
    count = "SELECT count(*) FROM certificate_numbers"
    before = central.scalar(count)
    app_number = str(central.scalar("SELECT number FROM applications WHERE id = :i",
                                    i=made.application_id))
    _expect_refusal(central, email, "SELECT * FROM od_reserve_certificate_number(%s, 'psql')",
                    (made.application_id,), legacy_refusal(number or made.original_number, app_number))
    assert central.scalar(count) == before
    assert central.scalar("SELECT status FROM applications WHERE id = :i",
                          i=made.application_id) == "approved"


CLAIM = ("UPDATE applications SET status = 'under_scrutiny', claimed_by_id = %s, "
         "claimed_at = now(), version = version + 1 WHERE id = %s")
APPROVE = ("UPDATE applications SET status = 'approved', decided_at = now(), "
           "version = version + 1 WHERE id = %s")


def test_a_plain_sql_approval_of_a_legacy_original_is_refused(central: CentralDb) -> None:
    email = officer_emails(central)["MUM"][0]
    made = make_in_lieu(central.owner_engine(), officer_email=email, original_number=LEGACY,
                        status=ApplicationStatus.SUBMITTED)
    officer_id = central.scalar("SELECT id FROM users WHERE email = :e", e=email)
    with _officer(central, email) as conn:
        conn.execute(CLAIM, (officer_id, made.application_id))
    app_number = str(central.scalar("SELECT number FROM applications WHERE id = :i",
                                    i=made.application_id))
    _expect_refusal(central, email, APPROVE, (made.application_id,),
                    legacy_refusal(LEGACY, app_number))
    assert central.scalar("SELECT status FROM applications WHERE id = :i",
                          i=made.application_id) == "under_scrutiny"


def test_a_non_legacy_in_lieu_still_approves_and_reserves(central: CentralDb) -> None:
    email = officer_emails(central)["MUM"][0]
    made = make_in_lieu(central.owner_engine(), officer_email=email,
                        status=ApplicationStatus.SUBMITTED)
    assert not is_legacy_certificate(made.original_number)
    officer_id = central.scalar("SELECT id FROM users WHERE email = :e", e=email)
    with _officer(central, email) as conn:
        conn.execute(CLAIM, (officer_id, made.application_id))
        conn.execute(APPROVE, (made.application_id,))
        row = conn.execute("SELECT number FROM od_reserve_certificate_number(%s, 'psql')",
                           (made.application_id,)).fetchone()
    assert row is not None and str(row[0]).count("/") == 2
    assert central.scalar("SELECT status FROM applications WHERE id = :i",
                          i=made.application_id) == "approved"


def test_the_revision_goes_down_to_what_it_replaced(pg_server: PostgresServer) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from app.store.schema import alembic_config, head_revision, upgrade

    source = ("SELECT p.prosrc FROM pg_proc p "
              "WHERE p.oid = 'od_original_certificate(applications, integer)'::regprocedure")
    ours = ("SELECT count(*) FROM pg_proc WHERE proname IN ('od_is_legacy_certificate', "
            "'od_legacy_refusal', 'od_python_strip', 'od_legacy_approval_guard')")
    pg_server.create_database("legacy_round_trip")
    engine = create_engine(pg_server.url("legacy_round_trip"))
    try:
        with engine.connect() as connection:
            command.upgrade(alembic_config(connection), "0010_foreign_certificates")
            connection.commit()
            before = connection.execute(text(source)).scalar()
        assert upgrade(engine) == head_revision()
        with engine.connect() as connection:
            assert "od_legacy_refusal" in str(connection.execute(text(source)).scalar())
            assert connection.execute(text(ours)).scalar() == 4
            command.downgrade(alembic_config(connection), "0010_foreign_certificates")
            connection.commit()
            assert connection.execute(text(source)).scalar() == before
            assert connection.execute(text(ours)).scalar() == 0
            assert connection.execute(text(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'applications_b_legacy'"
            )).scalar() == 0
        assert upgrade(engine) == head_revision()
    finally:
        engine.dispose()
        pg_server.drop_database("legacy_round_trip")
