"""Certificate numbers under concurrent issue: unique, per agency and year, no gaps."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models.certificates import CertificateNumber
from app.store.numbers import (
    CertificateNumberError,
    allocate_certificate_number,
    confirm_certificate_number,
    stale_reservations,
    unexplained_gaps,
    void_certificate_number,
)
from tests.store.conftest import CentralDb

YEAR = 2027  # the seed's numbers are of 2026: this year starts at serial 1


class IssueFailed(Exception):
    pass


def test_concurrent_issue_yields_no_duplicates_and_no_gaps(central: CentralDb) -> None:
    # six desks, each thread with its own engine (connection pool); as the store's owner: on
    # PostgreSQL officers' logins reserve through od_reserve_certificate_number (0004), this
    # is the Python allocator that the SQLite store uses, under PostgreSQL's concurrency
    emails = [str(central.scalar("SELECT email FROM users WHERE id = :i", i=i))
              for i in (2, 3, 4, 5, 6, 7)]
    with central.owner_engine().connect() as connection:
        free = [int(a) for a in connection.execute(text(
            "SELECT id FROM applications WHERE id NOT IN (SELECT application_id FROM "
            "certificate_numbers WHERE application_id IS NOT NULL) ORDER BY id")).scalars()]
    per_thread = 12
    barrier = threading.Barrier(len(emails))
    outcomes: dict[str, list[tuple[str, str]]] = {}
    errors: list[BaseException] = []

    def issue(email: str, index: int) -> None:
        rng = random.Random(index)
        engine = central.owner_engine()
        done: list[tuple[str, str]] = []
        app_ids = free[index::len(emails)]  # each thread issues for applications of its own
        barrier.wait()
        try:
            for k in range(per_thread):
                fate = rng.choice(["issue", "issue", "rollback", "void"])
                app_id = app_ids[k % len(app_ids)]
                with Session(engine) as session:
                    try:
                        with session.begin():
                            number = allocate_certificate_number(
                                session, agency_id=1, application_id=app_id, year=YEAR)
                            if fate == "rollback":  # signing failed inside the transaction
                                raise IssueFailed
                            if fate == "issue":
                                confirm_certificate_number(session, number)
                    except IssueFailed:
                        continue
                    if fate == "void":  # reserved and committed, then not issued
                        with session.begin():
                            void_certificate_number(session, number, "token removed while signing")
                            number_state = "void"
                    else:
                        number_state = "issued"
                    done.append((number, number_state))
                    # release the application for the next allocation on it
                    if number_state == "issued":
                        with session.begin():
                            session.execute(text(
                                "UPDATE certificate_numbers SET application_id = NULL "
                                "WHERE number = :n"), {"n": number})
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        outcomes[email] = done

    threads = [threading.Thread(target=issue, args=(email, i)) for i, email in enumerate(emails)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    handed_out = [n for done in outcomes.values() for n, _ in done]
    assert len(handed_out) == len(set(handed_out))
    with Session(central.owner_engine()) as session:
        rows = session.execute(
            select(CertificateNumber.number, CertificateNumber.serial, CertificateNumber.state,
                   CertificateNumber.void_reason)
            .where(CertificateNumber.agency_id == 1, CertificateNumber.year == YEAR)
            .order_by(CertificateNumber.serial)
        ).all()
        assert [r.serial for r in rows] == list(range(1, len(rows) + 1))
        assert {r.number for r in rows} == set(handed_out)
        assert all(r.state == "issued" or (r.state == "void" and r.void_reason) for r in rows)
        assert rows[0].number == f"IGCC/{YEAR}/0000001"
        assert unexplained_gaps(session, 1, YEAR) == []
        assert stale_reservations(session, 1) == []
    assert len(rows) >= len(emails)  # the test did allocate


def test_numbers_continue_after_the_seeded_ones_and_void_needs_a_reason(
    central: CentralDb,
) -> None:
    engine = central.owner_engine()  # officers' logins reserve through the functions (0004)
    seeded = int(central.scalar("SELECT max(serial) FROM certificate_numbers WHERE year = 2026"))
    app_id = int(central.scalar(
        "SELECT min(id) FROM applications WHERE office_id = 1 AND status = 'approved'"))
    with Session(engine) as session, session.begin():
        number = allocate_certificate_number(session, agency_id=1, application_id=app_id,
                                             year=2026)
    assert number == f"IGCC/2026/{seeded + 1:07d}"
    with Session(engine) as session:
        with pytest.raises(CertificateNumberError, match="already holds"), session.begin():
            allocate_certificate_number(session, agency_id=1, application_id=app_id, year=2026)
        with pytest.raises(CertificateNumberError, match="why"), session.begin():
            void_certificate_number(session, number, "  ")
        with session.begin():
            void_certificate_number(session, number, "exporter withdrew the application")
        with pytest.raises(CertificateNumberError, match="already void"), session.begin():
            void_certificate_number(session, number, "again")
        with session.begin():
            assert unexplained_gaps(session, 1, 2026) == []


def test_numbers_on_the_embedded_sqlite_store(demo_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with demo_engine.connect() as connection:
        a, b = connection.execute(text(
            "SELECT id FROM applications WHERE status = 'approved' ORDER BY id LIMIT 2")).scalars()
    with Session(demo_engine) as session, session.begin():
        first = allocate_certificate_number(session, agency_id=1, application_id=a, year=2031)
        confirm_certificate_number(session, first)
    with Session(demo_engine) as session, session.begin():
        second = allocate_certificate_number(session, agency_id=1, application_id=b, year=2031)
    assert (first, second) == ("IGCC/2031/0000001", "IGCC/2031/0000002")
    with Session(demo_engine) as session, pytest.raises(CertificateNumberError, match="issued"), \
            session.begin():
        void_certificate_number(session, first, "wrong")
