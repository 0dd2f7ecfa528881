"""Fixtures of the neighbouring suites: the central service (demo and PostgreSQL), the
PostgreSQL central store, and the issuing tokens."""

from tests.hub.conftest import client, demo_hub, pg_hub, serve  # noqa: F401
from tests.issuing.conftest import (  # noqa: F401
    approved,
    ca,
    config,
    hsm,
    make_token,
    officer_id,
    rsa_token,
    trust_dir,
)
from tests.store.conftest import central, pg_server, pg_template  # noqa: F401
