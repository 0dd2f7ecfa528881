"""Aadhaar eSign is offered only through the central service's gateway: the embedded demo
and a desk on the central PostgreSQL store (the officer's own login) reach no gateway, so
they do not offer it, the desk hides "Sign with Aadhaar eSign", and an eSign issue asked
anyway is refused before anything is reserved (the application stays approved)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import Application, CertificateNumber
from app.models.enums import ApplicationStatus
from app.services.central import SqlCentral
from app.services.esign_issuing import EsignIssuer, EsignNotOffered, esign_offer_of
from app.services.issuing import Issuer
from app.store.central import session_factory
from tests.issuing.conftest import (  # noqa: F401 - fixtures
    OFFICER_EMAIL,
    approved,
    ca,
    config,
    hsm,
    officer_id,
    trust_dir,
)
from tests.store.conftest import CentralDb, central, pg_server, pg_template  # noqa: F401


def _reserved(engine) -> int:  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s:
        return int(s.scalar(select(func.count()).select_from(CertificateNumber)) or 0)


def test_the_demo_store_offers_no_esign_and_reserves_nothing(
    demo_engine, config, officer_id, approved  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    [app_id] = approved("non_preferential")
    issuer = Issuer(demo_engine, config, officer_id)
    assert not esign_offer_of(issuer.central).available
    before = _reserved(demo_engine)
    opened: list[object] = []
    with pytest.raises(EsignNotOffered, match="central service"):
        EsignIssuer(issuer).issue(app_id, open_consent=opened.append)
    assert opened == [] and _reserved(demo_engine) == before
    with session_factory(demo_engine)() as s:
        assert s.get(Application, app_id).status == ApplicationStatus.APPROVED


def test_a_desk_on_postgresql_offers_no_esign(central: CentralDb) -> None:  # noqa: F811
    from app.config import load_config

    link = SqlCentral(central.engine_for(OFFICER_EMAIL), load_config())
    assert not link.esign_offer().available


def test_the_demo_window_hides_sign_with_esign(qtbot, demo_engine, config) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from app.services.desk import Desk
    from app.views.main_window import DeskWindow

    desk = Desk(demo_engine, config)
    desk.sign_in(OFFICER_EMAIL)
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.queue_loaded, timeout=20_000):
        window.reload_queue()
    assert window.issue_button.isVisible()
    assert not window.esign_button.isVisible() and not window.esign_action.isVisible()
