"""The legacy migration (``origin-desk import-legacy``) on 100,000 rows.

Keys returned by :func:`run`:

* ``legacy_import_rows_per_s``: rows of a 100,000-row legacy export (99,997 certificates,
  three office balances) checked and imported per second into the embedded demo store
  (SQLite), batches of 1,000 rows, one transaction each, as its administrator.
* ``legacy_import_again_s``: the same file again (nothing changes: every row already
  migrated), in seconds.
* ``legacy_import_pg_rows_per_s``: the same export imported into a PostgreSQL store through
  the administrator's own login (row-level security and the insert guard of revision
  0013 on every row).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROWS = 100_000
HEADER = ("record,number,agency,office,exporter_iec,exporter_name,consignee,destination,"
          "agreement,form,issued_on,status,superseded_by,goods,balance,as_of")


def write_export(path: Path, rows: int = ROWS) -> Path:
    offices = ("MUM", "DEL", "CHE")
    lines = [HEADER]
    for i in range(rows - 3):
        office = offices[i % 3]
        status, by = (("superseded", f"{office}/CO/2021/{i + 1:07d}") if i % 50 == 0 else
                      ("cancelled", "") if i % 37 == 0 else ("valid", ""))
        lines.append(
            f"certificate,{office}/CO/2020/{i:07d},IGCC,{office},AAACR{i % 10000:04d}K,"
            f"Exporter {i % 977} Pvt Ltd,Consignee {i % 613} LLC,AE,SAFTA,Form A,"
            f"2020-{1 + i % 12:02d}-{1 + i % 28:02d},{status},{by},"
            f"Cotton yarn lot {i} (HS 520512),,")
    for office in offices:
        lines.append(f"balance,,IGCC,{office},,,,,,,,,,,250000.00,2024-12-20")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import(engine, path: Path) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    from app.services.admin import AgencyAdmin
    from app.services.legacy_import import LegacyImport

    admin = AgencyAdmin.for_email(engine, "admin@igcc.org.in")
    started = time.perf_counter()
    report = LegacyImport(admin).run(path)
    return time.perf_counter() - started, report


def run() -> dict[str, float]:
    from sqlalchemy import create_engine

    from app.store.central import engine_for_url
    from app.store.demo import create_demo_store
    from app.store.roles import grant_user_role
    from app.store.seeding import seed_central
    from tests.support.postgres import PostgresServer

    with tempfile.TemporaryDirectory(prefix="bench-legacy-") as tmp:
        work = Path(tmp)
        path = write_export(work / "legacy.csv")
        engine = create_demo_store(work / "demo.sqlite")
        first, report = _import(engine, path)
        assert report.new == ROWS and not report.rejected, report.summary()  # type: ignore[attr-defined]
        again, report = _import(engine, path)
        assert report.new == 0 and report.already == ROWS, report.summary()  # type: ignore[attr-defined]
        engine.dispose()

        with PostgresServer() as server:
            server.create_database("bench")
            owner = create_engine(server.url("bench"))
            seed_central(owner, today=dt.date.today(), applications=200)
            with owner.begin() as connection:
                role = grant_user_role(connection, "admin@igcc.org.in").role_name
            owner.dispose()
            admin_engine = engine_for_url(server.url("bench", user=role))
            pg, report = _import(admin_engine, path)
            assert report.new == ROWS and not report.rejected, report.summary()  # type: ignore[attr-defined]
            admin_engine.dispose()
    return {"legacy_import_rows_per_s": round(ROWS / first),
            "legacy_import_again_s": round(again, 2),
            "legacy_import_pg_rows_per_s": round(ROWS / pg)}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
