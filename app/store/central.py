"""Opening the central store: the embedded SQLite demo file or a configured SQLAlchemy URL."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.config import Config
from app.store.connection import AskPassword, engine_options, url_with_password


def sqlite_engine(path: Path | str, *, echo: bool = False) -> Engine:
    """A SQLite engine with WAL, foreign keys on, and a file readable by its owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.touch(mode=0o600)
    os.chmod(path, 0o600)
    engine = create_engine(f"sqlite:///{path}", echo=echo)
    _configure_sqlite(engine)
    return engine


def memory_engine() -> Engine:
    engine = create_engine("sqlite://")
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def central_engine(config: Config, ask_password: AskPassword | None = None) -> Engine:
    """The engine of the configured central store (the demo file when none is configured).

    The password comes from the OS keyring, else from ``ask_password`` (a prompt), never
    from a file; TLS parameters ride in the URL's query (see ``app.store.connection``)."""
    if config.is_embedded:
        return sqlite_engine(config.demo_store_path)
    return engine_for_url(config.central_url, ask_password)


def engine_for_url(raw_url: str, ask_password: AskPassword | None = None) -> Engine:
    url = url_with_password(raw_url, ask_password)
    if url.get_backend_name() == "sqlite" and url.database:
        return sqlite_engine(url.database)
    return create_engine(url, **engine_options(url))  # type: ignore[arg-type]


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
