"""The issuing fixtures (demo store, test CA in the trust folder, SoftHSM2 tokens, Issuer)."""

from tests.hub.conftest import demo_hub, serve  # noqa: E402, F401 - the central service
from tests.issuing.conftest import (  # noqa: F401 - fixtures for this folder's tests
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
from tests.store.conftest import central, pg_server, pg_template  # noqa: E402, F401
from tests.verification.qr_images import issued  # noqa: E402, F401 - two issued certificates
