"""The record rule of an eSign issue, on the demo store (SQLite) and on PostgreSQL through the
central service; and on PostgreSQL through the officer's own login (plain SQL): a
certificate signed with a one-time eSign certificate is recorded only with the signed
transaction that made it (same officer, application and number, its CMS in a signature
over the whole PDF hashing to the digest sent), once; without it the DSC rule stands.

The PDFs here are the smallest files that carry a signature dictionary (``/ByteRange``,
``/Contents``) the way pyHanko lays one out: the store's rule reads only those bytes. The
desk's real PDFs are in the desk's round-trip test."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.esign.conftest import OFFICER_EMAIL, EsignHub

CMS_ROOM = 8192  # bytes kept for the CMS (twice as many hex digits)


class UnsignedPdf:
    """A file with one signature field whose byte range is laid out and whose contents
    wait for a CMS (a deferred signature)."""

    def __init__(self, marker: bytes = b"") -> None:
        head = (b"%PDF-1.7\n%test " + marker + b"\n1 0 obj\n<< /Type /Sig /Filter "
                b"/Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange ")
        tail = b" >>\nendobj\ntrailer\n<< /Size 2 >>\n%%EOF\n"
        width = len(b"[0 0000000000 0000000000 0000000000]")
        b = len(head) + width + len(b" /Contents ")
        c = b + 2 + 2 * CMS_ROOM
        self.part1 = head + b"[0 %010d %010d %010d]" % (b, c, len(tail)) + b" /Contents "
        self.part2 = tail

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.part1 + self.part2).hexdigest()

    def with_cms(self, cms: bytes) -> bytes:
        return (self.part1 + b"<" + cms.hex().encode().ljust(2 * CMS_ROOM, b"0") + b">"
                + self.part2)


@pytest.fixture(params=["demo", "postgresql"])
def served(request: pytest.FixtureRequest) -> EsignHub:
    name = "esign_hub" if request.param == "demo" else "pg_esign_hub"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def _signed(served: EsignHub, auth: dict[str, str], skip: int = 0,
            ) -> tuple[dict[str, Any], UnsignedPdf, str, dict[str, Any]]:
    """A reservation, its deferred PDF, and the eSign transaction that signed its digest."""
    application_id = served.approved_application(skip=skip)
    reservation = served.reserve(auth, application_id)
    pdf = UnsignedPdf(reservation["number"].encode())
    asked = served.request(auth, application_id, reservation["number"], pdf.digest)
    assert asked.status_code == 201, asked.text
    txn = asked.json()["txn"]
    page, _xml = served.consent(asked.json()["consent_url"])
    assert page.status_code == 200, page.text
    state = served.state(auth, txn).json()
    assert state["state"] == "signed"
    return reservation, pdf, txn, state


def _fingerprint(state: dict[str, Any]) -> str:
    return hashlib.sha256(base64.b64decode(state["signer_certificate"])).hexdigest()


def _record(served: EsignHub, auth: dict[str, str], reservation: dict[str, Any], pdf: bytes,
            fingerprint: str, txn: str | None) -> httpx.Response:
    body: dict[str, Any] = {"reservation": reservation,
                            "pdf": base64.b64encode(pdf).decode("ascii"),
                            "signer_fingerprint": fingerprint}
    if txn is not None:
        body["esign_txn"] = txn
    with served.client() as client:
        return client.post(served.url + "/desk/v1/record", headers=auth, json=body)


def _issued(served: EsignHub, application_id: int) -> tuple[str, Any]:
    with served.engine.connect() as connection:
        status = connection.execute(text("SELECT status FROM applications WHERE id = :a"),
                                    {"a": application_id}).scalar()
        certificate = connection.execute(text(
            "SELECT signed_with, signer_fingerprint FROM certificates WHERE application_id = :a"),
            {"a": application_id}).first()
    return str(status), certificate


def test_an_esign_issue_is_recorded_once_and_says_how_it_was_signed(served: EsignHub) -> None:
    auth = served.sign_in()
    reservation, pdf, txn, state = _signed(served, auth)
    fingerprint = _fingerprint(state)
    recorded = _record(served, auth, reservation, pdf.with_cms(base64.b64decode(state["cms"])),
                       fingerprint, txn)
    assert recorded.status_code == 200, recorded.text
    status, certificate = _issued(served, reservation["application_id"])
    assert status == "issued" and tuple(certificate) == ("esign", fingerprint)
    assert served.state(auth, txn).json()["state"] == "used"
    with served.engine.connect() as connection:
        after = connection.execute(text(
            "SELECT after FROM audit_events WHERE action = 'certificate.issued' "
            "ORDER BY id DESC LIMIT 1")).scalar()
    after = after if isinstance(after, dict) else __import__("json").loads(after)
    assert after["signed_with"] == "esign" and after["esign_txn"] == txn
    # a desk's pull carries how it was signed (its local copy shows it)
    with served.client() as client:
        hello = client.get(served.url + "/desk/v1/hello", headers=auth).json()
        pulled = client.post(served.url + "/desk/v1/pull", headers=auth, json={"filter": {
            "office_ids": hello["office_ids"], "cursors": {}, "force_ids": []}}).json()
    [certificates] = [t for t in pulled["tables"] if t["name"] == "certificates"]
    at = {c: certificates["columns"].index(c) for c in ("application_id", "signed_with")}
    ways = {row[at["application_id"]]: row[at["signed_with"]] for row in certificates["rows"]}
    assert ways[reservation["application_id"]] == "esign"
    assert set(ways.values()) == {"dsc", "esign"}
    # the used transaction signs nothing else: another reservation is refused with it
    second = served.reserve(auth, served.approved_application())
    again = _record(served, auth, second, pdf.with_cms(base64.b64decode(state["cms"])),
                    fingerprint, txn)
    assert again.status_code == 409
    assert again.json()["error"] == (
        f"The eSign transaction {txn} was made for another officer, application or "
        f"certificate number; application {second['application_number']} was not issued.")
    assert _issued(served, second["application_id"]) == ("approved", None)


def test_the_record_rule_refuses_each_mismatch_and_issues_nothing(served: EsignHub) -> None:
    auth = served.sign_in()
    reservation, pdf, txn, state = _signed(served, auth)
    cms = base64.b64decode(state["cms"])
    fingerprint = _fingerprint(state)
    app = reservation["application_number"]
    refusals = [
        # no transaction: the DSC rule stands, and a one-time certificate is no DSC
        (pdf.with_cms(cms), fingerprint, None,
         f"The certificate of {'application ' if served.hub.is_postgresql else ''}{app} was "
         "signed with a DSC that is not registered to "),
        (pdf.with_cms(cms), fingerprint, "OD" + "0" * 32,
         f"The eSign transaction OD{'0' * 32} is not known to the central store; application "
         f"{app} was not issued."),
        (pdf.with_cms(cms), hashlib.sha256(b"another certificate").hexdigest(), txn,
         f"The certificate of application {app} was not signed with the one-time certificate "
         f"of eSign transaction {txn}; it was not issued."),
        (pdf.with_cms(b"\x30\x03\x02\x01\x01"), fingerprint, txn,
         f"The signed PDF of application {app} does not carry the signature of eSign "
         f"transaction {txn} over the whole file; it was not issued."),
        (pdf.with_cms(cms).replace(b"/Size 2", b"/Size 3"), fingerprint, txn,  # changed
         f"The signature in the PDF of application {app} is not over the digest sent for "
         f"eSign transaction {txn}; it was not issued."),
        (pdf.with_cms(cms) + b"% appended\n", fingerprint, txn,  # not the whole file
         f"The signed PDF of application {app} does not carry the signature of eSign "
         f"transaction {txn} over the whole file; it was not issued."),
    ]
    for document, signer, esign_txn, sentence in refusals:
        answer = _record(served, auth, reservation, document, signer, esign_txn)
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"].startswith(sentence), (answer.json(), sentence)
        assert _issued(served, reservation["application_id"]) == ("approved", None)
        assert served.state(auth, txn).json()["state"] == "signed"
    assert _record(served, auth, reservation, pdf.with_cms(cms), fingerprint,
                   txn).status_code == 200


def test_a_failed_transaction_records_nothing(served: EsignHub) -> None:
    auth = served.sign_in()
    application_id = served.approved_application()
    reservation = served.reserve(auth, application_id)
    pdf = UnsignedPdf()
    asked = served.request(auth, application_id, reservation["number"], pdf.digest).json()
    served.esp.esp.switches.other_digest = True
    served.consent(asked["consent_url"])
    assert served.state(auth, asked["txn"]).json()["state"] == "failed"
    answer = _record(served, auth, reservation, pdf.with_cms(b"\x30\x00"), "0" * 64,
                     asked["txn"])
    assert answer.status_code == 409
    assert answer.json()["error"] == (
        f"The eSign transaction {asked['txn']} is failed, not signed; application "
        f"{reservation['application_number']} was not issued.")


def _sql(engine: Any, sql: str, **params: Any) -> Any:
    with engine.begin() as connection:
        return connection.execute(text(sql), params).first()


def _refusal(engine: Any, sql: str, **params: Any) -> str:
    with pytest.raises(DBAPIError) as caught:
        _sql(engine, sql, **params)
    return str(caught.value.orig).splitlines()[0]


RECORD_6 = ("SELECT * FROM od_record_issue(:n, :a, :v, :pdf, :sha, :fp)")
RECORD_7 = ("SELECT * FROM od_record_issue(:n, :a, :v, :pdf, :sha, :fp, :txn)")


def test_through_the_officers_own_login_the_store_holds_the_rule(
        pg_esign_hub: EsignHub) -> None:
    served = pg_esign_hub
    central = served.hub.extras["central"]
    own = central.engine_for(OFFICER_EMAIL)
    auth = served.sign_in()
    reservation, pdf, txn, state = _signed(served, auth)
    cms, fingerprint = base64.b64decode(state["cms"]), _fingerprint(state)
    document = pdf.with_cms(cms)
    params = {"n": reservation["number"], "a": reservation["application_id"],
              "v": reservation["version"], "pdf": document,
              "sha": hashlib.sha256(document).hexdigest(), "fp": fingerprint}
    # the gateway's table is the service's alone
    assert "permission denied" in _refusal(own, "SELECT count(*) FROM esign_transactions")
    assert "permission denied" in _refusal(
        own, "UPDATE esign_transactions SET state = 'signed' WHERE txn = :t", t=txn)
    # a one-time certificate without its transaction: the DSC rule refuses it
    assert "signed with a DSC that is not registered to" in _refusal(own, RECORD_6, **params)
    assert _issued(served, reservation["application_id"]) == ("approved", None)
    # with it, the officer's own login records the issue (what the service does for them)
    row = _sql(own, RECORD_7, txn=txn, **params)
    assert row.certificate_id > 0
    assert _issued(served, reservation["application_id"]) == ("issued", ("esign", fingerprint))
    assert central.scalar("SELECT state FROM esign_transactions WHERE txn = :t", t=txn) == "used"
    # and never again: a second reservation of the officer's, the same signature
    second = _sql(own, "SELECT * FROM od_reserve_certificate_number(:a, 'x')",
                  a=served.approved_application())
    app_id = served.approved_application()
    version = central.scalar("SELECT version FROM applications WHERE id = :a", a=app_id)
    number = second[0]
    app_number = central.scalar("SELECT number FROM applications WHERE id = :a", a=app_id)
    refusal = _refusal(own, RECORD_7, n=number, a=app_id, v=version, pdf=document,
                       sha=params["sha"], fp=fingerprint, txn=txn)
    assert refusal == (f"The eSign transaction {txn} was made for another officer, application "
                       f"or certificate number; application {app_number} was not issued.")
    # a used transaction for its own number (as if re-reserved): refused as used
    with central.owner_engine().begin() as connection:
        connection.execute(text("UPDATE esign_transactions SET application_id = :a, "
                                "certificate_number = :n WHERE txn = :t"),
                           {"a": app_id, "n": number, "t": txn})
    refusal = _refusal(own, RECORD_7, n=number, a=app_id, v=version, pdf=document,
                       sha=params["sha"], fp=fingerprint, txn=txn)
    assert refusal == (f"The eSign transaction {txn} was already used for an issue, and a "
                       f"signature is never used twice; application {app_number} was not "
                       "issued.")
    assert _issued(served, app_id) == ("approved", None)
