"""The administrator's services, each rule checked against what the store holds after."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from app.config import load_config
from app.models import Application, ApplicationStatus, AuditEvent, Office, User
from app.models.enums import Action
from app.models.workflow import WorkflowError, allowed_actions, perform
from app.services.admin import (
    AdminError,
    AgencyAdmin,
    OfficeForm,
    OfficeFormError,
    register_officer,
)
from app.services.admin_rules import AdminInputError
from app.services.desk import Desk, SignInError
from tests.admin.conftest import (
    ADMIN,
    ANITA,
    PENDING,
    audit_events,
    load_office,
    load_user,
    office_id,
    user_id,
)


def _form(office: Office, **changes: object) -> OfficeForm:
    values = dict(code=office.code, name=office.name, place=office.place,
                  address=office.address, contact_email=office.contact_email,
                  contact_phone=office.contact_phone, ewallet_enabled=office.ewallet_enabled,
                  merchant_id=office.merchant_id, checksum_key=None)
    values.update(changes)
    return OfficeForm(**values)  # type: ignore[arg-type]


def _png(mode: str = "RGBA", size: tuple[int, int] = (60, 40), fmt: str = "PNG") -> bytes:
    image = Image.new(mode, size, (0, 0, 0, 0) if mode == "RGBA" else "white")
    if mode == "RGBA":
        for x in range(10, 30):
            image.putpixel((x, 20), (20, 40, 160, 255))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


# --- offices and the payment gateway -----------------------------------------------------------

def test_edit_office_writes_audit_with_before_and_after(admin: AgencyAdmin,
                                                        demo_engine: Engine) -> None:
    before = load_office(demo_engine, "MUM")
    admin.edit_office(before.id, _form(before, contact_phone="+91 22 6600 1234",
                                       ewallet_enabled=False))
    after = load_office(demo_engine, "MUM")
    assert after.contact_phone == "+91 22 6600 1234" and after.ewallet_enabled is False
    event = audit_events(demo_engine, "office.edit")[-1]
    assert event.entity_type == "office" and event.entity_id == before.id
    assert event.actor_label == f"Vikram Sethi <{ADMIN}>" and event.actor_id == 1
    assert event.before == {"contact_phone": before.contact_phone, "ewallet_enabled": True}
    assert event.after == {"contact_phone": "+91 22 6600 1234", "ewallet_enabled": False}
    assert event.at is not None


def test_nothing_changed_writes_nothing(admin: AgencyAdmin, demo_engine: Engine) -> None:
    office = load_office(demo_engine, "MUM")
    count = len(audit_events(demo_engine))
    admin.edit_office(office.id, _form(office))
    assert len(audit_events(demo_engine)) == count


@pytest.mark.parametrize(("merchant", "key", "field", "where"), [
    ("IGCC MUM973224", None, "merchant_id", "position 5: a space"),
    ("IGCCMUM973224 ", None, "merchant_id", "position 14 (the end): a space"),
    ("", None, "merchant_id", "Merchant ID is empty"),
    ("IGCC/MUM", None, "merchant_id", "position 5: '/'"),
    ("IGCCMUM973224", "", "checksum_key", "Checksum key is empty"),
    ("IGCCMUM973224", " Kq7x#pL2vN9!aB3cdH", "checksum_key", "position 1 (the start): a space"),
    ("IGCCMUM973224", "Kq7x#pL2vN9!aB3c<dH", "checksum_key", "position 17: '<'"),
])
def test_gateway_values_refused_and_nothing_stored(
        admin: AgencyAdmin, demo_engine: Engine, merchant: str, key: str | None, field: str,
        where: str) -> None:
    office = load_office(demo_engine, "MUM")
    count = len(audit_events(demo_engine))
    with pytest.raises(OfficeFormError) as caught:
        admin.edit_office(office.id, _form(office, merchant_id=merchant, checksum_key=key))
    assert where in caught.value.errors[field]
    with pytest.raises(AdminInputError, match=where.replace("(", r"\(").replace(")", r"\)")):
        admin.set_gateway(office.id, merchant, key if key is not None else "Kq7x#pL2vN9!aB3cdH")
    unchanged = load_office(demo_engine, "MUM")
    assert (unchanged.merchant_id, unchanged.checksum_key) == (office.merchant_id,
                                                               office.checksum_key)
    assert len(audit_events(demo_engine)) == count


def test_gateway_set_exactly_and_key_masked_in_audit(admin: AgencyAdmin,
                                                     demo_engine: Engine) -> None:
    office = load_office(demo_engine, "DEL")
    key = "Zx9#Kq7xpL2vN9!aB3c_dH"
    admin.set_gateway(office.id, "IGCCDEL000777", key)
    stored = load_office(demo_engine, "DEL")
    assert (stored.merchant_id, stored.checksum_key) == ("IGCCDEL000777", key)
    event = audit_events(demo_engine, "office.gateway")[-1]
    assert event.before["merchant_id"] == office.merchant_id
    assert event.after["merchant_id"] == "IGCCDEL000777"
    assert event.after["checksum_key"] == "Zx" + "•" * (len(key) - 4) + "dH"
    assert event.before["checksum_key"].startswith(office.checksum_key[:2])
    everything = json.dumps([(e.before, e.after, e.note) for e in audit_events(demo_engine)],
                            ensure_ascii=False)
    assert key not in everything and office.checksum_key not in everything
    assert key[2:-2] not in everything
    # the list the views show is masked too
    row = next(o for o in admin.offices() if o.code == "DEL")
    assert key not in repr(row) and row.checksum_key_hint.endswith("dH")


def test_key_change_recorded_even_when_masks_match(admin: AgencyAdmin,
                                                   demo_engine: Engine) -> None:
    office = load_office(demo_engine, "CHE")
    old = office.checksum_key
    new = old[:2] + ("A" if old[2] != "A" else "B") + old[3:]
    admin.edit_office(office.id, _form(office, checksum_key=new))
    assert load_office(demo_engine, "CHE").checksum_key == new
    event = audit_events(demo_engine, "office.edit")[-1]
    assert list(event.after) == ["checksum_key"]


def test_add_office_and_codes(admin: AgencyAdmin, demo_engine: Engine) -> None:
    form = OfficeForm(code="KOL", name="Eastern Regional Office", place="Kolkata",
                      address="Camac Street, Kolkata 700016", contact_email="kol@igcc.org.in",
                      contact_phone="+91 33 2290 1111", ewallet_enabled=False,
                      merchant_id="IGCCKOL000001", checksum_key="Kol#Key2025!abcd")
    row = admin.add_office(form)
    assert row.code == "KOL" and row.checksum_key_hint == "Ko" + "•" * 12 + "cd"
    with Session(demo_engine) as s:
        office = s.scalars(select(Office).where(Office.code == "KOL")).one()
        assert (office.agency_id, office.checksum_key, office.ewallet_enabled) == (
            1, "Kol#Key2025!abcd", False)
    event = audit_events(demo_engine, "office.add")[-1]
    assert event.before is None and event.after["place"] == "Kolkata"
    assert event.after["checksum_key"] == "Ko" + "•" * 12 + "cd"
    with pytest.raises(OfficeFormError) as caught:
        admin.add_office(form)
    assert "already used" in caught.value.errors["code"]
    with pytest.raises(OfficeFormError) as caught:
        admin.add_office(OfficeForm(code="kol 2", name=" ", place="Kolkata",
                                    merchant_id="M1", checksum_key=None))
    assert set(caught.value.errors) == {"code", "name", "checksum_key"}


def test_office_code_cannot_change(admin: AgencyAdmin, demo_engine: Engine) -> None:
    office = load_office(demo_engine, "MUM")
    admin.edit_office(office.id, _form(office, code="BOM", name="Mumbai Office"))
    stored = load_office(demo_engine, "MUM")
    assert stored.name == "Mumbai Office"


def test_ewallet_switch(admin: AgencyAdmin, demo_engine: Engine) -> None:
    mum = office_id(demo_engine, "MUM")
    assert admin.set_ewallet(mum, False).ewallet_enabled is False
    assert load_office(demo_engine, "MUM").ewallet_enabled is False
    event = audit_events(demo_engine, "office.ewallet")[-1]
    assert (event.before, event.after) == ({"ewallet_enabled": True}, {"ewallet_enabled": False})


# --- users ---------------------------------------------------------------------------------------

def test_approve_pending_registration_with_offices(admin: AgencyAdmin,
                                                   demo_engine: Engine) -> None:
    pending = admin.pending_registrations()
    assert [u.email for u in pending] == [PENDING]
    mum, delhi = office_id(demo_engine, "MUM"), office_id(demo_engine, "DEL")
    admin.approve(pending[0].id, [mum, delhi])
    user = load_user(demo_engine, PENDING)
    assert user.status == "active" and sorted(o.code for o in user.offices) == ["DEL", "MUM"]
    event = audit_events(demo_engine, "user.approve")[-1]
    assert event.before == {"status": "pending", "offices": []}
    assert event.after == {"status": "active", "offices": ["DEL", "MUM"]}
    assert admin.pending_registrations() == []
    with pytest.raises(AdminError, match="not pending"):
        admin.approve(user.id, [mum])
    Desk(demo_engine, load_config()).sign_in(PENDING)  # the officer can now sign in


def test_refuse_registration(admin: AgencyAdmin, demo_engine: Engine) -> None:
    uid = user_id(demo_engine, PENDING)
    admin.refuse(uid, "Not an employee of the chamber.")
    assert load_user(demo_engine, PENDING).status == "refused"
    event = audit_events(demo_engine, "user.refuse")[-1]
    assert event.note == "Not an employee of the chamber."
    assert (event.before["status"], event.after["status"]) == ("pending", "refused")
    with pytest.raises(SignInError):
        Desk(demo_engine, load_config()).sign_in(PENDING)


def test_registration_official_email_only(demo_engine: Engine, admin: AgencyAdmin) -> None:
    for address in ("meera.nair@gmail.com", "meera@yahoo.com", "meera@outlook.com",
                    "meera@rediffmail.com"):
        with pytest.raises(AdminInputError, match="personal mailbox"):
            register_officer(demo_engine, "IGCC", address, "Meera Nair")
    with pytest.raises(AdminInputError, match="official domain"):
        register_officer(demo_engine, "IGCC", "meera@fieo.org", "Meera Nair")
    row = register_officer(demo_engine, "IGCC", "Meera.Nair@mail.igcc.org.in", "Meera Nair")
    assert (row.email, row.status) == ("meera.nair@mail.igcc.org.in", "pending")
    assert {u.email for u in admin.pending_registrations()} == {
        "meera.nair@mail.igcc.org.in", PENDING}
    with pytest.raises(AdminInputError, match="already registered"):
        register_officer(demo_engine, "IGCC", "meera.nair@mail.igcc.org.in", "Meera Nair")


def test_domains_editable_and_approval_rechecks_them(admin: AgencyAdmin,
                                                     demo_engine: Engine) -> None:
    row = register_officer(demo_engine, "IGCC", "ravi@mail.igcc.org.in", "Ravi Das")
    admin.set_email_domains(["igcc.org.in"])
    assert admin.agency().email_domains == ("igcc.org.in",)
    event = audit_events(demo_engine, "agency.email_domains")[-1]
    assert event.before == {"email_domains": ["igcc.org.in", "mail.igcc.org.in"]}
    assert event.after == {"email_domains": ["igcc.org.in"]}
    with pytest.raises(AdminError, match="not at the agency's official domain"):
        admin.approve(row.id, [office_id(demo_engine, "MUM")])
    assert load_user(demo_engine, "ravi@mail.igcc.org.in").status == "pending"
    with pytest.raises(AdminInputError, match="public mailbox"):
        admin.set_email_domains(["igcc.org.in", "gmail.com"])
    assert admin.agency().email_domains == ("igcc.org.in",)


def _application(engine: Engine, status: ApplicationStatus, office_code: str) -> int:
    with Session(engine) as s:
        return s.scalars(select(Application.id).join(Application.office).where(
            Application.status == status, Office.code == office_code,
            Office.agency_id == 1).order_by(Application.id)).first()  # type: ignore[return-value]


def _try(engine: Engine, app_id: int, email: str, action: Action) -> None:
    with Session(engine) as s, s.begin():
        actor = s.scalars(select(User).options(selectinload(User.offices))
                          .where(User.email == email)).one()
        perform(s, s.get(Application, app_id), action, actor)  # type: ignore[arg-type]


def test_deactivated_officer_cannot_claim_or_issue(admin: AgencyAdmin,
                                                   demo_engine: Engine) -> None:
    submitted = _application(demo_engine, ApplicationStatus.SUBMITTED, "MUM")
    approved = _application(demo_engine, ApplicationStatus.APPROVED, "MUM")
    assert submitted and approved
    with Session(demo_engine) as s:  # while active, both are allowed to her
        anita = s.scalars(select(User).options(selectinload(User.offices))
                          .where(User.email == ANITA)).one()
        assert Action.CLAIM in allowed_actions(s.get(Application, submitted), anita)
        assert Action.ISSUE in allowed_actions(s.get(Application, approved), anita)
    result = admin.deactivate(user_id(demo_engine, ANITA), "Left the chamber.")
    assert result.user.status == "deactivated"
    for app_id, action in ((submitted, Action.CLAIM), (approved, Action.ISSUE)):
        with pytest.raises(WorkflowError, match="deactivated"):
            _try(demo_engine, app_id, ANITA, action)
    with Session(demo_engine) as s:
        assert s.get(Application, submitted).status == "submitted"
        assert s.get(Application, approved).status == "approved"
    with pytest.raises(SignInError, match="deactivated"):
        Desk(demo_engine, load_config()).sign_in(ANITA)
    event = audit_events(demo_engine, "user.deactivate")[-1]
    assert (event.before["status"], event.after["status"], event.note) == (
        "active", "deactivated", "Left the chamber.")
    # activated again, she may claim
    admin.activate(user_id(demo_engine, ANITA))
    _try(demo_engine, submitted, ANITA, Action.CLAIM)
    with Session(demo_engine) as s:
        assert s.get(Application, submitted).status == "under_scrutiny"


def test_deactivation_releases_the_officers_claims(admin: AgencyAdmin, demo_engine: Engine) -> None:
    submitted = _application(demo_engine, ApplicationStatus.SUBMITTED, "MUM")
    _try(demo_engine, submitted, ANITA, Action.CLAIM)
    result = admin.deactivate(user_id(demo_engine, ANITA))
    with Session(demo_engine) as s:
        app = s.get(Application, submitted)
        assert (app.status, app.claimed_by_id) == ("submitted", None)
        last = s.scalars(select(AuditEvent).where(AuditEvent.entity_id == submitted)
                         .order_by(AuditEvent.id.desc())).first()
        assert last.action == "application.release" and "deactivated" in last.note
        number = app.number
    assert number in result.claims_released


def test_status_rules(admin: AgencyAdmin, demo_engine: Engine) -> None:
    with pytest.raises(AdminError, match="your own account"):
        admin.deactivate(user_id(demo_engine, ADMIN))
    with pytest.raises(AdminError, match="only deactivated users are activated"):
        admin.activate(user_id(demo_engine, ANITA))
    with pytest.raises(AdminError, match="only active users"):
        admin.deactivate(user_id(demo_engine, PENDING))
    with pytest.raises(AdminError, match="only issuing officers are mapped"):
        admin.set_officer_offices(user_id(demo_engine, ADMIN), [1])


def test_map_officer_to_offices(admin: AgencyAdmin, demo_engine: Engine) -> None:
    anita = user_id(demo_engine, ANITA)
    che, mum = office_id(demo_engine, "CHE"), office_id(demo_engine, "MUM")
    admin.set_officer_offices(anita, [mum, che])
    assert sorted(o.code for o in load_user(demo_engine, ANITA).offices) == ["CHE", "MUM"]
    event = audit_events(demo_engine, "user.offices")[-1]
    assert (event.before, event.after) == ({"offices": ["MUM"]}, {"offices": ["CHE", "MUM"]})
    admin.set_officer_offices(anita, [che])
    assert [o.code for o in load_user(demo_engine, ANITA).offices] == ["CHE"]


# --- agency boundaries -----------------------------------------------------------------------------

def test_cross_agency_refused(admin: AgencyAdmin, demo_engine: Engine,
                              other_agency: dict[str, int]) -> None:
    foreign_office, foreign_officer = other_agency["office"], other_agency["officer"]
    count = len(audit_events(demo_engine))
    attempts = [
        lambda: admin.set_gateway(foreign_office, "IGCC1", "Abcdefgh12345678"),
        lambda: admin.set_ewallet(foreign_office, False),
        lambda: admin.office(foreign_office),
        lambda: admin.deactivate(foreign_officer),
        lambda: admin.set_officer_offices(foreign_officer, [office_id(demo_engine, "MUM")]),
        lambda: admin.set_officer_offices(user_id(demo_engine, ANITA), [foreign_office]),
        lambda: admin.set_office_stamp(foreign_office, _png()),
        lambda: admin.set_officer_signature(foreign_officer, _png()),
        lambda: admin.approve(user_id(demo_engine, PENDING), [foreign_office]),
    ]
    for attempt in attempts:
        with pytest.raises(AdminError, match="another agency"):
            attempt()
    assert len(audit_events(demo_engine)) == count
    assert load_user(demo_engine, PENDING).status == "pending"
    assert load_user(demo_engine, "neha.joshi@wcc.org.in").status == "active"
    assert {o.code for o in admin.offices()} == {"MUM", "DEL", "CHE"}
    assert all(u.email.endswith("igcc.org.in") for u in admin.users())
    # and the other agency's administrator sees only their own
    other = AgencyAdmin(demo_engine, other_agency["admin"])
    other.set_ewallet(foreign_office, False)
    assert [e.action for e in other.audit_log()] == ["office.ewallet"]
    assert "office.ewallet" not in [e.action for e in admin.audit_log()]


def test_only_active_administrators_act(admin: AgencyAdmin, demo_engine: Engine,
                                        other_agency: dict[str, int]) -> None:
    with pytest.raises(AdminError, match="not an agency administrator"):
        AgencyAdmin.for_email(demo_engine, ANITA)
    other = AgencyAdmin(demo_engine, other_agency["admin"])
    with Session(demo_engine) as s, s.begin():
        s.get(User, other_agency["admin"]).status = "deactivated"  # type: ignore[union-attr]
    with pytest.raises(AdminError, match="deactivated"):
        other.set_ewallet(other_agency["office"], False)


# --- stamps and signatures -------------------------------------------------------------------------

def test_stamp_and_signature_stored_with_audit(admin: AgencyAdmin, demo_engine: Engine) -> None:
    mum, anita = office_id(demo_engine, "MUM"), user_id(demo_engine, ANITA)
    png = _png()
    assert admin.set_office_stamp(mum, png, source="stamp.jpg").has_stamp
    assert load_office(demo_engine, "MUM").stamp_png == png
    event = audit_events(demo_engine, "office.stamp")[-1]
    assert event.before == {"stamp": None}
    assert event.after["stamp"]["pixels"] == [60, 40] and event.after["stamp"]["bytes"] == len(png)
    assert "stamp.jpg" in event.note
    admin.set_officer_signature(anita, png)
    assert load_user(demo_engine, ANITA).signature_png == png
    with pytest.raises(AdminError, match="not an issuing officer"):
        admin.set_officer_signature(user_id(demo_engine, ADMIN), png)


@pytest.mark.parametrize(("png", "problem"), [
    (b"", "empty"),
    (b"not a png at all", "not a readable PNG"),
    (_png("RGB"), "no transparency"),
    (_png(fmt="WEBP"), "not a PNG"),
    (_png(size=(2000, 100)), "at most"),
])
def test_bad_images_not_stored(admin: AgencyAdmin, demo_engine: Engine, png: bytes,
                               problem: str) -> None:
    mum = office_id(demo_engine, "MUM")
    with pytest.raises(AdminError, match=problem):
        admin.set_office_stamp(mum, png)
    assert load_office(demo_engine, "MUM").stamp_png is None
    assert audit_events(demo_engine, "office.stamp") == []


def test_fully_opaque_or_empty_images_refused(admin: AgencyAdmin, demo_engine: Engine) -> None:
    mum = office_id(demo_engine, "MUM")
    opaque = io.BytesIO()
    Image.new("RGBA", (20, 20), (255, 255, 255, 255)).save(opaque, "PNG")
    with pytest.raises(AdminError, match="no transparent background"):
        admin.set_office_stamp(mum, opaque.getvalue())
    blank = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 0, 0, 0)).save(blank, "PNG")
    with pytest.raises(AdminError, match="holds no ink"):
        admin.set_office_stamp(mum, blank.getvalue())


def test_audit_log_lists_changes(admin: AgencyAdmin, demo_engine: Engine) -> None:
    mum = office_id(demo_engine, "MUM")
    admin.set_gateway(mum, "IGCCMUM000111", "Zx9#Kq7xpL2vN9!aB3c_dH")
    admin.set_ewallet(mum, False)
    rows = admin.audit_log()
    assert [r.action for r in rows[:2]] == ["office.ewallet", "office.gateway"]
    assert rows[0].entity == "Office MUM — Mumbai Regional Office"
    assert rows[0].change == "ewallet enabled: on → off"
    assert "merchant id: IGCCMUM" in rows[1].change and "→ IGCCMUM000111" in rows[1].change
    assert "Zx9#Kq7x" not in rows[1].change
