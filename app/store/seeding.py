"""Seeding a central store (PostgreSQL or SQLite) with the demo's rows, quickly.

The rows go in with Core bulk inserts into the initial revision's tables, before the
change-sequence triggers exist; the later revisions then take the seed's numbering up.
On PostgreSQL the id sequences are moved past the seeded ids.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, text

from app.store.schema import upgrade


def seed_central(engine: Engine, *, today: dt.date, applications: int,
                 seed: int | None = None) -> None:
    """Migrate an empty store, seed ``applications`` demo applications, migrate to head.
    Every office's e-wallet opens full (the embedded demo's short office is left out)."""
    from app.store.demo import DEMO_SEED, SEED_REVISION, seed_demo

    upgrade(engine, SEED_REVISION)
    seed_demo(engine, today=today, applications=applications,
              seed=DEMO_SEED if seed is None else seed, short_office=None)
    reset_id_sequences(engine)
    upgrade(engine)
    from app.store.demo_foreign import seed_foreign_certificates

    seed_foreign_certificates(engine, today)  # revision 0010's tables: after the upgrade
    reset_id_sequences(engine)


def reset_id_sequences(engine: Engine) -> None:
    """After inserts with explicit ids, let PostgreSQL's serial sequences continue past them."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as connection:
        rows = connection.execute(text(
            "SELECT c.table_name FROM information_schema.columns c "
            "WHERE c.table_schema = 'public' AND c.column_name = 'id' "
            "AND pg_get_serial_sequence(c.table_name, 'id') IS NOT NULL"
        )).scalars().all()
        for table in rows:
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            ))
