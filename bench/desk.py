"""Start-up time against a bare PySide6 window, and a 100,000-application queue.

Keys: startup_ms, startup_bare_qt_ms, startup_ratio_vs_bare_qt, queue_load_100k_ms,
queue_filter_100k_ms, rss_100k_mb; ready_ms (process start to the queue's rows painted
after an automatic sign-in of the first officer, a later start: the demo store and token
exist), ready_first_start_ms (the same on a fresh data directory: the demo store is made,
its token prepared in the background behind the sign-in), ready_ratio_vs_bare_qt
(ready_ms over the bare-Qt window's first paint, measured in the same run).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "bench"


def _time_probe(which: str, env: dict[str, str], until: str = "shown") -> float:
    """Milliseconds from starting the process to the probe's line ``until`` ('shown': its
    first window painted; 'ready': the queue's rows painted after sign-in)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.startup_probe", which],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    while line and line.strip() != until:
        line = process.stdout.readline()
    elapsed = (time.perf_counter() - started) * 1000
    _out, err = process.communicate(timeout=120)
    if line.strip() != until:
        raise RuntimeError(f"start-up probe '{which}' failed: {err[-800:]}")
    return elapsed


def startup(home: Path) -> dict[str, float]:
    from app.store.demo import create_demo_store

    create_demo_store(home / "demo-central.sqlite").dispose()
    env = {**os.environ, "ORIGIN_DESK_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    bare, ours = [], []
    _time_probe("bare", env)  # warm the file cache for both
    _time_probe("app", env)
    for _ in range(5):
        bare.append(_time_probe("bare", env))
        ours.append(_time_probe("app", env))
    b, o = statistics.median(bare), statistics.median(ours)
    return {"startup_ms": round(o, 1), "startup_bare_qt_ms": round(b, 1),
            "startup_ratio_vs_bare_qt": round(o / b, 3)}


def ready(runs: int = 3) -> dict[str, float]:
    """Time to a usable queue: a first start on a fresh data directory (each run its own),
    then later starts on the last one, against the bare-Qt probe of the same run."""
    base = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    base.pop("SOFTHSM2_CONF", None)
    first, later, bare = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        _time_probe("bare", base)  # warm the file cache
        for run in range(runs):
            home = Path(folder) / f"home-{run}"
            home.mkdir()
            env = {**base, "ORIGIN_DESK_HOME": str(home)}
            first.append(_time_probe("ready", env, until="ready"))
        env = {**base, "ORIGIN_DESK_HOME": str(Path(folder) / f"home-{runs - 1}")}
        _time_probe("ready", env, until="ready")  # the token made by the first start
        for _ in range(max(runs, 5)):
            bare.append(_time_probe("bare", base))
            later.append(_time_probe("ready", env, until="ready"))
    b, r = statistics.median(bare), statistics.median(later)
    return {"ready_ms": round(r, 1), "ready_first_start_ms": round(statistics.median(first), 1),
            "ready_bare_qt_ms": round(b, 1), "ready_ratio_vs_bare_qt": round(r / b, 3)}


def big_store(path: Path, total: int = 100_000) -> None:
    """The demo seeded, then its applications copied until there are ``total``."""
    from app.store.central import sqlite_engine
    from app.store.demo import create_demo_store

    if path.exists():
        return
    tmp = path.with_suffix(".tmp")
    create_demo_store(tmp, today=dt.date(2026, 11, 22)).dispose()
    engine = sqlite_engine(tmp)
    columns = [c for c in _columns(engine) if c not in ("id", "number")]
    names = ", ".join(columns)
    with engine.begin() as connection:
        base = connection.execute(text("select count(*) from applications")).scalar_one()
        copies = -(-total // base) - 1
        for k in range(1, copies + 1):
            connection.execute(text(
                f"insert into applications (id, number, {names}) "
                f"select id + {k * base}, 'APP-2026-' || printf('%06d', id + {k * base}), {names} "
                f"from applications where id <= {base}"
            ))
        connection.execute(text(f"delete from applications where id > {total}"))
    engine.dispose()
    tmp.rename(path)


def _columns(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return [row[1] for row in connection.execute(text("pragma table_info(applications)"))]


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def queue(path: Path) -> dict[str, float]:
    from PySide6.QtWidgets import QApplication

    from app.services.queue import QueueQuery, load_queue
    from app.store.central import sqlite_engine
    from app.views.queue_model import OfficeQueueModel

    app = QApplication.instance() or QApplication([])
    engine = sqlite_engine(path)
    from PySide6.QtWidgets import QTableView

    view = QTableView()
    model = OfficeQueueModel(24)
    view.setModel(model)
    view.resize(1200, 800)
    view.show()
    load_times, filter_times = [], []
    for attempt in range(3):
        started = time.perf_counter()
        rows = load_queue(engine, QueueQuery())
        model.set_rows(rows)
        app.processEvents()
        load_times.append((time.perf_counter() - started) * 1000)
        if attempt == 0:  # the desk with its queue shown, before any refresh
            memory = rss_mb()
            refresh_memory = memory
        else:
            refresh_memory = rss_mb()
        del rows
    assert model.rowCount() == 100_000, model.rowCount()
    for needle in ("aaa", "8471", "saurashtra", "app-2026-0999", "ganga"):
        started = time.perf_counter()
        model.set_filter_text(needle)
        app.processEvents()
        filter_times.append((time.perf_counter() - started) * 1000)
        model.set_filter_text("")
    model.set_filter_text("")
    app.processEvents()
    engine.dispose()
    view.close()
    return {"queue_load_100k_ms": round(statistics.median(load_times), 1),
            "queue_filter_100k_ms": round(statistics.median(filter_times), 1),
            "rss_100k_mb": round(memory, 1),
            "rss_100k_after_refreshes_mb": round(refresh_memory, 1)}


def run() -> dict[str, float]:
    BUILD.mkdir(parents=True, exist_ok=True)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as home:
        results.update(startup(Path(home)))
    results.update(ready())
    store = BUILD / "queue-100k.sqlite"
    big_store(store)
    # in a fresh process, so that the resident memory is the desk's and not the benchmark's
    child = subprocess.run(
        [sys.executable, "-m", "bench.desk", str(store)], cwd=ROOT, capture_output=True,
        text=True, timeout=600, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    if child.returncode != 0:
        raise RuntimeError(f"queue benchmark failed: {child.stderr[-800:]}")
    results.update(json.loads(child.stdout))
    return results


if __name__ == "__main__":
    print(json.dumps(queue(Path(sys.argv[1]))))
