"""Desks for the sync tests: a local store and a sync service per officer."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from app.config import Config
from app.services.offline_desk import LocalDesk
from app.services.sync import SyncService
from app.store.central import engine_for_url
from app.store.link import SqlCentralLink
from app.store.local import LocalStore
from tests.store.conftest import CentralDb
from tests.support.postgres import free_port


def email_of(db: CentralDb, user_id: int) -> str:
    return str(db.scalar("SELECT email FROM users WHERE id = :i", i=user_id))


def sync_service(db: CentralDb, user_id: int, path: Path) -> SyncService:
    email = email_of(db, user_id)
    return SyncService(LocalStore(path), SqlCentralLink(db.engine_for(email)), email=email)


def local_desk(db: CentralDb, user_id: int, path: Path) -> LocalDesk:
    service = sync_service(db, user_id, path)
    desk = LocalDesk(service.local, Config(data_dir=path.parent, central_url=db.url), service)
    desk.sign_in(service.email or "")
    return desk


def unreachable_link(db: CentralDb) -> SqlCentralLink:
    """A link to a port nobody listens on: the connection is gone."""
    engine = engine_for_url(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/{db.name}")
    db.engines.append(engine)
    return SqlCentralLink(engine)


def central_audit(db: CentralDb, application_id: int, action: str) -> int:
    with db.owner_engine().connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM audit_events WHERE entity_type = 'application' "
            "AND entity_id = :a AND action = :action"),
            {"a": application_id, "action": f"application.{action}"}).scalar_one())


def first_submitted(db: CentralDb, office_id: int, skip: int = 0) -> int:
    with db.owner_engine().connect() as connection:
        return int(connection.execute(text(
            "SELECT id FROM applications WHERE office_id = :o AND status = 'submitted' "
            "ORDER BY id LIMIT 1 OFFSET :s"), {"o": office_id, "s": skip}).scalar_one())
