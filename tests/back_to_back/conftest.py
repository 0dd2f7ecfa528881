"""Back-to-back tests: the issuing fixtures (tokens, issuer, the demo officer) of
tests/issuing, and the demo's foreign certificates (app/store/demo_foreign.py)."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Application
from app.store.central import session_factory
from app.store.demo_foreign import CASHEW_CERTIFICATE, COPPER_CERTIFICATE
from tests.issuing.conftest import (  # noqa: F401 - fixtures
    ca,
    config,
    hsm,
    issuer,
    make_token,
    officer_id,
    rsa_token,
    trust_dir,
)

__all__ = ["CASHEW_CERTIFICATE", "COPPER_CERTIFICATE", "drawing"]


def drawing(engine, certificate: str) -> list[tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    """(id, number, status) of the applications drawing from a demo foreign certificate,
    in the order demo_foreign.PLAN lists them."""
    with session_factory(engine)() as session:
        rows = session.execute(select(Application.id, Application.number, Application.status)
                               .where(Application.foreign_certificate_number == certificate)
                               .order_by(Application.id)).all()
    return [(r.id, r.number, str(r.status)) for r in rows]


from tests.hub.conftest import (  # noqa: E402,F401 - fixtures
    client,
    demo_hub,
    pg_hub,
    serve,  # noqa: E402,F401 - fixtures
)
from tests.store.conftest import central, pg_server, pg_template  # noqa: E402,F401 - fixtures
