"""Sync against a throwaway PostgreSQL (started and stopped here).

Keys: sync_initial_10k_ms (an office queue of 10,000 applications with their goods lines,
cost sheets, documents and history, into an empty local store, through the officer's own
login with row-level security), sync_ratio_vs_select (to a plain SELECT of the same rows
of the same tables through the same login, in the same run), sync_incremental_ms (nothing
new), push_1000_ms (1,000 outbox operations: 500 claims, then 500 queries or approvals).
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OFFICE_APPS = 10_000
TOTAL_APPS = 11_000
TODAY = dt.date(2026, 11, 22)


def _seed(url: str) -> str:
    """Seed the store; office 1 (MUM) gets 10,000 applications. Returns user 2's e-mail."""
    from sqlalchemy import create_engine, text

    from app.store.demo import SEED_REVISION, seed_demo
    from app.store.roles import grant_user_role
    from app.store.schema import upgrade
    from app.store.seeding import reset_id_sequences

    engine = create_engine(url)
    upgrade(engine, SEED_REVISION)
    seed_demo(engine, today=TODAY, applications=TOTAL_APPS)
    with engine.begin() as connection:
        connection.execute(text("UPDATE applications SET office_id = CASE WHEN id <= :n "
                                "THEN 1 ELSE 2 END"), {"n": OFFICE_APPS})
    reset_id_sequences(engine)
    upgrade(engine)
    with engine.begin() as connection:
        email = connection.execute(text("SELECT email FROM users WHERE id = 2")).scalar_one()
        grant_user_role(connection, email)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return str(email)


def _plain_select(engine, statements: list[str]) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        for sql in statements:
            cursor.execute(sql)
            cursor.fetchall()
        cursor.close()
        connection.rollback()
    return (time.perf_counter() - started) * 1000


def run() -> dict[str, float]:
    from sqlalchemy import text

    from app.models.enums import Action
    from app.services.sync import SyncService
    from app.store.central import engine_for_url
    from app.store.link import SqlCentralLink
    from app.store.local import LocalStore
    from app.store.pull_sql import ApplicationFilter
    from tests.support.postgres import PostgresServer

    work = Path(tempfile.mkdtemp(prefix="origin-desk-bench-sync-"))
    try:
        with PostgresServer() as server:
            server.create_database("bench")
            email = _seed(server.url("bench"))
            role = server.execute("SELECT role_name FROM db_logins WHERE user_id = 2",
                                  "bench")[0][0]
            engine = engine_for_url(server.url("bench", user=role))
            link = SqlCentralLink(engine)
            info = link.hello(email)
            assert info.office_ids == (1,), info.office_ids
            filter_ = ApplicationFilter(info.office_ids, {})
            plain = _plain_statements(link, filter_, info)

            initial, selects = [], []
            for k in range(5):
                selects.append(_plain_select(engine, plain))
                local = LocalStore(work / f"initial{k}.sqlite")
                service = SyncService(local, link, email=email)
                started = time.perf_counter()
                report = service.sync_now()
                initial.append((time.perf_counter() - started) * 1000)
                assert report.online and report.pulled_applications == OFFICE_APPS, report
                if k < 4:
                    local.close()
            incremental = []
            for _ in range(7):
                started = time.perf_counter()
                report = service.sync_now()
                incremental.append((time.perf_counter() - started) * 1000)
                assert report.pulled_applications == 0
            # 1,000 outbox operations: claim 500 submitted applications, then decide them
            with local.engine.connect() as connection:
                ids = connection.execute(text(
                    "SELECT id FROM applications WHERE status IN ('submitted', 'resubmitted') "
                    "ORDER BY id LIMIT 500")).scalars().all()
                versions = dict(connection.execute(text(
                    "SELECT id, version FROM applications")).tuples().all())
                numbers = dict(connection.execute(text(
                    "SELECT id, number FROM applications")).tuples().all())
            assert len(ids) == 500, len(ids)
            with local.engine.begin() as connection:
                for app_id in ids:
                    LocalStore.enqueue(connection, user_id=info.user_id, application_id=app_id,
                                       application_number=numbers[app_id],
                                       action=Action.CLAIM.value, text=None,
                                       expected_version=versions[app_id])
                for k, app_id in enumerate(ids):
                    action = Action.RETURN if k % 2 else Action.APPROVE
                    LocalStore.enqueue(connection, user_id=info.user_id, application_id=app_id,
                                       application_number=numbers[app_id], action=action.value,
                                       text="Please upload the signed invoice." if k % 2 else None,
                                       expected_version=versions[app_id] + 1)
            started = time.perf_counter()
            pushed = service._push(info, lambda _m: None,
                                   {"pushed": 0, "applied": 0, "rejected": 0}, [])
            push_ms = (time.perf_counter() - started) * 1000
            decided = server.execute(
                "SELECT outcome, count(*) FROM applied_operations GROUP BY outcome", "bench")
            applied = dict(decided).get("applied", 0)
            if applied < 950:
                raise RuntimeError(f"push applied only {applied} of 1000: {decided}")
            del pushed
            local.close()
            engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    initial_ms, select_ms = statistics.median(initial), statistics.median(selects)
    return {
        "sync_initial_10k_ms": round(initial_ms, 1),
        "sync_select_10k_ms": round(select_ms, 1),
        "sync_ratio_vs_select": round(initial_ms / select_ms, 3),
        "sync_incremental_ms": round(statistics.median(incremental), 1),
        "push_1000_ms": round(push_ms, 1),
    }


def _plain_statements(link, filter_, info) -> list[str]:  # type: ignore[no-untyped-def]
    """The pull's statements with every column as stored (no casts): a plain SELECT."""
    from app.store.pull_sql import (
        application_statement,
        reference_statements,
        related_statements,
    )

    with link.engine.connect() as connection:
        ids = connection.exec_driver_sql(
            "SELECT id, exporter_id, applicant_id FROM applications WHERE office_id IN "
            f"({', '.join(map(str, info.office_ids))})").all()
    statements = [application_statement(link.tables, "sqlite", filter_)]
    statements += [sql for _n, sql in reference_statements(link.tables, "sqlite", info.agency_id)]
    statements += [sql for _n, sql in related_statements(
        link.tables, "sqlite", [r[0] for r in ids], [r[1] for r in ids], [r[2] for r in ids])]
    return statements


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
