"""Issuing through a synced desk on PostgreSQL against the embedded desk, in the same run.

``synced_issue_ms_per_certificate``: a batch of 20 issued from a synced desk (local copy +
sync) whose central store is PostgreSQL reached through the officer's own login, so the
reservation and the record run in the store's SECURITY DEFINER functions, and the local
copy is refreshed at the end of the batch. ``embedded_issue_ms_per_certificate``: the same
batch size on the embedded SQLite store. Both use the same SoftHSM2 token, one PIN per
batch (``Issuer.run_batch``, what Ctrl+I runs); the figure is the batch's wall time / 20.
``synced_issue_ratio_vs_embedded``: target ≤ 1.5.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

BATCH = 20
ROUNDS = 2
_PIN = "246810"


def _approve_for(engine, email: str, count: int) -> tuple[int, list[int]]:  # type: ignore[no-untyped-def]
    """Make ``count`` applications of the officer's first office approved (bench data)."""
    from sqlalchemy import text, update

    from app.models import Application, ApplicationStatus

    with engine.begin() as connection:
        user_id, office_id = connection.execute(text(
            "SELECT u.id, m.office_id FROM users u JOIN officer_offices m ON m.user_id = u.id "
            "WHERE u.email = :e ORDER BY m.office_id LIMIT 1"), {"e": email}).one()
        connection.execute(text("UPDATE offices SET ewallet_enabled = true WHERE id = :o"),
                           {"o": office_id})
        # not in-lieu or back-to-back: made approved here, they would lack a valid
        # original or a foreign certificate balance to draw on, and be refused at issue
        ids = list(connection.execute(text(
            "SELECT id FROM applications WHERE office_id = :o "
            "AND kind NOT IN ('in_lieu', 'back_to_back') AND "
            "status IN ('approved', 'submitted') ORDER BY status = 'approved' DESC, id "
            "LIMIT :n"), {"o": office_id, "n": count}).scalars())
        connection.execute(update(Application).where(Application.id.in_(ids))
                           .values(status=ApplicationStatus.APPROVED))
    return user_id, ids


def _batch_ms(issuer, ids: list[int]) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    outcome = issuer.run_batch(ids, lambda info, warnings: _PIN)
    elapsed = (time.perf_counter() - started) * 1000
    assert len(outcome.done) == len(ids), f"{outcome.summary()}: {outcome.failed}"
    return elapsed / len(ids)


def run() -> dict[str, float]:
    from sqlalchemy import create_engine, text

    from app.config import Config
    from app.services.central import SqlCentral
    from app.services.desk import Desk
    from app.services.offline_desk import LocalDesk
    from app.services.sync import SyncService
    from app.signing.certificates import CertificateInfo
    from app.store.central import engine_for_url, sqlite_engine
    from app.store.demo import create_demo_store
    from app.store.local import LocalStore
    from app.store.roles import grant_user_role
    from app.store.seeding import seed_central
    from tests.support.pki import KeySpec, SoftHsm, make_test_ca
    from tests.support.postgres import PostgresServer

    saved = os.environ.get("SOFTHSM2_CONF")
    work = Path(tempfile.mkdtemp(prefix="origin-desk-bench-synced-"))
    try:
        hsm = SoftHsm(work / "hsm")
        hsm.activate()
        ca = make_test_ca("Bench Synced")
        token = hsm.make_token("BENCH-SYNCED", ca, [KeySpec("sign", "rsa")], pin=_PIN)
        cert = CertificateInfo.from_der(token.certs["sign"].der, key_id=token.certs["sign"].key_id)
        need = BATCH * (ROUNDS + 1)

        # the embedded desk
        home = work / "embedded"
        home.mkdir()
        ca.write_trust_dir(home / "trust")
        config = Config(data_dir=home, pkcs11_modules=[hsm.module], token_label="BENCH-SYNCED")
        create_demo_store(config.demo_store_path).dispose()
        engine = sqlite_engine(config.demo_store_path)
        email = engine.connect().execute(text(
            "SELECT u.email FROM users u JOIN officer_offices m ON m.user_id = u.id "
            "WHERE u.role = 'officer' AND u.status = 'active' ORDER BY u.id LIMIT 1")).scalar_one()
        user_id, ids = _approve_for(engine, email, need)
        desk = Desk(engine, config, central=SqlCentral(engine, config))
        desk.sign_in(email)
        desk.dsc().central.register_dsc(user_id, cert, [ca.sub_der])
        issuer = desk.issuer()
        _batch_ms(issuer, ids[:BATCH])  # warm-up: imports, fonts, first CMS
        embedded = [_batch_ms(issuer, ids[BATCH * (k + 1):BATCH * (k + 2)]) for k in range(ROUNDS)]
        engine.dispose()

        # the synced desk on PostgreSQL, through the officer's own login
        with PostgresServer() as server:
            server.create_database("bench")
            owner = create_engine(server.url("bench"))
            seed_central(owner, today=dt.date.today(), applications=1200)
            with owner.begin() as connection:
                email = connection.execute(text(
                    "SELECT u.email FROM users u JOIN officer_offices m ON m.user_id = u.id "
                    "WHERE u.role = 'officer' AND u.status = 'active' ORDER BY u.id "
                    "LIMIT 1")).scalar_one()
                role = grant_user_role(connection, email).role_name
            user_id, ids = _approve_for(owner, email, need)
            home = work / "synced"
            home.mkdir()
            ca.write_trust_dir(home / "trust")
            url = server.url("bench", user=role)
            config = Config(data_dir=home, central_url=url, pkcs11_modules=[hsm.module],
                            token_label="BENCH-SYNCED")
            local = LocalStore(config.local_store_path)
            link = SqlCentral(engine_for_url(url), config)
            synced = LocalDesk(local, config, SyncService(local, link, email=email))
            synced.sign_in(email)
            synced.dsc().central.register_dsc(user_id, cert, [ca.sub_der])
            issuer = synced.issuer()
            _batch_ms(issuer, ids[:BATCH])
            through = [_batch_ms(issuer, ids[BATCH * (k + 1):BATCH * (k + 2)])
                       for k in range(ROUNDS)]
            local.close()
            link.engine.dispose()
            owner.dispose()
    finally:
        if saved is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = saved
    synced_ms = statistics.median(through)
    embedded_ms = statistics.median(embedded)
    return {
        "synced_issue_ms_per_certificate": round(synced_ms, 2),
        "embedded_issue_ms_per_certificate": round(embedded_ms, 2),
        "synced_issue_ratio_vs_embedded": round(synced_ms / embedded_ms, 2),
    }
