"""A test eSign Service Provider (ESP) after the CCA's eSign API 2.1, for tests only (never
shipped): served by uvicorn with TLS on 127.0.0.1 beside the central service.

- ``POST /esign/2.1/signdoc`` (form ``msg`` = the ASP's signed ``Esign`` XML): checks the
  request and either shows the OTP page or sends the browser back to the ASP's
  ``responseUrl`` with a signed error ``EsignResp`` (``status="0"``) carrying the
  specification's error code: ESP-902 (no ASP id), ESP-903 (unknown ASP), ESP-911 (the
  request's XML signature does not verify with the ASP's registered certificate: tampered
  or signed by another key), ESP-901 (authentication mode not OTP), ESP-905 (no SHA-256
  document hash), ESP-907/ESP-908 (timestamp missing / outside the window), ESP-909 (no
  transaction id), ESP-910 (duplicate transaction id for the ASP: a replay), ESP-992 (not
  parseable).
- ``POST /esign/2.1/otp`` (form ``txn``, ``otp``): the right OTP (:data:`OTP`) makes a
  one-time signer certificate for the test Aadhaar holder under the test eSign CA, a
  detached CMS SignedData over the request's hash (signedAttrs contentType, messageDigest,
  signingTime; SHA-256 with RSA), and the signed ``EsignResp`` (``status="1"``) that the
  page auto-posts to ``responseUrl``. ESP-944 when the holder cancels.

Switches (:class:`EspSwitches`) make it misbehave for the gateway's refusals: sign a CMS
over another digest, date the response an hour back, sign the response with a key the
gateway does not know, or issue the one-time certificate under another CA (same name).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import html
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from app.signing.esign.errors import EsignRefused
from app.signing.esign.messages import (
    XmlSigningKey,
    build_response,
    parse_ts,
    peek,
    read_request,
    sign_xml,
    verify_xml,
)

OTP = "123456"
HOLDER_NAME = "Asha Devi Sharma"
ASP_ID = "IGCC-ASP-TEST"
ESP_NAME = "Test eSign Service Provider"
SIGNDOC_PATH = "/esign/2.1/signdoc"
OTP_PATH = "/esign/2.1/otp"

ERRORS = {
    "ESP-901": "Invalid authentication mode",
    "ESP-902": "Invalid ASP ID. It cannot be empty",
    "ESP-903": "Invalid ASP ID. It may not exist or may be inactive",
    "ESP-905": "Document hash not received",
    "ESP-907": "Request timestamp cannot be empty",
    "ESP-908": "Request timestamp is not valid. Please check the server time",
    "ESP-909": "Transaction ID cannot be empty",
    "ESP-910": "Duplicate transaction ID for the given ASP",
    "ESP-911": "Input XML signature verification failed",
    "ESP-944": "User terminated eSign process",
    "ESP-992": "Input XML parsing error",
}


# --- the test PKI --------------------------------------------------------------------------

def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "IN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Origin Desk tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate(subject: str, key: rsa.RSAPrivateKey, issuer: x509.Certificate | None,
                 issuer_key: rsa.RSAPrivateKey | None, *, ca: bool = False,
                 life: dt.timedelta = dt.timedelta(days=365)) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject))
               .issuer_name(issuer.subject if issuer else _name(subject))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + life)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None),
                              critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            False, False, False, False, False, True, True, False, False), critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(
            True, True, False, False, False, False, False, False, False), critical=True)
    if issuer is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.public_key()), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _signing_key(subject: str) -> tuple[XmlSigningKey, rsa.RSAPrivateKey, x509.Certificate]:
    key = _rsa()
    certificate = _certificate(subject, key, None, None)
    return XmlSigningKey(_key_pem(key), _pem(certificate)), key, certificate


@dataclass
class EsignPki:
    """The ASP's key (the agency's), the ESP's response-signing key, the test eSign CA
    that issues one-time signer certificates, and a stranger's key nobody registered."""

    asp: XmlSigningKey
    esp: XmlSigningKey
    stranger: XmlSigningKey
    ca_key: rsa.RSAPrivateKey = field(repr=False)
    ca: x509.Certificate

    @classmethod
    def make(cls) -> EsignPki:
        asp, _k, _c = _signing_key("IGCC eSign ASP (test)")
        esp, _k, _c = _signing_key("Test ESP response signing")
        stranger, _k, _c = _signing_key("Someone else's key")
        ca_key = _rsa()
        ca = _certificate("Test eSign CA 2026", ca_key, None, None, ca=True,
                          life=dt.timedelta(days=3650))
        return cls(asp=asp, esp=esp, stranger=stranger, ca_key=ca_key, ca=ca)

    def write(self, folder: Path) -> dict[str, str]:
        """The ``[esign]`` files in ``folder`` (the ASP key 0600); their paths by key."""
        folder.mkdir(parents=True, exist_ok=True)
        files = {"asp_key": folder / "asp.key", "asp_certificate": folder / "asp.pem",
                 "esp_certificate": folder / "esp.pem", "esign_ca": folder / "esign-ca.pem"}
        files["asp_key"].touch(mode=0o600)
        os.chmod(files["asp_key"], 0o600)
        files["asp_key"].write_bytes(self.asp.key_pem)
        files["asp_certificate"].write_bytes(self.asp.certificate_pem)
        files["esp_certificate"].write_bytes(self.esp.certificate_pem)
        files["esign_ca"].write_bytes(_pem(self.ca))
        return {k: str(v) for k, v in files.items()}


# --- the ESP -------------------------------------------------------------------------------

@dataclass
class EspSwitches:
    other_digest: bool = False  # the CMS signs another digest than the InputHash
    old_timestamp: bool = False  # the response's ts an hour back
    unknown_key: bool = False  # the response signed with a key the gateway does not know
    other_ca: bool = False  # the one-time certificate issued by a CA the gateway does not know


@dataclass
class _Pending:
    txn: str
    asp_id: str
    digest_hex: str
    response_url: str
    tries: int = 0


class TestEsp:
    """The ESP's state: registered ASPs, transactions seen (replays), pending OTPs."""

    __test__ = False  # not a pytest test class

    def __init__(self, pki: EsignPki, *, window: dt.timedelta = dt.timedelta(minutes=10)
                 ) -> None:
        self.pki = pki
        self.window = window
        self.registered: dict[str, bytes] = {ASP_ID: pki.asp.certificate_pem}
        self.seen: set[tuple[str, str]] = set()
        self.pending: dict[str, _Pending] = {}
        self.switches = EspSwitches()
        self.requests: list[bytes] = []  # what the ESP received (tests look at it)
        self.signed_digests: list[str] = []

    # --- the two pages ---
    def signdoc(self, message: str) -> tuple[int, str]:
        document = message.encode("utf-8")
        self.requests.append(document)
        try:
            request = read_request(peek(document, "Esign"))
        except EsignRefused:
            return 400, _plain_page("Input XML parsing error (ESP-992); no response URL to "
                                    "return to.")
        answer = _Answer(self, request.txn, request.response_url)
        if not request.response_url.startswith("https://"):
            return 400, _plain_page("The request names no https responseUrl (ESP-992).")
        if not request.asp_id:
            return answer.error("ESP-902")
        certificate = self.registered.get(request.asp_id)
        if certificate is None:
            return answer.error("ESP-903")
        try:
            verify_xml(document, certificate)
        except Exception:  # noqa: BLE001 - any verification failure: ESP-911
            return answer.error("ESP-911")
        if request.auth_mode != "1":
            return answer.error("ESP-901")
        if request.hash_algorithm != "SHA256" or len(request.digest_hex) != 64:
            return answer.error("ESP-905")
        if not request.ts:
            return answer.error("ESP-907")
        try:
            moment = parse_ts(request.ts)
        except EsignRefused:
            return answer.error("ESP-908")
        if abs(dt.datetime.now(dt.UTC) - moment) > self.window:
            return answer.error("ESP-908")
        if not request.txn:
            return answer.error("ESP-909")
        if (request.asp_id, request.txn) in self.seen:
            return answer.error("ESP-910")
        self.seen.add((request.asp_id, request.txn))
        self.pending[request.txn] = _Pending(request.txn, request.asp_id,
                                             request.digest_hex.lower(), request.response_url)
        return 200, _otp_page(request.txn, "")

    def otp(self, txn: str, otp: str, cancel: bool = False) -> tuple[int, str]:
        pending = self.pending.get(txn)
        if pending is None:
            return 404, _plain_page("No eSign transaction is waiting for an OTP here.")
        answer = _Answer(self, txn, pending.response_url)
        if cancel:
            del self.pending[txn]
            return answer.error("ESP-944")
        if not secrets.compare_digest(otp.encode(), OTP.encode()):
            pending.tries += 1
            if pending.tries >= 3:
                del self.pending[txn]
                return answer.error("ESP-944")
            return 200, _otp_page(txn, "The OTP is not correct; try again.")
        del self.pending[txn]
        digest = bytes.fromhex(pending.digest_hex)
        if self.switches.other_digest:
            digest = hashlib.sha256(b"another document" + digest).digest()
        certificate_der, cms = self._sign(digest)
        self.signed_digests.append(digest.hex())
        return answer.signed(certificate_der, cms)

    # --- the one-time certificate and the CMS ---
    def _sign(self, digest: bytes) -> tuple[bytes, bytes]:
        from asn1crypto import keys as asn1_keys
        from asn1crypto import x509 as asn1_x509
        from pyhanko.sign.signers import SimpleSigner
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        key = _rsa()
        ca, ca_key = self.pki.ca, self.pki.ca_key
        if self.switches.other_ca:
            ca_key = _rsa()
            ca = _certificate("Test eSign CA 2026", ca_key, None, None, ca=True)
        certificate = _certificate(HOLDER_NAME, key, ca, ca_key, life=dt.timedelta(minutes=30))
        der = certificate.public_bytes(serialization.Encoding.DER)
        ca_der = ca.public_bytes(serialization.Encoding.DER)
        signer = SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(der),
            signing_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption())),
            cert_registry=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(ca_der)]))
        content = asyncio.run(signer.async_sign(digest, "sha256", use_pades=False))
        return der, content.dump()

    # --- the application ---
    def app(self) -> Any:
        app = FastAPI(title="Test eSign Service Provider", docs_url=None, redoc_url=None,
                      openapi_url=None)

        @app.post(SIGNDOC_PATH)
        async def signdoc(request: Request) -> HTMLResponse:
            form = await request.form()
            status, page = self.signdoc(str(form.get("msg", "")))
            return HTMLResponse(page, status_code=status)

        @app.post(OTP_PATH)
        async def otp(request: Request) -> HTMLResponse:
            form = await request.form()
            status, page = await asyncio.to_thread(
                self.otp, str(form.get("txn", "")), str(form.get("otp", "")),
                form.get("cancel") is not None)
            return HTMLResponse(page, status_code=status)

        return app


class _Answer:
    def __init__(self, esp: TestEsp, txn: str, response_url: str) -> None:
        self.esp, self.txn, self.response_url = esp, txn, response_url

    def _post(self, response: bytes) -> tuple[int, str]:
        key = self.esp.pki.stranger if self.esp.switches.unknown_key else self.esp.pki.esp
        signed = sign_xml(response, key)
        return 200, auto_post_page(self.response_url, signed.decode("utf-8"))

    def _ts(self) -> dt.datetime:
        now = dt.datetime.now(dt.UTC)
        return now - dt.timedelta(hours=1) if self.esp.switches.old_timestamp else now

    def error(self, code: str) -> tuple[int, str]:
        return self._post(build_response(txn=self.txn, now=self._ts(), status="0",
                                         res_code=secrets.token_hex(8), err_code=code,
                                         err_msg=ERRORS[code]))

    def signed(self, certificate: bytes, cms: bytes) -> tuple[int, str]:
        return self._post(build_response(txn=self.txn, now=self._ts(), status="1",
                                         res_code=secrets.token_hex(8),
                                         user_certificate=certificate, cms=cms))


def _plain_page(text: str) -> str:
    return f"<!DOCTYPE html><html><body><p>{html.escape(text)}</p></body></html>"


def _otp_page(txn: str, problem: str) -> str:
    return ("<!DOCTYPE html><html><body><h1>Aadhaar OTP</h1>"
            + (f"<p class=\"problem\">{html.escape(problem)}</p>" if problem else "")
            + f"<form method=\"post\" action=\"{OTP_PATH}\">"
            f"<input type=\"hidden\" name=\"txn\" value=\"{html.escape(txn)}\">"
            "<input name=\"otp\" inputmode=\"numeric\"><button type=\"submit\">Sign</button>"
            "</form></body></html>")


def auto_post_page(action: str, message: str) -> str:
    return ("<!DOCTYPE html><html><body onload=\"document.forms[0].submit()\">"
            f"<form method=\"post\" action=\"{html.escape(action)}\">"
            f"<input type=\"hidden\" name=\"msg\" value=\"{html.escape(message)}\">"
            "<button type=\"submit\">Continue</button></form></body></html>")


# --- a browser's reading of a page ---------------------------------------------------------

@dataclass
class Form:
    action: str
    fields: dict[str, str]


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), {}))
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1].fields[values["name"]] = values.get("value", "")


def read_form(page: str) -> Form:
    """The page's first form, as a browser would submit it."""
    reader = _FormReader()
    reader.feed(page)
    assert reader.forms, page[:500]
    return reader.forms[0]


# --- serving it ----------------------------------------------------------------------------

@dataclass
class EspServer:
    """The test ESP on uvicorn with TLS on 127.0.0.1, in a thread."""

    esp: TestEsp
    port: int
    certificate: Path
    key: Path
    server: Any = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def signdoc_url(self) -> str:
        return self.url + SIGNDOC_PATH

    def start(self) -> EspServer:
        import uvicorn

        config = uvicorn.Config(self.esp.app(), host="127.0.0.1", port=self.port,
                                ssl_certfile=str(self.certificate), ssl_keyfile=str(self.key),
                                log_config=None, access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test ESP did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=20)
