"""The central store's schema under Alembic: upgrade, current revision, and the check a
desk makes before it trusts a store (DESIGN.md, rolling upgrades).

Migrations run programmatically (no alembic.ini): :func:`upgrade` opens the script
directory in ``app/store/migrations`` and hands the connection to ``env.py``.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, inspect, text

from app.errors import UserFacingError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaTooNewError(UserFacingError):
    """The central store was migrated by a newer Origin Desk than this one."""


class SchemaTooOldError(UserFacingError):
    """The central store has not been migrated to what this Origin Desk needs."""


def target_metadata() -> list[MetaData]:
    import app.models.certificates  # noqa: F401 - every mapping module registers its tables
    import app.models.origin_rules  # noqa: F401 - the agreements' rules for the store's check
    import app.store.esign_tables  # noqa: F401 - the eSign gateway's transactions
    import app.store.hub_tables  # noqa: F401 - the central service's tables
    import app.store.intake_tables  # noqa: F401 - the intake API's tables
    from app.models import Base
    from app.store.central_tables import central_metadata

    return [Base.metadata, central_metadata]


def alembic_config(connection: Connection | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts():  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.M)


@functools.cache
def quick_head_revision() -> str | None:
    """The newest revision as the migration files name it (their ``revision`` and
    ``down_revision`` lines), without importing Alembic: the embedded demo compares it
    with its store on every start. None when the files do not name exactly one head (then
    ask :func:`head_revision`)."""
    revisions, downs = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        revision = found.get("revision", "").strip("'\"")
        if not revision:
            return None
        revisions.add(revision)
        downs.add(found.get("down_revision", "None").strip("'\""))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


@functools.cache
def _known() -> tuple[str, ...]:
    return tuple(s.revision for s in reversed(list(_scripts().walk_revisions())))


def known_revisions() -> list[str]:
    """Every revision this Origin Desk knows, oldest first."""
    return list(_known())


def current_revision(connection: Connection) -> str | None:
    """The revision recorded in the store (``alembic_version``), None for an empty store."""
    if connection.dialect.name == "postgresql":
        exists = connection.execute(
            text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar()
    else:
        exists = inspect(connection).has_table("alembic_version")
    if not exists:
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Migrate the store to ``revision`` (the newest by default); returns the revision now."""
    from alembic import command

    with engine.connect() as connection:
        before = current_revision(connection)
        if before is not None and before not in known_revisions():
            raise SchemaTooNewError(_too_new(before))
        connection.commit()
        command.upgrade(alembic_config(connection), revision)
        connection.commit()
        after = current_revision(connection)
    log.info("central store schema: %s -> %s", before or "empty", after)
    return after or ""


def check_schema(connection: Connection) -> str:
    """Raise a clear error unless the store is at a revision this desk can work with."""
    revision = current_revision(connection)
    if revision is None:
        raise SchemaTooOldError(
            "The central store has no Origin Desk schema yet: an administrator must run "
            "'origin-desk db upgrade' on it first."
        )
    known = known_revisions()
    if revision not in known:
        raise SchemaTooNewError(_too_new(revision))
    if known.index(revision) < known.index(MINIMUM_REVISION):
        raise SchemaTooOldError(
            f"The central store is at schema revision {revision}; this Origin Desk needs "
            f"{MINIMUM_REVISION} or newer: an administrator must run 'origin-desk db upgrade'."
        )
    return revision


def _too_new(revision: str) -> str:
    return (
        f"The central store has schema revision {revision}, which this version of Origin Desk "
        "does not know: it was upgraded by a newer release. Update Origin Desk."
    )


# The oldest revision this release's code works against (expand-then-contract: raise it
# only in the release after the one whose migration made the old shape unnecessary).
# 0004_central_rules: this release reserves, records and voids certificate numbers through
# the store's functions (PostgreSQL) and records who reserved a number (both engines).
MINIMUM_REVISION = "0004_central_rules"
