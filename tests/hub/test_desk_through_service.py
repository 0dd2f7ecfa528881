"""A desk whose central store is the central service (``central_url = "https://..."``):
real uvicorn with TLS from a test CA, the desk's HttpCentral over httpx. It syncs, issues,
looks certificates up and registers DSCs exactly as on a direct store, and goes offline
when the service is gone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.config import load_config
from app.errors import UserFacingError
from app.models import Certificate
from app.services.central_http import HttpCentral
from app.services.offline_desk import LocalDesk
from app.services.queue_rows import Col
from app.services.sync import SyncService
from app.store.central import session_factory
from app.store.link import CentralUnavailable, SyncRefused
from app.store.local import LocalStore
from tests.hub.conftest import PASSWORD, set_password
from tests.issuing.conftest import (  # noqa: F401 - fixtures
    OFFICER_EMAIL,
    PIN,
    approved,
    ca,
    config,
    hsm,
    make_token,
    officer_id,
    rsa_token,
    trust_dir,
)
from tests.issuing.test_seal import seal, seal_config, sealer  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the machine's real keyring: an in-memory one stands in."""
    store: dict[tuple[str, str], str] = {}
    monkeypatch.setattr("keyring.get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr("keyring.set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr("keyring.delete_password", lambda s, u: store.pop((s, u), None))


def _desk(server: Any, tmp_path: Path, asked: list[str] | None = None,
          password: str = PASSWORD) -> LocalDesk:
    settings = load_config()
    local = LocalStore(tmp_path / "local.sqlite")

    def ask(prompt: str) -> str:
        if asked is not None:
            asked.append(prompt)
        return password

    link = HttpCentral(server.url, ca_file=str(server.ca), ask_password=ask)
    return LocalDesk(local, settings, SyncService(local, link))


def test_a_desk_syncs_and_issues_through_the_service(
    tmp_path, demo_hub, serve, demo_engine, rsa_token, approved  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    set_password(demo_engine, OFFICER_EMAIL)
    server = serve(demo_hub)
    asked: list[str] = []
    desk = _desk(server, tmp_path, asked)
    desk.sign_in(OFFICER_EMAIL)
    assert len(asked) == 1 and OFFICER_EMAIL in asked[0]  # once; then from the keyring
    ids = approved("preferential", 2)
    assert desk.sync.sync_now().online
    issued_here: list[Any] = []
    issuer = desk.issuer(on_issued=lambda issued, pdf: issued_here.append((issued, pdf)))
    outcome = issuer.run_batch(ids, lambda info, warnings: PIN)
    assert len(outcome.done) == 2 and not outcome.failed, outcome
    with session_factory(demo_engine)() as s:
        assert s.scalar(select(func.count()).select_from(Certificate)
                        .where(Certificate.application_id.in_(ids))) == 2
    for app_id in ids:
        assert str(desk.queue_row(app_id)[Col.STATUS]).lower() == "issued"
    pdf, _pages, draft = desk.preview_pdf(ids[0])  # fetched through the service
    assert not draft and pdf == issued_here[0][1]
    result = desk.verifier().verify_pdf(pdf)
    assert result.valid and result.store_status == "valid"
    number = issued_here[0][0].certificate_number
    assert desk.verifier().status(number).status == "valid"
    assert len(asked) == 1


def test_a_wrong_password_is_asked_again_and_then_refused(
    tmp_path, demo_hub, serve, demo_engine  # type: ignore[no-untyped-def]
) -> None:
    set_password(demo_engine, OFFICER_EMAIL)
    server = serve(demo_hub)
    asked: list[str] = []
    desk = _desk(server, tmp_path, asked, password="not the password")
    with pytest.raises(SyncRefused, match="Wrong e-mail address or password"):
        desk.sync.link.hello(OFFICER_EMAIL)
    assert len(asked) == 3


def test_the_desk_refuses_a_service_whose_certificate_it_does_not_trust(
    tmp_path, demo_hub, serve, demo_engine  # type: ignore[no-untyped-def]
) -> None:
    from app.hub.tls import make_tls_files

    set_password(demo_engine, OFFICER_EMAIL)
    server = serve(demo_hub)
    other_ca = make_tls_files(tmp_path / "other").ca
    link = HttpCentral(server.url, ca_file=str(other_ca), ask_password=lambda p: PASSWORD)
    with pytest.raises(CentralUnavailable, match="cannot be reached"):
        link.hello(OFFICER_EMAIL)


def test_a_desk_goes_offline_when_the_service_stops(
    tmp_path, demo_hub, serve, demo_engine  # type: ignore[no-untyped-def]
) -> None:
    set_password(demo_engine, OFFICER_EMAIL)
    server = serve(demo_hub)
    desk = _desk(server, tmp_path)
    desk.sign_in(OFFICER_EMAIL)
    rows_before = len(desk.queue(None))
    assert rows_before > 0
    server.stop()
    report = desk.sync.sync_now()
    assert not report.online and "cannot be reached" in report.error
    assert len(desk.queue(None)) == rows_before  # the copy goes on offline


def test_a_desk_issues_sealed_certificates_through_the_service_and_verifies_offline(
    tmp_path, serve, demo_engine, rsa_token, approved, seal, sealer  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    from app.hub.app import make_hub
    from app.services.issuing import qr_texts_in_pdf
    from tests.hub.conftest import hub_settings

    set_password(demo_engine, OFFICER_EMAIL)
    server = serve(make_hub(hub_settings(tmp_path / "hub"), demo_engine, sealer=sealer))
    desk = _desk(server, tmp_path)
    desk.sign_in(OFFICER_EMAIL)
    [app_id] = approved("non_preferential")
    desk.sync.sync_now()
    issued: list[Any] = []
    outcome = desk.issuer(on_issued=lambda i, pdf: issued.append(pdf)).run_batch(
        [app_id], lambda info, warnings: PIN)
    assert len(outcome.done) == 1, outcome
    [text] = qr_texts_in_pdf(issued[0])
    assert text.startswith(sealer.public_base_url + "/v/")  # sealed by the service
    verdict = desk.verifier().verify_pdf(issued[0])
    assert verdict.valid, verdict.checks
    cached = load_config().trust_path / "seals.json"
    assert cached.is_file()  # fetched from the service's well-known address


def test_db_sync_works_through_the_service(
    tmp_path, demo_hub, serve, demo_engine, monkeypatch, capsys  # type: ignore[no-untyped-def]
) -> None:
    import keyring

    from app.cli import main
    from app.services.central_http import KEYRING_SERVICE

    set_password(demo_engine, OFFICER_EMAIL)
    server = serve(demo_hub)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", server.url)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_CA_FILE", str(server.ca))
    assert main(["db", "sync"]) == 2
    assert "--email" in capsys.readouterr().err
    assert main(["db", "sync", "--email", OFFICER_EMAIL]) == 2  # no password, no terminal
    assert "no password" in capsys.readouterr().err
    keyring.set_password(KEYRING_SERVICE, f"{OFFICER_EMAIL}@{server.url}", PASSWORD)
    assert main(["db", "sync", "--email", OFFICER_EMAIL]) == 0
    assert capsys.readouterr().out.startswith("Synced:")


def test_administration_says_it_needs_the_database(
    tmp_path, demo_hub, serve, demo_engine, monkeypatch, capsys  # type: ignore[no-untyped-def]
) -> None:
    from app.cli import main

    server = serve(demo_hub)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", server.url)
    assert main(["admin", "--as", "admin@igcc.org.in", "offices"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is the central service, not a database" in err[0]
    set_password(demo_engine, "admin@igcc.org.in")
    desk = _desk(server, tmp_path)
    desk.sign_in("admin@igcc.org.in")
    with pytest.raises(UserFacingError, match="works on the central store's database"):
        desk.admin()
