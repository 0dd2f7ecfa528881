"""Fixtures of the dashboard tests: the demo store and tokens (issuing), the PostgreSQL
central store, and the central service."""

from tests.hub.conftest import client, demo_hub, pg_hub, serve  # noqa: F401 - fixtures
from tests.issuing.conftest import (  # noqa: F401 - fixtures
    approved,
    ca,
    config,
    hsm,
    issuer,
    make_token,
    officer_id,
    open_session,
    rsa_token,
    trust_dir,
)
from tests.store.conftest import central, pg_server, pg_template  # noqa: F401 - fixtures
