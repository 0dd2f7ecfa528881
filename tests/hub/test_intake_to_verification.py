"""The whole path, as the notices describe it: an exporter's system files an application
through the intake API; it reaches the office's desk (through the central service), where
the officer claims, approves and issues it with the DSC token; the certificate's QR is
sealed by the agency; anyone abroad verifies it on the public page in a real browser
(after the captcha): valid; after an in-lieu certificate is filed and issued, the same
check says "superseded by ..."; an unknown number gets the alert."""

from __future__ import annotations

import dataclasses
import ssl
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from app.models.enums import Action
from tests.hub.conftest import PASSWORD, set_password
from tests.hub.intake_support import auth, exporter_facts, filing, issue_key
from tests.hub.test_verify_browser import browser, fill_and_submit, shot, verdict  # noqa: F401
from tests.hub.verify_support import install_oracle
from tests.issuing.conftest import (  # noqa: F401 - fixtures
    PIN,
    ca,
    config,
    hsm,
    make_token,
    register,
    trust_dir,
)
from tests.issuing.test_seal import seal, seal_config, sealer  # noqa: F401 - fixtures
from tests.support.pki import KeySpec


def _officer_of(engine: Any, office_code: str) -> tuple[int, str]:
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT u.id, u.email FROM users u JOIN officer_offices m ON m.user_id = u.id "
            "JOIN offices o ON o.id = m.office_id WHERE o.code = :c AND u.status = 'active' "
            "AND u.role = 'officer' ORDER BY u.id LIMIT 1"), {"c": office_code}).one()
    return int(row.id), str(row.email)


def _desk(server: Any, tmp_path: Path, email: str) -> Any:
    from app.config import load_config
    from app.services.central_http import HttpCentral
    from app.services.offline_desk import LocalDesk
    from app.services.sync import SyncService
    from app.store.local import LocalStore

    local = LocalStore(tmp_path / "local.sqlite")
    link = HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda _p: PASSWORD)
    desk = LocalDesk(local, load_config(), SyncService(local, link))
    desk.sign_in(email)
    return desk


def _review_and_issue(desk: Any, number: str) -> str:
    from app.services.queue_rows import Col

    desk.sync.sync_now()
    [row] = [r for r in desk.queue(None) if r[Col.NUMBER] == number]  # in the office queue
    app_id = row[Col.ID]
    assert str(row[Col.STATUS]).lower() == "submitted"
    desk.act(app_id, Action.CLAIM)
    desk.act(app_id, Action.APPROVE)
    assert desk.sync.sync_now().online and not desk.local.pending()  # sent and applied
    assert str(desk.queue_row(app_id)[Col.STATUS]).lower() == "approved"
    issued: list[Any] = []
    outcome = desk.issuer(on_issued=lambda i, _pdf: issued.append(i)).run_batch(
        [app_id], lambda info, warnings: PIN)
    assert len(outcome.done) == 1 and not outcome.failed, outcome
    return str(issued[0].certificate_number)


def test_filed_reviewed_issued_and_verified_abroad(
    tmp_path, demo_engine, serve, sealer, seal, make_token, config, ca, browser  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    from app.hub.app import make_hub
    from tests.hub.conftest import hub_settings

    facts = exporter_facts(demo_engine)
    officer_id, email = _officer_of(demo_engine, facts.office_code)
    set_password(demo_engine, email)
    token = make_token("DSC-CHAIN", (KeySpec("sign", "rsa"),))
    register(demo_engine, config, officer_id, token, ca=ca)
    hub = make_hub(hub_settings(tmp_path / "hub"), demo_engine, sealer=sealer)
    oracle = install_oracle(hub)
    server = serve(hub)
    key = str(issue_key(demo_engine, facts.iec, label="exporter ERP").key)

    # the exporter's system files the application over HTTPS
    with httpx.Client(base_url=server.url, verify=ssl.create_default_context(cafile=str(server.ca))) as exporter:
        filed = exporter.post("/api/v1/applications", json=filing("non_preferential", facts),
                              headers={**auth(key), "Idempotency-Key": "erp-0001"})
        assert filed.status_code == 201, filed.text
        number = filed.json()["number"]

        # the office's desk gets it at its next sync, reviews and issues it
        desk = _desk(server, tmp_path / "desk", email)
        certificate = _review_and_issue(desk, number)
        status = exporter.get(f"/api/v1/applications/{number}", headers=auth(key))
        assert status.json()["status"] == "issued"

        # anyone abroad checks it on the public page
        driver = browser(server.ca)
        driver.get(f"{server.url}/verify")
        fill_and_submit(driver, oracle, certificate, "IGCC")
        assert verdict(driver) == "VALID"
        shot(driver, "chain-valid")

        # the exporter asks for a certificate in lieu; it is issued; the first is superseded
        in_lieu = filing("in_lieu", dataclasses.replace(facts, original_certificate=certificate))
        refiled = exporter.post("/api/v1/applications", json=in_lieu, headers=auth(key))
        assert refiled.status_code == 201, refiled.text
        replacement = _review_and_issue(desk, refiled.json()["number"])
    fill_and_submit(driver, oracle, certificate, "IGCC")
    assert verdict(driver) == f"SUPERSEDED BY {replacement}"
    shot(driver, "chain-superseded")
    fill_and_submit(driver, oracle, replacement, "IGCC")
    assert verdict(driver) == "VALID"
    fill_and_submit(driver, oracle, "IGCC/2026/9999999", "IGCC")
    assert verdict(driver) == "No certificate with this number from this agency"
