"""Fixtures for the e-wallet tests: the issuing fixtures (demo store, SoftHSM2 tokens, an
Issuer), the PostgreSQL store and the central service."""

from __future__ import annotations

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
