"""Opening the central store: the embedded SQLite demo file or a configured SQLAlchemy URL."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.config import Config
from app.errors import UserFacingError
from app.store.connection import (
    AskPassword,
    ConnectionSettingsError,
    engine_options,
    url_with_password,
)

log = logging.getLogger(__name__)
SQLITE_HEADER = b"SQLite format 3\x00"


class CentralUnreachable(UserFacingError):
    """The central store cannot be connected to (server down, refused, unknown host, a
    SQLite file that cannot be opened); nothing was done."""


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
    if config.uses_central_service:
        raise ConnectionSettingsError(
            f"central_url {config.central_url} is the central service, not a database: this "
            "needs a database login. Name the store with --url (or ORIGIN_DESK_CENTRAL_URL) "
            "as postgresql+psycopg://you@host/db, on a machine that may reach it.")
    if config.is_embedded:
        path = config.demo_store_path
        if path.exists():
            check_sqlite_file(path, what="The demo store",
                              fix="Recreate it with 'origin-desk demo --reset'.")
        return sqlite_engine(path)
    return engine_for_url(config.central_url, ask_password)


def engine_for_url(raw_url: str, ask_password: AskPassword | None = None, *,
                   create: bool = False) -> Engine:
    """The engine of a central store URL. A SQLite file must exist and be a database
    (``create``: it may also not exist yet, in an existing folder: ``db upgrade`` makes
    it); nothing is created before these checks pass."""
    url = url_with_password(raw_url, ask_password)
    if url.get_backend_name() == "sqlite":
        name = url.database or ""
        if not name or name == ":memory:" or name.startswith("file:"):
            raise ConnectionSettingsError(
                "central_url names no SQLite file; expected e.g. sqlite:////srv/origin/central.sqlite"
            )
        path = Path(name).expanduser()
        check_sqlite_file(path, what="The central store", create=create,
                          fix="Check central_url (or --url).")
        return sqlite_engine(path)
    return create_engine(url, **engine_options(url))  # type: ignore[arg-type]


def check_sqlite_file(path: Path, *, what: str, fix: str, create: bool = False) -> None:
    """Refuse, naming ``path``, a SQLite store that is missing (unless ``create``), lies in
    a missing folder, is a folder, or is not a SQLite database. Creates nothing."""
    try:
        if not path.parent.is_dir():
            raise ConnectionSettingsError(
                f"{what} {path}: the folder {path.parent} does not exist. {fix}")
        if not path.exists():
            if create:
                return
            raise ConnectionSettingsError(f"{what} {path} does not exist. {fix}")
        if path.is_dir():
            raise ConnectionSettingsError(f"{what} {path} is a folder, not a database file. {fix}")
        if not path.is_file():
            raise ConnectionSettingsError(f"{what} {path} is not a regular file. {fix}")
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise ConnectionSettingsError(
            f"{what} {path} cannot be read: {exc.strerror or exc}. {fix}") from None
    except ValueError:  # a NUL character in the path
        raise ConnectionSettingsError(f"{what} {path!r} is not a usable file name. {fix}") from None
    if header != SQLITE_HEADER and not (create and header == b""):
        raise ConnectionSettingsError(f"{what} {path} is not a SQLite database. {fix}")


def ensure_reachable(engine: Engine, *, schema: bool = True) -> None:
    """Connect once, now: raise CentralUnreachable (one clear sentence) when the store
    cannot be reached; with ``schema``, also refuse a store this desk cannot work with
    (no schema yet, too old, too new). Quick: a refused port fails at once, a silent
    host after the 5 s connect timeout."""
    from app.store.schema import check_schema

    try:
        with engine.connect() as connection:
            if schema:
                check_schema(connection)
    except DBAPIError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        log.info("central store %s unreachable: %s", describe(engine), detail[:1])
        reason = f": {detail[0][:300]}" if detail else ""
        refused = any(word in reason.lower() for word in
                      ("authentication", "password", "does not exist", "permission denied"))
        what = "refused the connection" if refused else "cannot be reached"
        raise CentralUnreachable(f"The central store {describe(engine)} {what}{reason}") from None


def describe(engine: Engine) -> str:
    """Where the engine connects, without the password: ``user@host:port/db`` or a path."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return str(url.database or "(in memory)")
    user = f"{url.username}@" if url.username else ""
    return f"{user}{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
