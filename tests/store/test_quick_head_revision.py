"""The embedded demo's start-up compares its store with the head revision read from the
migration files without Alembic: the same answer as Alembic's own script directory."""

from __future__ import annotations

from app.store.schema import head_revision, known_revisions, quick_head_revision


def test_the_quick_head_is_alembics_head() -> None:
    assert quick_head_revision() == head_revision() == known_revisions()[-1]
