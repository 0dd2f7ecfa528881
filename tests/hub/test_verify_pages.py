"""Public verification without sign-in: the page (number + agency + the service's own
captcha), the QR address /v/<payload>, the JSON API, rate limits and hostile input."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from tests.hub.conftest import hub_settings
from tests.hub.verify_support import (
    SoftSeal,
    b64url,
    certificate_numbers,
    check_by_number,
    field_errors,
    install_oracle,
    token_of,
    verdict_of,
)

UNKNOWN = "No certificate with this number from this agency"
NOT_VERIFIED = "This QR code does not verify"


@pytest.fixture
def oracle(demo_hub: Any) -> Any:
    return install_oracle(demo_hub)


@pytest.fixture
def numbers(demo_engine: Engine) -> dict[str, str]:
    return certificate_numbers(demo_engine)


def captcha_uses(engine: Engine) -> int:
    from app.store.hub_tables import captcha_uses as table

    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)))


def verifications(hub: Any, outcome: str) -> float:
    value = hub.metrics.registry.get_sample_value("origin_desk_hub_verifications_total",
                                                  {"outcome": outcome})
    return value or 0.0


def superseding(engine: Engine, number: str) -> str:
    from app.models import Certificate

    with engine.connect() as connection:
        return str(connection.scalar(select(Certificate.superseded_by_number)
                                     .where(Certificate.number == number)))


# --- the page ------------------------------------------------------------------------------

def test_the_form_has_a_captcha_image_and_strict_headers(client: Any, oracle: Any) -> None:
    from PIL import Image

    page = client.get("/verify")
    assert page.status_code == 200
    headers = page.headers
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script" not in csp and "unsafe-inline" not in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert "<script" not in page.text.lower() and " on" + "click" not in page.text.lower()
    assert "http://" not in page.text and "https://" not in page.text  # nothing third-party
    image = re.search(r'src="data:image/png;base64,([^"]+)"', page.text)
    assert image
    png = Image.open(io.BytesIO(base64.b64decode(image.group(1))))
    assert png.size == (240, 80)
    token = token_of(page.text)
    answer = oracle.answers[token]
    assert 5 <= len(answer) <= 6 and not set(answer) & set("0O1IL2Z5S8B6G7")
    # the answer is in no token and nowhere on the page but in the picture
    assert answer not in token and answer.lower() not in token
    assert answer not in page.text.replace(image.group(1), "")
    css = client.get("/verify/assets/verify.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("status", ["valid", "superseded", "cancelled"])
def test_a_certificate_by_number_and_agency(client: Any, oracle: Any, demo_hub: Any,
                                            demo_engine: Engine, numbers: dict[str, str],
                                            status: str) -> None:
    number = numbers[status]
    before = verifications(demo_hub, status)
    # as people type it: lower case, spaces around
    answer = check_by_number(client, oracle, f" {number.lower()} ", "igcc ")
    assert answer.status_code == 200, answer.text
    expected = {"valid": "VALID", "cancelled": "CANCELLED",
                "superseded": f"SUPERSEDED BY {superseding(demo_engine, number)}"}[status]
    assert verdict_of(answer.text) == expected
    assert "Indo-Gulf Chamber of Commerce" in answer.text
    assert re.search(r'id="d-office">[A-Z][a-z]+ Regional Office<', answer.text)
    assert re.search(r'id="d-issued">\d{1,2} [A-Z][a-z]+ 20\d\d<', answer.text)
    assert f"<code>{number}</code>" in answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert verifications(demo_hub, status) == before + 1
    # a fresh captcha for the next check
    assert token_of(answer.text) != ""


@pytest.mark.parametrize("number, agency", [
    ("IGCC/2026/9999999", "IGCC"),   # no such number
    (None, "ABCC"),                  # a real number, another agency's code
    ("IGCC/1999/0000001", "IGCC"),
])
def test_an_unknown_number_is_an_alert(client: Any, oracle: Any, demo_hub: Any,
                                       numbers: dict[str, str], number: str | None,
                                       agency: str) -> None:
    number = number or numbers["valid"]
    answer = check_by_number(client, oracle, number, agency)
    assert answer.status_code == 200
    assert verdict_of(answer.text) == UNKNOWN
    assert 'class="banner banner-alert"' in answer.text
    assert "Regional Office" not in answer.text and "Indo-Gulf" not in answer.text
    assert verifications(demo_hub, "unknown") >= 1


def test_a_wrong_captcha_is_refused_with_a_new_one(client: Any, oracle: Any, demo_hub: Any,
                                                   demo_engine: Engine,
                                                   numbers: dict[str, str]) -> None:
    form = client.get("/verify")
    token = token_of(form.text)
    right = oracle.answers[token]
    wrong = "".join(reversed(right)) if right != right[::-1] else right + "X"
    refused = client.post("/verify", data={"number": numbers["valid"], "agency": "IGCC",
                                           "captcha_token": token, "captcha_answer": wrong})
    assert refused.status_code == 400
    assert field_errors(refused.text) == [
        "The characters typed do not match the image; try the new one."]
    assert "id=\"verdict\"" not in refused.text  # nothing was looked up
    assert token_of(refused.text) != token
    # what was typed is kept, the answer is not
    assert f'value="{numbers["valid"]}"' in refused.text and 'value="IGCC"' in refused.text
    assert verifications(demo_hub, "captcha_wrong") == 1
    # one guess per captcha: the right answer afterwards is refused too
    again = client.post("/verify", data={"number": numbers["valid"], "agency": "IGCC",
                                         "captcha_token": token, "captcha_answer": right})
    assert again.status_code == 400
    assert field_errors(again.text) == [
        "This security check was already used; answer the new one."]
    # the new captcha works
    fresh = token_of(refused.text)
    ok = client.post("/verify", data={"number": numbers["valid"], "agency": "IGCC",
                                      "captcha_token": fresh,
                                      "captcha_answer": oracle.answers[fresh]})
    assert verdict_of(ok.text) == "VALID"


def test_a_captcha_is_answered_once(client: Any, oracle: Any, demo_engine: Engine,
                                    numbers: dict[str, str]) -> None:
    token = token_of(client.get("/verify").text)
    data = {"number": numbers["valid"], "agency": "IGCC", "captcha_token": token,
            "captcha_answer": oracle.answers[token]}
    assert verdict_of(client.post("/verify", data=data).text) == "VALID"
    uses = captcha_uses(demo_engine)
    replay = client.post("/verify", data=data)
    assert replay.status_code == 400
    assert field_errors(replay.text) == [
        "This security check was already used; answer the new one."]
    assert 'id="verdict"' not in replay.text
    assert captcha_uses(demo_engine) == uses


def test_an_expired_captcha_is_refused(client: Any, demo_hub: Any, oracle: Any,
                                       numbers: dict[str, str]) -> None:
    from app.hub.captcha import Captchas

    now = [dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)]
    demo_hub.extras["captchas"] = Captchas(demo_hub.settings.secret, clock=lambda: now[0])
    token = token_of(client.get("/verify").text)
    now[0] += dt.timedelta(minutes=10, seconds=1)
    expired = client.post("/verify", data={"number": numbers["valid"], "agency": "IGCC",
                                           "captcha_token": token,
                                           "captcha_answer": oracle.answers[token]})
    assert expired.status_code == 400
    assert field_errors(expired.text) == [
        "The security check expired (they last 10 minutes); answer the new one."]
    fresh = token_of(expired.text)
    ok = client.post("/verify", data={"number": numbers["valid"], "agency": "IGCC",
                                      "captcha_token": fresh,
                                      "captcha_answer": oracle.answers[fresh]})
    assert verdict_of(ok.text) == "VALID"


@pytest.mark.parametrize("change", ["expiry", "kind", "mac", "garbage", "empty"])
def test_a_changed_captcha_token_is_refused(client: Any, oracle: Any, demo_engine: Engine,
                                            numbers: dict[str, str], change: str) -> None:
    token = token_of(client.get("/verify").text)
    answer = oracle.answers[token]
    captcha_id, expires, kind, mac = token.split(".")
    forged = {
        "expiry": f"{captcha_id}.{int(expires) + 60}.{kind}.{mac}",  # longer life
        "kind": f"{captcha_id}.{expires}.text.{mac}",
        "mac": f"{captcha_id}.{expires}.{kind}.{mac[:-2]}AA",
        "garbage": "<script>alert(1)</script>",
        "empty": "",
    }[change]
    refused = client.post("/verify", data={"number": numbers["valid"], "agency": "IGCC",
                                           "captcha_token": forged, "captcha_answer": answer})
    assert refused.status_code == 400
    assert len(field_errors(refused.text)) == 1
    assert 'id="verdict"' not in refused.text
    assert "<script>alert" not in refused.text


def test_input_problems_one_line_each_and_the_captcha_kept(client: Any, oracle: Any,
                                                          demo_engine: Engine) -> None:
    token = token_of(client.get("/verify").text)
    uses = captcha_uses(demo_engine)
    refused = client.post("/verify", data={"number": "", "agency": "I G<C>",
                                           "captcha_token": token, "captcha_answer": " "})
    assert refused.status_code == 400
    assert field_errors(refused.text) == [
        "Enter the certificate number.",
        "An agency code has only letters, digits and - (for example IGCC).",
        "Type the characters shown in the picture.",
    ]
    assert "There is a problem" in refused.text
    assert "I G&lt;C&gt;" in refused.text and "<C>" not in refused.text
    assert captcha_uses(demo_engine) == uses  # nothing was spent or looked up
    long = client.post("/verify", data={"number": "IGCC/" + "1" * 40, "agency": "A" * 17,
                                        "captcha_token": token, "captcha_answer": "x"})
    assert field_errors(long.text) == [
        "A certificate number has at most 32 characters.",
        "An agency code has at most 16 characters."]


@pytest.mark.parametrize("body", ["many fields", "a file", "huge", "json", "bad bytes"])
def test_a_hostile_form_is_one_clear_refusal(client: Any, demo_hub: Any, demo_engine: Engine,
                                            body: str) -> None:
    uses = captcha_uses(demo_engine)
    post = {
        "many fields": lambda: client.post("/verify", data={f"f{i}": "x" for i in range(30)}),
        "a file": lambda: client.post("/verify", files={"number": ("a.txt", b"IGCC")}),
        "huge": lambda: client.post("/verify", data={
            "number": "A" * 100_000, "agency": "IGCC", "captcha_token": "x" * 10_000,
            "captcha_answer": "y" * 10_000}),
        "json": lambda: client.post("/verify", json={"number": "IGCC/2026/0000001"}),
        "bad bytes": lambda: client.post("/verify", content=b"\xff\xfe=\x00&number=%ff",
                                         headers={"content-type":
                                                  "application/x-www-form-urlencoded"}),
    }[body]
    refused = post()
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/html")
    assert "There is a problem" in refused.text and 'id="verdict"' not in refused.text
    assert token_of(refused.text)
    assert captcha_uses(demo_engine) == uses
    assert verifications(demo_hub, "valid") == 0


def test_nothing_from_the_query_string_is_unescaped(client: Any) -> None:
    page = client.get("/verify", params={"number": '"><script>alert(1)</script>',
                                         "agency": "<b>x"})
    assert page.status_code == 200
    assert "<script>" not in page.text.lower() and "<b>x" not in page.text.lower()
    assert "&quot;&gt;&lt;SCRIPT&gt;" in page.text


def test_the_text_question_instead_of_the_image(client: Any, oracle: Any,
                                                numbers: dict[str, str]) -> None:
    page = client.get("/verify", params={"captcha": "text"})
    question = re.search(r'id="captcha-question">What is (\w+) plus (\w+)\? Answer in '
                         r'digits\.<', page.text)
    assert question and "data:image/png" not in page.text
    token = token_of(page.text)
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    answer = str(words.index(question.group(1)) + words.index(question.group(2)))
    assert answer == oracle.answers[token]
    ok = client.post("/verify", data={"number": numbers["cancelled"], "agency": "IGCC",
                                      "captcha_token": token, "captcha_answer": answer})
    assert verdict_of(ok.text) == "CANCELLED"
    assert 'id="captcha-question"' in ok.text  # the next check asks a question again


def test_old_captcha_uses_are_purged(demo_hub: Any, demo_engine: Engine) -> None:
    from sqlalchemy.orm import Session

    from app.hub.captcha import Captchas
    from app.store.hub_tables import captcha_uses as table

    now = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
    with demo_engine.begin() as connection:
        connection.execute(insert(table), [
            {"captcha_id": "a" * 32, "used_at": now - dt.timedelta(minutes=30)},
            {"captcha_id": "b" * 32, "used_at": now - dt.timedelta(minutes=5)}])
    captchas = Captchas(demo_hub.settings.secret, clock=lambda: now)
    with Session(demo_engine) as session:
        assert captchas.purge_due(session) == 1
        assert captchas.purge_due(session) == 0  # not again within five minutes
    with demo_engine.connect() as connection:
        assert connection.scalars(select(table.c.captcha_id)).all() == ["b" * 32]


# --- the JSON API --------------------------------------------------------------------------

def test_the_api_gives_the_same_answers(client: Any, demo_engine: Engine,
                                        numbers: dict[str, str]) -> None:
    for status, number in numbers.items():
        answer = client.get("/api/v1/verify", params={"number": number, "agency": "igcc"})
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-store"
        body = answer.json()
        assert body["outcome"] == status and body["found"] is True
        assert body["number"] == number and body["agency_code"] == "IGCC"
        assert body["agency_name"] == "Indo-Gulf Chamber of Commerce"
        assert body["office_name"].endswith("Regional Office")
        dt.date.fromisoformat(body["issue_date"])
        assert body["superseded_by"] == (superseding(demo_engine, number)
                                         if status == "superseded" else None)
    unknown = client.get("/api/v1/verify", params={"number": numbers["valid"],
                                                   "agency": "OTHER"}).json()
    assert unknown["outcome"] == "unknown" and unknown["found"] is False
    assert unknown["message"].startswith(UNKNOWN)
    assert unknown["office_name"] is None and unknown["issue_date"] is None


def test_the_api_names_each_input_problem(client: Any) -> None:
    refused = client.get("/api/v1/verify", params={"number": "IGCC 2026", "agency": ""})
    assert refused.status_code == 422
    body = refused.json()
    assert body["kind"] == "InvalidInput"
    assert [p["field"] for p in body["problems"]] == ["number", "agency"]
    assert body["error"] == body["problems"][0]["problem"]
    missing = client.get("/api/v1/verify")
    assert missing.status_code == 422


def test_the_api_is_documented(client: Any) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    number = paths["/api/v1/verify"]["get"]
    assert number["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] \
        .endswith("/CertificateVerdict")
    assert {"422", "429"} <= set(number["responses"])
    qr = paths["/api/v1/verify/qr"]["post"]
    assert qr["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] \
        .endswith("/QrVerdict")
    assert "/verify" not in paths and not any(p.startswith("/v/") for p in paths)
    verdict = schema["components"]["schemas"]["CertificateVerdict"]["properties"]["outcome"]
    assert set(verdict["enum"]) == {"valid", "superseded", "cancelled", "unknown",
                                    "seal_invalid"}


# --- rate limits ---------------------------------------------------------------------------

@pytest.fixture
def limited(tmp_path: Path, demo_engine: Engine) -> Iterator[Any]:
    """The service with 3 page checks and 3 API checks a minute per address."""
    from fastapi.testclient import TestClient

    from app.hub.app import create_app, make_hub

    hub = make_hub(hub_settings(tmp_path, limits={"verify_per_minute": 3,
                                                  "api_per_minute": 3}), demo_engine)
    with TestClient(create_app(hub), base_url="https://testserver") as test_client:
        yield hub, test_client


def test_a_flood_of_page_checks_is_refused_and_changes_nothing(limited: Any,
                                                               demo_engine: Engine,
                                                               numbers: dict[str, str]) -> None:
    hub, client = limited
    oracle = install_oracle(hub)
    tokens = [token_of(client.get("/verify").text) for _ in range(3)]
    uses = captcha_uses(demo_engine)
    flood = [client.post("/verify", data={"number": numbers["valid"], "agency": "IGCC",
                                          "captcha_token": t,
                                          "captcha_answer": oracle.answers[t]})
             for t in tokens]
    for refused in flood:
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["cache-control"] == "no-store"
        assert "Too many checks from your address" in refused.text
        assert 'id="d-status"' not in refused.text
    assert client.get(f"/v/{'A' * 40}").status_code == 429
    assert captcha_uses(demo_engine) == uses  # no captcha spent, nothing looked up
    assert verifications(hub, "valid") == 0
    assert verifications(hub, "rate_limited") == 4
    # another address is not held back by this one's flood
    from fastapi.testclient import TestClient

    from app.hub.app import create_app

    with TestClient(create_app(hub), base_url="https://testserver",
                    client=("203.0.113.9", 4000)) as other:
        assert other.get("/verify").status_code == 200
    # the API keeps its own budget
    api = client.get("/api/v1/verify", params={"number": numbers["valid"], "agency": "IGCC"})
    assert api.json()["outcome"] == "valid"
    # once the minute has passed, the same captchas still work: none was spent
    hub.extras["verify_limits"].page.reset()
    answer = client.post("/verify", data={"number": numbers["valid"], "agency": "IGCC",
                                          "captcha_token": tokens[0],
                                          "captcha_answer": oracle.answers[tokens[0]]})
    assert verdict_of(answer.text) == "VALID"


def test_a_flood_of_api_checks_is_refused(limited: Any, numbers: dict[str, str]) -> None:
    hub, client = limited
    params = {"number": numbers["valid"], "agency": "IGCC"}
    for _ in range(3):
        assert client.get("/api/v1/verify", params=params).status_code == 200
    refused = client.get("/api/v1/verify", params=params)
    assert refused.status_code == 429
    assert refused.json()["kind"] == "TooManyRequests"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # the QR API has its own budget (api_per_minute)
    for _ in range(3):
        assert client.post("/api/v1/verify/qr", json={"payload": "AAAA"}).status_code == 200
    assert client.post("/api/v1/verify/qr", json={"payload": "AAAA"}).status_code == 429
    # and the page its own
    assert client.get("/verify").status_code == 200


# --- the QR address ------------------------------------------------------------------------

@pytest.fixture
def seal(demo_engine: Engine) -> SoftSeal:
    return SoftSeal(demo_engine)


@pytest.mark.parametrize("status", ["valid", "superseded", "cancelled"])
def test_the_qr_address_shows_the_sealed_details_and_the_status(
        client: Any, demo_hub: Any, demo_engine: Engine, seal: SoftSeal,
        numbers: dict[str, str], status: str) -> None:
    from app.documents.qr_payload import parse_qr_payload, qr_url

    number = numbers[status]
    payload = seal.payload(demo_hub.central, number)
    content = parse_qr_payload(payload)
    url = qr_url(demo_hub.settings.public_base_url, payload)
    path = url.removeprefix(demo_hub.settings.public_base_url)
    assert path.startswith("/v/")
    page = client.get(path)
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    expected = {"valid": "VALID", "cancelled": "CANCELLED",
                "superseded": f"SUPERSEDED BY {superseding(demo_engine, number)}"}[status]
    assert verdict_of(page.text) == expected
    assert 'id="seal"' in page.text and "seal verifies" in page.text
    assert f'id="d-iec"><code>{content.exporter_iec}</code>' in page.text
    assert f"({content.destination_country})</dd>" in page.text
    assert f'<code>{content.office_code}</code>' in page.text
    assert "Seal of the issuing agency (<code>IGCC</code>)" in page.text
    assert 'name="captcha_token"' not in page.text  # the seal is the proof


def _hostile_payloads(seal: SoftSeal, payload: bytes) -> dict[str, str]:
    from app.documents.qr_payload import parse_qr_payload

    middle = len(payload) // 2
    changed = payload[:middle] + bytes([payload[middle] ^ 0x01]) + payload[middle + 1:]
    other = ec_payload_signed_elsewhere(payload)
    draft = payload[:len(parse_qr_payload(payload).signed_part) - 8]  # up to the digest
    draft = bytes([draft[0], 1, 0]) + draft[3:]
    return {
        "garbage": "%21%21not-base64%21%21",
        "one character": "A",
        "bad padding bits": b64url(payload)[:-1] + "B" if b64url(payload)[-1] != "B"
        else b64url(payload)[:-1] + "C",
        "truncated": b64url(payload[:-10]),
        "one changed byte": b64url(changed),
        "unknown key": b64url(other),
        "draft": b64url(draft),
        "empty": "",
        "huge": "A" * 5000,
    }


def ec_payload_signed_elsewhere(payload: bytes) -> bytes:
    """The same fields sealed by a key that is in no trust list."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    from app.documents.qr_payload import SIGNING_CONTEXT, parse_qr_payload

    content = parse_qr_payload(payload)
    key = ec.generate_private_key(ec.SECP256R1())
    signed = content.signed_part[:-8] + b"\x99" * 8
    r, s = decode_dss_signature(key.sign(SIGNING_CONTEXT + signed, ec.ECDSA(hashes.SHA256())))
    return signed + r.to_bytes(32, "big") + s.to_bytes(32, "big")


@pytest.mark.parametrize("kind", ["garbage", "one character", "bad padding bits", "truncated",
                                  "one changed byte", "unknown key", "draft", "empty", "huge"])
def test_a_hostile_qr_address_is_a_red_alert(client: Any, demo_hub: Any, seal: SoftSeal,
                                             numbers: dict[str, str], kind: str) -> None:
    from app.documents.qr_payload import parse_qr_payload

    payload = seal.payload(demo_hub.central, numbers["valid"])
    content = parse_qr_payload(payload)
    text = _hostile_payloads(seal, payload)[kind]
    page = client.get(f"/v/{text}")
    if kind == "empty":
        assert page.status_code in (400, 404)
        return
    assert page.status_code in (200, 400), page.text
    assert verdict_of(page.text) == NOT_VERIFIED
    assert 'class="banner banner-alert"' in page.text
    # nothing of the store is told about a payload that does not verify
    assert content.exporter_iec not in page.text
    assert "Regional Office" not in page.text
    assert verifications(demo_hub, "seal_invalid") >= 1


def test_every_changed_byte_fails_the_seal(demo_hub: Any, seal: SoftSeal,
                                           numbers: dict[str, str]) -> None:
    from app.hub.verify_lookup import check_seal

    payload = seal.payload(demo_hub.central, numbers["valid"])
    assert check_seal(demo_hub.central, payload).valid
    for index in range(len(payload)):
        for bit in (0x01, 0x80):
            changed = payload[:index] + bytes([payload[index] ^ bit]) + payload[index + 1:]
            assert not check_seal(demo_hub.central, changed).valid, (index, bit)


def test_the_qr_api(client: Any, demo_hub: Any, seal: SoftSeal,
                    numbers: dict[str, str], demo_engine: Engine) -> None:
    from app.documents.qr_payload import parse_qr_payload, qr_url

    number = numbers["superseded"]
    payload = seal.payload(demo_hub.central, number)
    content = parse_qr_payload(payload)
    for text in (b64url(payload), qr_url("https://coo.example.gov.in", payload)):
        answer = client.post("/api/v1/verify/qr", json={"payload": text})
        assert answer.status_code == 200
        body = answer.json()
        assert body["outcome"] == "superseded"
        assert body["superseded_by"] == superseding(demo_engine, number)
        assert body["seal"]["valid"] is True and body["seal"]["signer"] == "agency seal"
        sealed = body["seal"]["sealed"]
        assert sealed["number"] == number and sealed["exporter_iec"] == content.exporter_iec
        assert sealed["digest"] == content.digest.hex()
    bad = client.post("/api/v1/verify/qr", json={"payload": b64url(payload[:-1])}).json()
    assert bad["outcome"] == "seal_invalid" and bad["found"] is False
    assert bad["seal"]["valid"] is False and bad["seal"]["problem"]
    assert bad["seal"]["sealed"] is None and bad["number"] == ""
    too_long = client.post("/api/v1/verify/qr", json={"payload": "A" * 5000})
    assert too_long.status_code == 422


def test_a_qr_signed_by_an_officers_dsc_before_the_seal(client: Any, demo_hub: Any,
                                                        demo_engine: Engine,
                                                        numbers: dict[str, str]) -> None:
    """Certificates issued before their agency had a seal carry the officer's signature
    in the ``ECOO:`` form; the QR API checks them against the registered DSCs."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    from app.documents.qr_payload import build_qr_payload, encode_qr_text, key_id_for_certificate
    from app.models import DscRegistration, User

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Officer")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(7)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(Encoding.DER)
    with demo_engine.begin() as connection:
        user_id = connection.scalar(select(User.id).order_by(User.id).limit(1))
        connection.execute(insert(DscRegistration.__table__).values(
            user_id=user_id, fingerprint_sha256="ab" * 32,
            key_id=key_id_for_certificate(der).hex(), subject="CN=Test Officer",
            issuer="CN=Test Officer", serial_hex="07", not_before=now, not_after=now,
            certificate_der=der, registered_at=now))
    data, _ = demo_hub.central.certificate_record(numbers["valid"])
    payload = build_qr_payload(data, key_id=key_id_for_certificate(der),
                               sign=lambda m: key.sign(m, ec.ECDSA(hashes.SHA256())),
                               algorithm="ecdsa-p256-sha256")
    body = client.post("/api/v1/verify/qr", json={"payload": encode_qr_text(payload)}).json()
    assert body["outcome"] == "valid" and body["seal"]["signer"] == "officer's DSC"
    assert body["agency_code"] == "IGCC"


# --- PostgreSQL: the service's own role ----------------------------------------------------

def test_public_verification_through_the_services_role_on_postgresql(pg_hub: Any) -> None:
    from fastapi.testclient import TestClient

    from app.hub.app import create_app

    owner = pg_hub.extras["central"].owner_engine()
    numbers = certificate_numbers(owner)
    oracle = install_oracle(pg_hub)
    with TestClient(create_app(pg_hub), base_url="https://testserver") as client:
        answer = check_by_number(client, oracle, numbers["superseded"], "IGCC")
        by = superseding(owner, numbers["superseded"])
        assert verdict_of(answer.text) == (f"SUPERSEDED BY {by}" if by != "None" else
                                           "SUPERSEDED BY AN IN-LIEU CERTIFICATE")
        replay = client.post("/verify", data={
            "number": numbers["valid"], "agency": "IGCC", "captcha_token": oracle.last,
            "captcha_answer": oracle.answers[oracle.last]})
        assert verdict_of(replay.text) == "VALID"
        api = client.get("/api/v1/verify", params={"number": numbers["cancelled"],
                                                   "agency": "IGCC"}).json()
        assert api["outcome"] == "cancelled"
        other = client.get("/api/v1/verify", params={"number": numbers["valid"],
                                                     "agency": "XYZ"}).json()
        assert other["outcome"] == "unknown"
    assert captcha_uses(owner) == 2


def test_the_qr_address_through_the_services_role_on_postgresql(pg_hub: Any) -> None:
    from fastapi.testclient import TestClient

    from app.config import Config
    from app.hub.app import create_app
    from app.services.central import SqlCentral

    owner = pg_hub.extras["central"].owner_engine()
    numbers = certificate_numbers(owner)
    seal = SoftSeal(owner)
    owner_central = SqlCentral(owner, Config(data_dir=Path("."), trust_dir=""))
    payload = seal.payload(owner_central, numbers["valid"])
    with TestClient(create_app(pg_hub), base_url="https://testserver") as client:
        page = client.get(f"/v/{b64url(payload)}")
        assert verdict_of(page.text) == "VALID"
        # the published trust list names the seal with its agency
        seals = client.get("/.well-known/origin-desk/seals.json").json()["seals"]
        assert [(s["agency"], s["key_id"]) for s in seals] == [("IGCC", seal.key_id.hex())]
