"""Back-to-back through the central service (HttpCentral over TLS, the service acting for the
officer on PostgreSQL): the desk synced through the service shows the balance, and the
over-draw is refused at approval (the desk, the pushed operation) and at issue (reserve)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.config import load_config
from app.errors import UserFacingError
from app.models.enums import Action
from app.services.central_http import HttpCentral
from app.services.central_issuing import IssueRefused
from app.services.offline_desk import LocalDesk
from app.services.sync import SyncService
from app.store.demo_foreign import CASHEW_CERTIFICATE, COPPER_CERTIFICATE, OFFICER
from app.store.local import LocalStore
from app.store.operations import Operation
from tests.back_to_back.test_postgres import CASHEW_OVER, DIGEST, PDF, _apps, _user
from tests.hub.conftest import PASSWORD, set_password
from tests.store.test_hostile_officer import _connect, register_dsc


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    store: dict[tuple[str, str], str] = {}
    monkeypatch.setattr("keyring.get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr("keyring.set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr("keyring.delete_password", lambda s, u: store.pop((s, u), None))


def _desk(server: Any, tmp_path: Path) -> tuple[LocalDesk, HttpCentral]:
    local = LocalStore(tmp_path / "local.sqlite")
    link = HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda p: PASSWORD)
    desk = LocalDesk(local, load_config(), SyncService(local, link))
    desk.sign_in(OFFICER)
    return desk, link


def test_through_the_service_the_balance_shows_and_over_draws_are_refused(
        tmp_path: Path, pg_hub: Any, serve: Any) -> None:
    central = pg_hub.extras["central"]
    set_password(central.owner_engine(), OFFICER)
    desk, link = _desk(serve(pg_hub), tmp_path)
    _issued, _approved, (fits, _n), (over, over_number) = _apps(central, COPPER_CERTIFICATE)
    view = desk.detail(fits).foreign_balance
    assert view is not None and [r[3:] for r in view.rows] == [
        ("100 MTS", "40 MTS", "35 MTS", "20 MTS", "25 MTS"),
        ("5000 NOS", "2000 NOS", "0 NOS", "1000 NOS", "3000 NOS")]
    sentence = (f"Back-to-back application {over_number} draws 30 MTS of item 1 (Copper "
                f"cathodes, grade A, 99.99% Cu) of foreign certificate {COPPER_CERTIFICATE}, "
                "whose balance is 25 MTS (100 certified, 40 drawn by issued certificates, 35 by "
                "other approved applications).")
    with pytest.raises(UserFacingError) as refused:
        desk.act(over, Action.APPROVE)
    assert str(refused.value) == sentence
    version = int(central.scalar("SELECT version FROM applications WHERE id = :i", i=over))
    [result] = link.push(_user(central, OFFICER), [Operation(
        "9b1c7a52-0000-4000-8000-0000000000b2", over, "approve", None, version,
        desk.detail(over).history[-1].at)])
    assert not result.applied and result.reason == sentence
    assert central.scalar("SELECT status FROM applications WHERE id = :i", i=over) \
        == "under_scrutiny"

    # at issue: the first cashew certificate issued at another desk, then this one reserves
    (first, _f), (second, second_number) = _apps(central, CASHEW_CERTIFICATE)
    user_id = _user(central, OFFICER)
    with _connect(central, user_id) as conn:
        fingerprint = register_dsc(conn, user_id, b"officer DER for the service test")
        number, _at, version = conn.execute(
            "SELECT number, reserved_at, version FROM od_reserve_certificate_number(%s, 'x')",
            (first,)).fetchone()
        conn.execute("SELECT * FROM od_record_issue(%s, %s, %s, %s, %s, %s)",
                     (number, first, version, PDF, DIGEST, fingerprint))
    with pytest.raises(IssueRefused) as at_issue:
        link.reserve(user_id, second, "desk-through-service")
    assert str(at_issue.value) == (
        f"Back-to-back application {second_number} draws 12000 KGS of item 1 (Cashew kernels, "
        f"shelled, W320 grade, vacuum packed in tins) of foreign certificate "
        f"{CASHEW_CERTIFICATE}, {CASHEW_OVER}")
    desk.sync.sync_now()  # the desk's copy now counts the issued certificate
    cashew = desk.detail(second).foreign_balance
    assert cashew.rows[0][3:] == ("20000 KGS", "12000 KGS", "0 KGS", "12000 KGS", "8000 KGS")
    assert cashew.over_rows == frozenset({0})
