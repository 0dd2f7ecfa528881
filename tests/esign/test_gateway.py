"""The eSign gateway with the test ESP, driven as the officer's browser would (httpx): a good
transaction ends ``signed`` with a CMS over the digest sent, made by a one-time
certificate of the test eSign CA; every refusal has its own sentence; only the requesting
officer reads a request; cancel; a consent link works once."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import pytest
from asn1crypto import cms as asn1_cms
from cryptography import x509

from tests.esign.conftest import EsignHub
from tests.support.test_esp import HOLDER_NAME


def _digest() -> str:
    return hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def _requested(served: EsignHub) -> tuple[dict[str, str], dict[str, Any], str, dict[str, Any]]:
    auth = served.sign_in()
    application_id = served.approved_application()
    reservation = served.reserve(auth, application_id)
    digest = _digest()
    answer = served.request(auth, application_id, reservation["number"], digest)
    assert answer.status_code == 201, answer.text
    return auth, reservation, digest, answer.json()


def _state(served: EsignHub, auth: dict[str, str], txn: str) -> dict[str, Any]:
    answer = served.state(auth, txn)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_availability(esign_hub: EsignHub) -> None:
    auth = esign_hub.sign_in()
    with esign_hub.client() as client:
        answer = client.get(esign_hub.url + "/desk/v1/esign", headers=auth).json()
    assert answer == {"available": True, "esp": "Test eSign Service Provider",
                      "timeout_seconds": 600}


def test_a_good_transaction_ends_signed_with_a_cms_over_the_digest(
        esign_hub: EsignHub, esign_pki: Any) -> None:
    auth, reservation, digest, request = _requested(esign_hub)
    assert request["consent_url"].startswith(esign_hub.url + "/esign/v1/consent/")
    assert _state(esign_hub, auth, request["txn"])["state"] == "pending"
    page, _xml = esign_hub.consent(request["consent_url"])
    assert page.status_code == 200 and "Signed — return to Origin Desk" in page.text
    state = _state(esign_hub, auth, request["txn"])
    assert state["state"] == "signed" and state["signer_name"] == HOLDER_NAME
    cms = base64.b64decode(state["cms"])
    signer_info = asn1_cms.ContentInfo.load(cms)["content"]["signer_infos"][0]
    digests = [a["values"][0].native for a in signer_info["signed_attrs"]
               if a["type"].native == "message_digest"]
    assert digests == [bytes.fromhex(digest)]
    certificate = x509.load_der_x509_certificate(base64.b64decode(state["signer_certificate"]))
    certificate.verify_directly_issued_by(esign_pki.ca)
    # what the ESP received was the ASP-signed request for that digest, nothing else
    request_xml = esign_hub.esp.esp.requests[-1]
    assert digest.encode() in request_xml and b"<ds:Signature" in request_xml
    assert b'AuthMode="1"' in request_xml and b'responseSigType="pkcs7"' in request_xml


def test_the_consent_link_works_once(esign_hub: EsignHub) -> None:
    _auth, _reservation, _digest_, request = _requested(esign_hub)
    with esign_hub.client() as browser:
        assert browser.get(request["consent_url"]).status_code == 200
        again = browser.get(request["consent_url"])
        wrong = browser.get(request["consent_url"].split("?")[0] + "?k=guess")
    assert again.status_code == 410 and "already used" in again.text
    assert wrong.status_code == 410


def test_a_replayed_transaction_is_refused_by_the_esp(esign_hub: EsignHub) -> None:
    auth, _reservation, _digest_, request = _requested(esign_hub)
    with esign_hub.client() as browser:
        form_page = browser.get(request["consent_url"]).text
    from tests.support.test_esp import read_form

    form = read_form(form_page)
    with esign_hub.client() as browser:
        first = browser.post(form.action, data=form.fields)
        assert "Aadhaar OTP" in first.text
        replay = browser.post(form.action, data=form.fields)  # the same signed request again
        back = read_form(replay.text)
        page = browser.post(back.action, data=back.fields)
    assert page.status_code == 409
    state = _state(esign_hub, auth, request["txn"])
    assert state["state"] == "failed"
    assert state["message"] == ("The eSign service provider did not sign: ESP-910 Duplicate "
                                "transaction ID for the given ASP.")


def test_a_tampered_request_is_refused_by_the_esp(esign_hub: EsignHub) -> None:
    auth, _reservation, digest, request = _requested(esign_hub)
    other = _digest()
    page, _xml = esign_hub.consent(request["consent_url"],
                                   tamper=lambda xml: xml.replace(digest, other))
    assert page.status_code == 409
    state = _state(esign_hub, auth, request["txn"])
    assert state == {"state": "failed", "signer_name": "", "message": (
        "The eSign service provider did not sign: ESP-911 Input XML signature verification "
        "failed.")}


def test_an_unknown_asp_is_refused_by_the_esp(esign_hub: EsignHub) -> None:
    auth, _reservation, _digest_, request = _requested(esign_hub)
    esign_hub.esp.esp.registered.clear()
    page, _xml = esign_hub.consent(request["consent_url"])
    assert page.status_code == 409
    assert _state(esign_hub, auth, request["txn"])["message"] == (
        "The eSign service provider did not sign: ESP-903 Invalid ASP ID. It may not exist or "
        "may be inactive.")


@pytest.mark.parametrize(("switch", "message"), [
    ("other_digest", "The signature returned by the eSign service provider is over another "
                     "document (its messageDigest is not the digest sent); it was refused."),
    ("old_timestamp", "is more than 10 minutes from the gateway's clock; an expired "
                      "response is refused."),
    ("unknown_key", "The eSign response is not signed with the eSign service provider's "
                    "registered key; it was refused."),
    ("other_ca", "The one-time signer certificate of the eSign response is not issued by the "
                 "configured eSign CA (or is not valid now); the signature was refused."),
])
def test_a_bad_response_is_refused_with_its_own_sentence(
        esign_hub: EsignHub, switch: str, message: str) -> None:
    auth, _reservation, _digest_, request = _requested(esign_hub)
    setattr(esign_hub.esp.esp.switches, switch, True)
    page, _xml = esign_hub.consent(request["consent_url"])
    assert page.status_code == 409 and "the certificate was not issued" in page.text
    state = _state(esign_hub, auth, request["txn"])
    assert state["state"] == "failed" and message in state["message"]
    assert "cms" not in state


def test_a_replayed_response_is_refused_and_changes_nothing(esign_hub: EsignHub) -> None:
    auth, _reservation, _digest_, request = _requested(esign_hub)
    page, response_xml = esign_hub.consent(request["consent_url"])
    assert page.status_code == 200
    signed = _state(esign_hub, auth, request["txn"])
    with esign_hub.client() as browser:
        again = browser.post(esign_hub.url + "/esign/v1/response", data={"msg": response_xml})
    assert again.status_code == 409
    assert "a replayed response is refused" in again.text
    assert _state(esign_hub, auth, request["txn"]) == signed


def test_only_the_requesting_officer_reads_or_cancels_a_request(esign_hub: EsignHub) -> None:
    auth, _reservation, _digest_, request = _requested(esign_hub)
    other = esign_hub.sign_in("rahul.menon@igcc.org.in")
    assert esign_hub.state(other, request["txn"]).status_code == 404
    with esign_hub.client() as client:
        cancel = client.post(esign_hub.url + f"/desk/v1/esign/requests/{request['txn']}/cancel",
                             headers=other)
        anonymous = client.get(esign_hub.url + f"/desk/v1/esign/requests/{request['txn']}")
    assert cancel.status_code == 404 and anonymous.status_code == 401
    assert _state(esign_hub, auth, request["txn"])["state"] == "pending"


def test_cancel_ends_a_pending_request_and_its_consent_link(esign_hub: EsignHub) -> None:
    auth, _reservation, _digest_, request = _requested(esign_hub)
    with esign_hub.client() as client:
        cancel = client.post(esign_hub.url + f"/desk/v1/esign/requests/{request['txn']}/cancel",
                             headers=auth)
        link = client.get(request["consent_url"])
    assert cancel.json() == {"state": "cancelled"}
    assert link.status_code == 410
    assert _state(esign_hub, auth, request["txn"])["message"] == (
        "The officer cancelled the eSign request.")


def test_a_request_needs_the_officers_own_reservation(esign_hub: EsignHub) -> None:
    auth = esign_hub.sign_in()
    application_id = esign_hub.approved_application()
    reservation = esign_hub.reserve(auth, application_id)
    other = esign_hub.approved_application(skip=1)
    wrong_application = esign_hub.request(auth, other, reservation["number"], _digest())
    assert wrong_application.status_code == 409
    assert wrong_application.json()["error"] == (
        f"Certificate number {reservation['number']} is not reserved by you for application "
        f"#{other} (or was already issued or released); eSign cannot sign it.")
    bad_digest = esign_hub.request(auth, application_id, reservation["number"], "ABC")
    assert bad_digest.status_code == 422


def test_a_hostile_or_unknown_response_changes_nothing(esign_hub: EsignHub) -> None:
    auth, _reservation, _digest_, request = _requested(esign_hub)
    txn = request["txn"]
    with esign_hub.client() as browser:
        entity = browser.post(esign_hub.url + "/esign/v1/response", data={"msg": (
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            f'<EsignResp txn="{txn}">&x;</EsignResp>')})
        unknown = browser.post(esign_hub.url + "/esign/v1/response", data={
            "msg": '<EsignResp ver="2.1" status="1" txn="ODunknown"/>'})
        empty = browser.post(esign_hub.url + "/esign/v1/response", data={})
    assert entity.status_code == 409 and "DTD or entities" in entity.text
    assert "root:" not in entity.text
    assert unknown.status_code == 409 and "names no transaction of this gateway" in unknown.text
    assert empty.status_code == 400
    assert _state(esign_hub, auth, txn)["state"] == "pending"


def test_a_request_not_completed_in_time_expires(esign_hub: EsignHub) -> None:
    from sqlalchemy import text

    auth, _reservation, _digest_, request = _requested(esign_hub)
    with esign_hub.engine.begin() as connection:  # as if the timeout had passed
        connection.execute(text("UPDATE esign_transactions SET expires_at = created_at "
                                "WHERE txn = :t"), {"t": request["txn"]})
    with esign_hub.client() as browser:
        link = browser.get(request["consent_url"])
    assert link.status_code == 410
    assert _state(esign_hub, auth, request["txn"]) == {
        "state": "expired", "signer_name": "",
        "message": "The eSign consent was not completed in time; the request expired."}
