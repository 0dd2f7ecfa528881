"""The legacy refusal on PostgreSQL through the officer's own login: the desk's reservation
quotes the transition rule before the store is asked; the store's own function refuses a
legacy original too (it is not in this store), whatever the officer sends by plain SQL."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from app.config import Config
from app.services.central import SqlCentral
from app.services.central_issuing import IssueRefused
from tests.in_lieu.support import make_in_lieu
from tests.in_lieu.test_legacy_rule import LEGACY, QUOTE
from tests.store.conftest import CentralDb, officer_emails


def test_reserving_for_a_legacy_original_is_refused(central: CentralDb, data_home) -> None:  # type: ignore[no-untyped-def]
    email = officer_emails(central)["MUM"][0]
    owner = central.owner_engine()
    made = make_in_lieu(owner, officer_email=email, original_number=LEGACY)
    count = "SELECT count(*) FROM certificate_numbers"
    before = central.scalar(count)
    officer_id = central.scalar("SELECT id FROM users WHERE email = :e", e=email)
    link = SqlCentral(central.engine_for(email), Config(data_dir=data_home,
                                                         central_url=central.login_url(email)))
    with pytest.raises(IssueRefused, match="legacy eCoO 1.0") as refused:
        link.reserve(int(officer_id), made.application_id, "desk")  # type: ignore[arg-type]
    assert QUOTE in str(refused.value)
    # plain SQL through the same login: the store's own refusal
    url = central.login_url(email).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn, pytest.raises(psycopg.Error) as plain:
        conn.execute("SELECT * FROM od_reserve_certificate_number(%s, 'psql')",
                     (made.application_id,))
    assert plain.value.sqlstate == "ODREF" and QUOTE in str(plain.value)
    assert central.scalar(count) == before
    with owner.connect() as connection:
        assert connection.execute(text("SELECT status FROM applications WHERE id = :i"),
                                  {"i": made.application_id}).scalar() == "approved"
