"""The issuing fixtures (demo store, test CA in the trust folder, SoftHSM2 tokens, Issuer)."""

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
