"""The dashboard on a store of 100,000 applications.

The store is SQLite, the engine every desk's dashboard reads (the embedded demo's central
store, and the synced copy of a desk synced with PostgreSQL or through the service): the
demo's seed (2,000 applications with their history and certificates), then 98,000 more
cloned from them in a few bulk ``INSERT ... SELECT`` statements (numbers, times and
offices varied; their certificates spread over the last 30 days; three history events
each), built once per run in a temporary folder.

Keys:
- ``dashboard_ms``: ``load_dashboard`` for the administrator (every office, the e-wallets),
  median of 7 runs after one warm-up;
- ``dashboard_officer_ms``: the same for an officer of one office;
- ``dashboard_gui_stall_ms``: the longest gap between ticks of a 2 ms QTimer on the GUI
  thread while a real DashboardView, already on screen, reads the figures on its worker
  and draws them (the first read, QtCharts loading on the worker and the chart made, and
  four refreshes: the worst of them).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOTAL = 100_000
SEEDED = 2_000


def _columns(connection: Any, table: str) -> list[str]:
    return [row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({table})")]


def build_store(folder: Path, total: int = TOTAL) -> Any:
    """A demo store grown to ``total`` applications; returns its engine."""
    from sqlalchemy import text

    from app.store.demo import create_demo_store

    engine = create_demo_store(folder / "dashboard.sqlite", applications=SEEDED)
    with engine.begin() as c:
        top = c.execute(text("SELECT max(id) FROM applications")).scalar_one()
        base = c.execute(text("SELECT count(*) FROM applications")).scalar_one()
        extra = total - base
        columns = [k for k in _columns(c, "applications") if k != "id"]
        override = {
            "number": "'BENCH-' || printf('%07d', n.i)",
            "office_id": "1 + (n.i % 3)",
            # the clones' times: spread over the last two weeks, minutes apart
            "waiting_since": "datetime(a.waiting_since, '-' || (n.i % 20000) || ' minutes')",
            "submitted_at": "datetime(a.submitted_at, '-' || (n.i % 20000) || ' minutes')",
        }
        select = ", ".join(override.get(k, f"a.{k}") for k in columns)
        c.execute(text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :extra) "
            f"INSERT INTO applications ({', '.join(columns)}) SELECT {select} FROM n "
            "JOIN applications a ON a.id = 1 + (n.i % :base)"), {"extra": extra, "base": base})
        certificate_columns = [k for k in _columns(c, "certificates") if k != "id"]
        override = {
            "number": "'BENCH/' || printf('%07d', a.id)",
            "application_id": "a.id",
            "office_id": "a.office_id",
            "issued_at": "datetime('now', '-' || (a.id % 30) || ' days', "
                         "'-' || (a.id % 1440) || ' minutes')",
            "status": "'valid'",
        }
        select = ", ".join(override.get(k, f"t.{k}") for k in certificate_columns)
        template = c.execute(text("SELECT min(id) FROM certificates")).scalar_one()
        c.execute(text(
            f"INSERT INTO certificates ({', '.join(certificate_columns)}) SELECT {select} "
            "FROM applications a JOIN certificates t ON t.id = :t WHERE a.id > :top "
            "AND a.status IN ('issued', 'superseded', 'cancelled')"), {"t": template, "top": top})
        audit_columns = [k for k in _columns(c, "audit_events") if k != "id"]
        for step, action in enumerate(("application.submit", "application.claim",
                                       "application.approve")):
            override = {"entity_id": "a.id", "action": f"'{action}'",
                        "actor_id": "NULL" if step == 0 else "2 + (a.id % 6)",
                        "at": f"datetime('now', '-' || ((a.id + {step}) % 4000) || ' minutes')"}
            select = ", ".join(override.get(k, f"t.{k}") for k in audit_columns)
            c.execute(text(
                f"INSERT INTO audit_events ({', '.join(audit_columns)}) SELECT {select} "
                "FROM applications a JOIN audit_events t ON t.id = 1 WHERE a.id > :top"),
                {"top": top})
    with engine.connect() as c:
        c.exec_driver_sql("ANALYZE")
        count = c.execute(text("SELECT count(*) FROM applications")).scalar_one()
    assert count == total, count
    return engine


def _median_ms(work: Any, runs: int = 7) -> float:
    work()  # warm-up: caches, the agreements' reference data
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def gui_stall_ms(engine: Any, user_id: int, refreshes: int = 4) -> float:
    """The longest GUI-thread gap while a DashboardView reads and shows the figures: the
    view is shown (and painted) empty first, then the first read (QtCharts loads on the
    worker, the chart is made) and ``refreshes`` more, each until the chart is drawn."""
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from app.services.dashboard import load_dashboard
    from app.views.dashboard import DashboardView

    app = QApplication.instance() or QApplication([])
    view = DashboardView(None)
    view.resize(1440, 900)
    view.show()
    _spin(app, 0.3)  # the empty page is on screen
    view.loader = lambda: load_dashboard(engine, user_id)
    clock = QElapsedTimer()
    gaps: list[float] = []
    last = [0.0]

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(2)
    heartbeat.timeout.connect(tick)
    worst = 0.0
    for _attempt in range(refreshes + 1):
        done = [False]

        def loaded(flag: list[bool] = done) -> None:
            flag[0] = True

        view.loaded.connect(loaded)
        gaps.clear()
        clock.start()
        last[0] = 0.0
        heartbeat.start()
        view.refresh()
        deadline = time.perf_counter() + 60
        while not done[0] and time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.0005)
        _spin(app, 0.2)  # the frames drawn after the data arrived count too
        heartbeat.stop()
        view.loaded.disconnect(loaded)
        if not done[0]:
            raise RuntimeError("the dashboard did not load within a minute")
        worst = max(worst, max(gaps, default=0.0))
    view.close()
    view.deleteLater()
    app.processEvents()
    return round(worst, 1)


def _spin(app: Any, seconds: float) -> None:
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        app.processEvents()
        time.sleep(0.0005)


def run() -> dict[str, float]:
    from sqlalchemy import text

    from app.services.dashboard import load_dashboard

    folder = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    try:
        started = time.perf_counter()
        engine = build_store(folder)
        print(f"bench dashboard: store of {TOTAL:,} applications built in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
        with engine.connect() as c:
            admin = c.execute(text("SELECT id FROM users WHERE role = 'administrator'")).scalar()
            officer = c.execute(text("SELECT user_id FROM officer_offices GROUP BY user_id "
                                     "HAVING count(*) = 1 ORDER BY user_id")).scalar()
        result = {
            "dashboard_ms": _median_ms(lambda: load_dashboard(engine, admin)),
            "dashboard_officer_ms": _median_ms(lambda: load_dashboard(engine, officer)),
            "dashboard_gui_stall_ms": gui_stall_ms(engine, admin),
        }
        engine.dispose()
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    import json
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    print(json.dumps(run(), indent=2))
