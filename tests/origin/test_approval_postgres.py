"""The origin check of an approval on the PostgreSQL central store, through the officer's
own login: a synced desk (its local copy checks, and the central store recomputes on its
own data), the sync push (``apply_operations``), hostile plain SQL against the trigger
``applications_b_origin`` (revision 0008), and ``od_origin_verdict`` against the Python
computation on generated cost sheets."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.config import Config
from app.errors import UserFacingError
from app.models.agreements import origin_agreements
from app.models.enums import Action
from app.models.origin import Material, OriginCase, OriginRuleMissing, check_origin
from app.models.origin_review import criterion_code
from app.models.workflow import WorkflowError
from app.services.central import SqlCentral
from app.services.offline_desk import LocalDesk
from app.services.sync import SyncService
from app.store.local import LocalStore
from app.store.operations import Operation, apply_operations
from tests.origin.approval_support import ANITA, REASON, shape, submitted_preferential
from tests.store.conftest import CentralDb, central, pg_server, pg_template  # noqa: F401

OVERRIDE = "application.origin_override"


def _one(db: CentralDb, sql: str, **params: object) -> object:
    return db.scalar(sql, **params)


def _desk(db: CentralDb, tmp_path: Path) -> LocalDesk:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    config = Config(data_dir=home, central_url=db.login_url(ANITA))
    local = LocalStore(config.local_store_path)
    desk = LocalDesk(local, config, SyncService(local, SqlCentral(db.engine_for(ANITA), config),
                                               email=ANITA))
    desk.sign_in(ANITA)
    return desk


def _override_events(db: CentralDb, app_id: int) -> list[tuple[int, str, dict]]:
    with db.owner_engine().connect() as connection:
        return [tuple(r) for r in connection.execute(text(  # type: ignore[misc]
            "SELECT actor_id, note, after FROM audit_events WHERE entity_type = 'application' "
            "AND entity_id = :i AND action = :a ORDER BY id"), {"i": app_id, "a": OVERRIDE})]


def test_a_synced_desk_approves_a_failing_line_only_with_an_override(
        central: CentralDb, tmp_path: Path) -> None:  # noqa: F811
    app_id = submitted_preferential(central.owner_engine())
    shape(central.owner_engine(), app_id, vnm="66000.00")
    desk = _desk(central, tmp_path)
    desk.act(app_id, Action.CLAIM)
    with pytest.raises(WorkflowError, match=r"line 1 \(RVC\): NOT MET: build-down 34\.000 %"):
        desk.act(app_id, Action.APPROVE)
    assert not desk.local.pending()
    desk.act(app_id, Action.APPROVE, text=REASON)
    assert _one(central, "SELECT status FROM applications WHERE id = :i", i=app_id) == "approved"
    anita = _one(central, "SELECT id FROM users WHERE email = :e", e=ANITA)
    [(actor, note, after)] = _override_events(central, app_id)
    assert actor == anita and note == REASON
    assert after["lines"][0]["build_down_percent"] == "34.000"
    desk.sync.sync_now()  # the override comes back with the pull, once, in red
    flagged = [h for h in desk.detail(app_id).history if h.alert]
    assert len(flagged) == 1 and flagged[0].note == REASON


def test_the_central_store_recomputes_instead_of_trusting_the_desk(
        central: CentralDb, tmp_path: Path) -> None:  # noqa: F811
    app_id = submitted_preferential(central.owner_engine())
    shape(central.owner_engine(), app_id, vnm="66000.00")
    desk = _desk(central, tmp_path)
    desk.act(app_id, Action.CLAIM)
    # the desk's own copy is made to pass: the central store still has the failing sheet
    with sqlite3.connect(desk.config.local_store_path) as copy:
        copy.execute("UPDATE cost_sheet_materials SET value = '1000.00' WHERE originating = 0 "
                     "AND cost_sheet_id = (SELECT id FROM cost_sheets WHERE application_id = ?)",
                     (app_id,))
    with pytest.raises(UserFacingError, match="does not meet the claimed origin criterion"):
        desk.act(app_id, Action.APPROVE)
    assert _one(central, "SELECT status FROM applications WHERE id = :i",
                i=app_id) == "under_scrutiny"
    assert not _override_events(central, app_id)


@pytest.mark.parametrize(("case", "reason"), [
    ({"vnm": "66000.00"}, "does not meet the claimed origin criterion"),
    ({"vnm": "1000.00", "criterion": None}, "have no origin criterion"),
    ({"vnm": "1000.00", "destination": "JP"}, "does not cover the destination country JP"),
])
def test_the_sync_push_through_the_officers_login_refuses(
        central: CentralDb, case: dict, reason: str) -> None:  # noqa: F811
    app_id = submitted_preferential(central.owner_engine())
    shape(central.owner_engine(), app_id, **case)
    version = int(_one(central, "SELECT version FROM applications WHERE id = :i", i=app_id))  # type: ignore[arg-type]
    anita = int(_one(central, "SELECT id FROM users WHERE email = :e", e=ANITA))  # type: ignore[arg-type]
    now = dt.datetime.now(dt.UTC)
    operations = [Operation(str(uuid.uuid4()), app_id, "claim", None, version, now),
                  Operation(str(uuid.uuid4()), app_id, "approve", None, version + 1, now)]
    with Session(central.engine_for(ANITA)) as session, session.begin():
        results = apply_operations(session, anita, operations)
    assert [r.outcome for r in results] == ["applied", "rejected"]
    assert reason in results[1].reason
    if "vnm" in case and case["vnm"] == "66000.00":  # with the reason, it goes through
        again = [Operation(str(uuid.uuid4()), app_id, "approve", REASON, version + 1, now)]
        with Session(central.engine_for(ANITA)) as session, session.begin():
            assert apply_operations(session, anita, again)[0].applied
        assert len(_override_events(central, app_id)) == 1


# --- hostile plain SQL through the officer's own login ----------------------------------------

def _officer(db: CentralDb) -> psycopg.Connection:
    role = str(_one(db, "SELECT l.role_name FROM db_logins l JOIN users u ON u.id = l.user_id "
                        "WHERE u.email = :e", e=ANITA))
    return psycopg.connect(host="127.0.0.1", port=db.server.port, user=role, dbname=db.name,
                           autocommit=True)


CLAIM = ("UPDATE applications SET status = 'under_scrutiny', claimed_by_id = %s, "
         "claimed_at = now(), version = version + 1 WHERE id = %s")
APPROVE = ("UPDATE applications SET status = 'approved', decided_at = now(), "
           "version = version + 1 WHERE id = %s")
OVERRIDE_SQL = ("INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, "
                "entity_id, note) VALUES (now(), %s, 'x', 'application.origin_override', "
                "'application', %s, %s)")


@pytest.mark.parametrize(("case", "sqlstate", "words"), [
    ({"vnm": "66000.00"}, "ODREF", "do not meet the claimed origin criterion"),
    ({"vnm": "1000.00", "destination": "US"}, "ODREF", "does not cover the destination country US"),
    ({"vnm": "1000.00", "agreement": "SAFTA", "destination": "CH"}, "ODREF",
     "does not cover the destination country CH"),
    ({"vnm": "1000.00", "criterion": None}, "42501", "origin criteria"),
])
def test_a_raw_sql_approval_is_refused(central: CentralDb, case: dict, sqlstate: str,  # noqa: F811
                                       words: str) -> None:
    app_id = submitted_preferential(central.owner_engine())
    shape(central.owner_engine(), app_id, **case)
    anita = int(_one(central, "SELECT id FROM users WHERE email = :e", e=ANITA))  # type: ignore[arg-type]
    with _officer(central) as conn:
        conn.execute(CLAIM, (anita, app_id))
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(APPROVE, (app_id,))
    assert refused.value.sqlstate == sqlstate and words in str(refused.value)
    assert _one(central, "SELECT status FROM applications WHERE id = :i",
                i=app_id) == "under_scrutiny"


def test_a_raw_sql_approval_passes_only_after_the_officers_own_override(
        central: CentralDb) -> None:  # noqa: F811
    app_id = submitted_preferential(central.owner_engine())
    shape(central.owner_engine(), app_id, vnm="66000.00")
    anita = int(_one(central, "SELECT id FROM users WHERE email = :e", e=ANITA))  # type: ignore[arg-type]
    with _officer(central) as conn:
        conn.execute(CLAIM, (anita, app_id))
        conn.execute(OVERRIDE_SQL, (anita, app_id, "recorded in a transaction of its own"))
        with pytest.raises(psycopg.Error, match="do not meet"):  # not in this transaction
            conn.execute(APPROVE, (app_id,))
        with pytest.raises(psycopg.Error, match="do not meet"), conn.transaction():
            conn.execute(OVERRIDE_SQL, (anita, app_id, "   "))  # a blank reason: no
            conn.execute(APPROVE, (app_id,))
        with conn.transaction():
            conn.execute(OVERRIDE_SQL, (anita, app_id, REASON))
            conn.execute(APPROVE, (app_id,))
    assert _one(central, "SELECT status FROM applications WHERE id = :i", i=app_id) == "approved"


def test_at_the_threshold_a_raw_sql_approval_needs_no_override(central: CentralDb) -> None:  # noqa: F811
    app_id = submitted_preferential(central.owner_engine())
    shape(central.owner_engine(), app_id, vnm="65000.00")
    anita = int(_one(central, "SELECT id FROM users WHERE email = :e", e=ANITA))  # type: ignore[arg-type]
    with _officer(central) as conn:
        conn.execute(CLAIM, (anita, app_id))
        conn.execute(APPROVE, (app_id,))
    assert _one(central, "SELECT status FROM applications WHERE id = :i", i=app_id) == "approved"


def test_the_store_holds_the_partners_and_rules_of_agreements_json(central: CentralDb) -> None:  # noqa: F811
    from app.models.origin_rules import OriginAgreementPartner, OriginRuleRow

    with Session(central.owner_engine()) as session:
        partners = {(p.agreement_code, p.country)
                    for p in session.scalars(select(OriginAgreementPartner))}
        rules = {(r.agreement_code, r.hs_prefix) for r in session.scalars(select(OriginRuleRow))}
    agreements = origin_agreements()
    assert partners == {(code, c) for code, a in agreements.items() for c in a.partners}
    assert ("IEFTATEPA", "NO") in partners and ("IUCEPA", "7113") in rules
    assert rules == {(code, "") for code, a in agreements.items() if a.general_rule} | {
        (code, p.hs_prefix) for code, a in agreements.items() for p in a.product_specific_rules}


# --- od_origin_verdict against check_origin ----------------------------------------------------

CODES = st.sampled_from(sorted(origin_agreements()))
CRITERIA = st.sampled_from(["general", "RVC", "RVC 40%", "CTH", "CTSH", "CC", "WO", "PE", "PSR",
                            "B 30%", "A", ""])
HS = st.sampled_from(["610910", "610990", "611020", "520512", "760120", "711319", "710239",
                      "030617", "10063020", "847130", "851762"])
AMOUNT = st.decimals(min_value=0, max_value=Decimal("999999.99"), places=2,
                     allow_nan=False, allow_infinity=False)
MATERIAL = st.tuples(HS, st.booleans(), AMOUNT)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=CODES, criterion=CRITERIA, product=HS,
       fob=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2),
       others=st.lists(AMOUNT, min_size=4, max_size=4),
       materials=st.lists(MATERIAL, max_size=5))
def test_the_stores_verdict_equals_the_python_one(
        central: CentralDb, code: str, criterion: str, product: str, fob: Decimal,  # noqa: F811
        others: list[Decimal], materials: list[tuple[str, bool, Decimal]]) -> None:
    import json

    case = OriginCase(
        agreement=code, product_hs_code=product, product_description="goods",
        criterion=criterion_code(criterion), currency="INR", fob=fob,
        materials=tuple(Material("m", hs, "CN", originating, value)
                        for hs, originating, value in materials),
        labour=others[0], overheads=others[1], profit=others[2], other_costs=others[3])
    try:
        python = check_origin(case, origin_agreements()[code]).met
    except OriginRuleMissing:
        python = False  # a criterion with no rule to test is not met
    payload = json.dumps([{"hs_code": hs, "originating": originating, "value": str(value)}
                          for hs, originating, value in materials])
    with psycopg.connect(host="127.0.0.1", port=central.server.port, user="postgres",
                         dbname=central.name) as conn:
        stored = conn.execute(
            "SELECT od_origin_verdict(%s, %s, %s, %s::numeric, %s::numeric, %s::jsonb)",
            (code, product, criterion, str(fob), str(sum(others, Decimal(0))), payload),
        ).fetchone()[0]  # type: ignore[index]
    assert stored is python, (case, python)
