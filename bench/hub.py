"""The central service (``origin-desk serve`` in a child process, TLS on 127.0.0.1) in
front of a throwaway PostgreSQL seeded as in ``bench.sync`` (an office of 10,000
applications).

Keys:
- ``hub_sync_10k_ms`` / ``direct_sync_10k_ms`` / ``hub_sync_ratio_vs_direct``: the initial
  sync of the 10,000-application office into an empty local store, through the service vs
  through the officer's own PostgreSQL login, same run (median of 3 each), both links
  connected first; ``hub_sign_in_ms``: the sign-in before it (one argon2id check).
- ``hub_verify_per_s`` / ``bare_per_s`` / ``hub_verify_ratio_vs_bare``: public verify
  look-ups (``GET /api/v1/verify``) per second against ``GET /healthz`` of the same server,
  32 concurrent keep-alive clients, 5 s each.
- ``hub_50_desks_p99_ms``, ``hub_50_desks_errors``, ``hub_50_desks_requests``: 50
  simulated desks (each its own session) doing an incremental sync (hello + pull) every
  2 s and, every fifth sync, a claim and its release, for 60 s: 25 syncs a second, twice
  the national load of 650 desks syncing every 60 s (``docs/SCALE.md``). p99 is over
  every request of every desk.
"""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "bench password 2026"
VERIFY_CLIENTS = 32
VERIFY_SECONDS = 5.0
DESKS = 50
DESK_SECONDS = 60.0
DESK_INTERVAL = 2.0  # seconds between one desk's syncs (a real desk: 60)


def run() -> dict[str, float]:
    from bench.sync import OFFICE_APPS, _seed
    from tests.support.hub_server import HubProcess, free_port, hub_config
    from tests.support.postgres import PostgresServer

    work = Path(tempfile.mkdtemp(prefix="origin-desk-bench-hub-"))
    results: dict[str, float] = {}
    try:
        with PostgresServer() as server:
            server.create_database("bench")
            email = _seed(server.url("bench"))
            _prepare(server.url("bench"))
            hub = HubProcess(work / "hub", hub_config(
                work / "hub", server.url("bench", user="od_bench_hub"), free_port(),
                limits={"verify_per_minute": 100_000, "api_per_minute": 1_000_000},
                sign_in={"per_minute": 1000}))
            hub.start()
            try:
                results.update(_sync_ratio(server, hub, email, work, OFFICE_APPS))
                results.update(_verify_ratio(server, hub))
                results.update(_desks(server, hub))
            finally:
                hub.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def _prepare(url: str) -> None:
    """The service's login, and a password for every active user."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from app.services.credentials import set_password
    from app.store.roles import grant_hub_role

    engine = create_engine(url)
    with engine.begin() as connection:
        grant_hub_role(connection, "od_bench_hub")
    with Session(engine) as session:
        ids = session.execute(text("SELECT id FROM users WHERE status = 'active'")).scalars()
        for user_id in list(ids):
            set_password(session, user_id, PASSWORD, initial=False)
        session.commit()
    engine.dispose()


def _sync_ratio(server: Any, hub: Any, email: str, work: Path, expected: int) -> dict[str, float]:
    from app.config import Config
    from app.services.central import SqlCentral
    from app.services.central_http import HttpCentral
    from app.services.sync import SyncService
    from app.store.central import engine_for_url
    from app.store.local import LocalStore

    role = server.execute("SELECT role_name FROM db_logins WHERE user_id = 2", "bench")[0][0]
    engine = engine_for_url(server.url("bench", user=role))
    config = Config(data_dir=work)
    direct, through, sign_ins = [], [], []
    for k in range(3):
        # both links connected and signed in first: the figure compares the sync itself
        # (sign-in, one argon2id check, is hub_sign_in_ms)
        direct_link = SqlCentral(engine, config)
        direct_link.hello(email)
        hub_link = HttpCentral(hub.url, ca_file=str(hub.ca), ask_password=lambda _p: PASSWORD)
        started = time.perf_counter()
        hub_link.hello(email)
        sign_ins.append((time.perf_counter() - started) * 1000)
        for name, link, times in (("direct", direct_link, direct), ("hub", hub_link, through)):
            local = LocalStore(work / f"{name}{k}.sqlite")
            service = SyncService(local, link, email=email)
            started = time.perf_counter()
            report = service.sync_now()
            times.append((time.perf_counter() - started) * 1000)
            assert report.online and report.pulled_applications == expected, (name, report)
            local.close()
            if isinstance(link, HttpCentral):
                link.close()
    engine.dispose()
    hub_ms, direct_ms = statistics.median(through), statistics.median(direct)
    return {"hub_sync_10k_ms": round(hub_ms, 1), "direct_sync_10k_ms": round(direct_ms, 1),
            "hub_sync_ratio_vs_direct": round(hub_ms / direct_ms, 3),
            "hub_sign_in_ms": round(statistics.median(sign_ins), 1)}


def _hammer(url: str, ca: Path, paths: list[str], clients: int, seconds: float) -> tuple[int, int]:
    """Requests answered 200 and failures, ``clients`` threads for ``seconds``."""
    import httpx

    done = [0] * clients
    failed = [0] * clients
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=str(ca)), timeout=30) as http:
            k = index
            while time.monotonic() < stop:
                try:
                    ok = http.get(paths[k % len(paths)]).status_code == 200
                except httpx.HTTPError:
                    ok = False
                done[index] += ok
                failed[index] += not ok
                k += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done), sum(failed)


def _verify_ratio(server: Any, hub: Any) -> dict[str, float]:
    from urllib.parse import urlencode

    rows = server.execute(
        "SELECT c.number, a.code FROM certificates c JOIN offices o ON o.id = c.office_id "
        "JOIN agencies a ON a.id = o.agency_id ORDER BY c.id LIMIT 200", "bench")
    assert rows, "the seeded store has no certificates to verify"
    paths = ["/api/v1/verify?" + urlencode({"number": n, "agency": a}) for n, a in rows]
    bare, bare_failed = _hammer(hub.url, hub.ca, ["/healthz"], VERIFY_CLIENTS, VERIFY_SECONDS)
    verify, verify_failed = _hammer(hub.url, hub.ca, paths, VERIFY_CLIENTS, VERIFY_SECONDS)
    if verify_failed or bare_failed:
        raise RuntimeError(f"verify look-ups failed: {verify_failed}, bare: {bare_failed}")
    return {"hub_verify_per_s": round(verify / VERIFY_SECONDS, 1),
            "bare_per_s": round(bare / VERIFY_SECONDS, 1),
            "hub_verify_ratio_vs_bare": round(verify / bare, 3)}


def _desks(server: Any, hub: Any) -> dict[str, float]:
    from app.services.central_http import HttpCentral
    from app.store.operations import Operation
    from app.store.pull_sql import ApplicationFilter

    officers = server.execute(
        "SELECT u.email, m.office_id FROM users u JOIN officer_offices m ON m.user_id = u.id "
        "WHERE u.status = 'active' AND u.role = 'officer' ORDER BY u.id, m.office_id", "bench")
    cursors = dict(server.execute(
        "SELECT office_id, max(change_seq) FROM applications GROUP BY office_id", "bench"))
    # one submitted application per desk to claim and release
    submitted = server.execute(
        "SELECT id, office_id, version FROM applications WHERE status = 'submitted' "
        "ORDER BY id", "bench")
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    taken: set[int] = set()
    stop = [0.0]
    signed_in = threading.Barrier(  # the 60 s start when every desk has signed in
        DESKS + 1, action=lambda: stop.__setitem__(0, time.monotonic() + DESK_SECONDS))

    def timed(work: Any) -> Any:
        started = time.perf_counter()
        try:
            return work()
        finally:
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    def desk(index: int) -> None:
        email, office = officers[index % len(officers)]
        with lock:
            mine = next(((i, v) for i, o, v in submitted if o == office and i not in taken),
                        None)
            if mine is not None:
                taken.add(mine[0])
        link = HttpCentral(hub.url, ca_file=str(hub.ca), ask_password=lambda _p: PASSWORD)
        try:
            try:  # sign-in (argon2id) is not part of the steady state measured
                info = link.hello(email)
            finally:
                signed_in.wait()
            filter_ = ApplicationFilter(info.office_ids,
                                        {o: int(cursors.get(o, 0)) for o in info.office_ids})
            rounds = 0
            next_sync = time.monotonic() + DESK_INTERVAL * index / DESKS  # spread the starts
            while True:
                time.sleep(max(0.0, next_sync - time.monotonic()))
                if time.monotonic() >= stop[0]:
                    break
                next_sync += DESK_INTERVAL
                timed(lambda: link.hello(email))
                timed(lambda: link.pull(info, filter_))
                rounds += 1
                if mine is not None and rounds % 5 == 0:
                    app_id, version = mine
                    for action in ("claim", "release"):
                        op = Operation(str(uuid.uuid4()), app_id, action, None, version,
                                       dt.datetime.now(dt.UTC))
                        [result] = timed(lambda op=op: link.push(info.user_id, [op]))
                        if not result.applied:
                            raise RuntimeError(f"{action} refused: {result.reason}")
                        version = result.version_after
                    mine = (app_id, version)
        except Exception as exc:  # noqa: BLE001 - counted: the figure is "errors: 0"
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            link.close()

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(DESKS)]
    for t in threads:
        t.start()
    signed_in.wait()
    for t in threads:
        t.join()
    if errors:
        print("bench.hub: desk errors: " + "; ".join(errors[:3]), file=sys.stderr)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
    return {"hub_50_desks_p99_ms": round(p99, 1), "hub_50_desks_errors": len(errors),
            "hub_50_desks_requests": len(latencies)}
