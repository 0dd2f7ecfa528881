"""Fixtures of the neighbouring suites: the PostgreSQL central store."""

from tests.store.conftest import central, pg_server, pg_template  # noqa: F401
