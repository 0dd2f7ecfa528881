"""The central interface over HTTPS: a desk that talks to the central service
(``central_url = "https://..."``) instead of the database.

:class:`HttpCentral` implements :class:`app.services.central.CentralLink` with httpx: the
same methods, the same exceptions (a refusal of the service comes back as the class the
direct store raises: ``IssueRefused``, ``ConcurrentIssue``, ``SyncRefused`` ...), and
``CentralUnavailable`` when the service cannot be reached, so the desk goes on offline.

Sign-in: the first call signs the officer in with e-mail and password. The password comes
from the OS keyring, else from ``ask_password`` (a prompt; kept in the keyring after a
successful sign-in), never from a file. An administrator's initial password must be
changed: the prompt asks for a new one. Where the agency asks for the registered DSC at
sign-in, ``prove_dsc`` signs the service's challenge on the officer's token. The session
token lives in memory only; an expired or revoked session signs in again once.

TLS: the service's certificate is checked against the system's store, or against
``central_ca_file`` when the agency runs its own CA.
"""

from __future__ import annotations

import base64
import logging
import ssl
import threading
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from app.errors import UserFacingError
from app.services import central_wire as wire
from app.services.central import (
    ApplicationState,
    CertificateStatusInfo,
    ExtensionRefused,
    VerificationMaterial,
)
from app.services.central_issuing import (
    ConcurrentIssue,
    IssueRefused,
    RecordedIssue,
    Reservation,
)
from app.services.central_wire import WireError
from app.store.link import CentralInfo, CentralUnavailable, Progress, PullBatch, SyncRefused
from app.store.operations import Operation, OperationResult, Refused
from app.store.pull_sql import ApplicationFilter

log = logging.getLogger(__name__)
AskPassword = Callable[[str], "str | None"]
ProveDsc = Callable[[bytes], "tuple[bytes, bytes]"]  # message -> (certificate DER, signature)
KEYRING_SERVICE = "origin-desk-hub"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 120.0  # a first pull of a large office takes a while


class SessionExpired(UserFacingError):
    """The service ended this desk's session (expired, revoked, password changed)."""


# refusal kinds the service names -> the exception a direct store raises
_KINDS: dict[str, type[UserFacingError]] = {
    "IssueRefused": IssueRefused,
    "ConcurrentIssue": ConcurrentIssue,
    "SyncRefused": SyncRefused,
    "Refused": Refused,
    "SessionInvalid": SessionExpired,
    "CentralUnavailable": CentralUnavailable,
    "ExtensionRefused": ExtensionRefused,
}


class HttpCentral:
    """The central interface through the central service (see the module's doc)."""

    def __init__(self, base_url: str, *, ca_file: str = "", ask_password: AskPassword | None = None,
                 prove_dsc: ProveDsc | None = None, client: httpx.Client | None = None,
                 client_name: str = "Origin Desk") -> None:
        self.base_url = base_url.rstrip("/")
        self.ask_password = ask_password
        self.prove_dsc = prove_dsc
        self.client_name = client_name
        self._lock = threading.Lock()
        self._token: str | None = None
        self._email: str | None = None
        self._client = client or httpx.Client(
            base_url=self.base_url, verify=_tls_context(ca_file),
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            headers={"User-Agent": f"origin-desk/{_version()}"},
        )

    @property
    def identity(self) -> str:
        return self.base_url

    def close(self) -> None:
        self._client.close()

    # --- transport -----------------------------------------------------------------------

    def _send(self, method: str, path: str, *, body: Any = None,
              params: dict[str, Any] | None = None, signed: bool = True) -> httpx.Response:
        content = None if body is None else wire.dumps(body)
        headers = {"Content-Type": "application/json"} if content is not None else {}
        for attempt in (1, 2):
            if signed:
                headers["Authorization"] = f"Bearer {self._session()}"
            try:
                response = self._client.request(method, path, content=content, params=params,
                                                headers=headers)
            except httpx.TransportError as exc:
                raise _unavailable(self.base_url, exc) from None
            if response.status_code == 401 and signed and attempt == 1:
                log.info("the central service ended this desk's session; signing in again")
                with self._lock:
                    self._token = None
                continue
            if response.status_code >= 400:
                raise _refusal(response)
            return response
        raise AssertionError("unreachable")

    def _json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        response = self._send(method, path, body=body, **kwargs)
        try:
            return wire.loads(response.content)
        except WireError:
            raise CentralUnavailable(
                f"The central service at {self.base_url} answered {path} with something that "
                "is not JSON; is central_url the service's address?") from None

    # --- sign-in ---------------------------------------------------------------------------

    def _session(self) -> str:
        with self._lock:
            if self._token is None:
                if not self._email:
                    raise SyncRefused("Sign in before syncing with the central service.")
                self._token = self._sign_in(self._email)
            return self._token

    def _sign_in(self, email: str) -> str:
        password = _keyring_get(self.base_url, email)
        from_keyring = password is not None
        for _ in range(3):
            if password is None:
                password = self._ask(f"Password for {email} at {self.base_url}")
            body: dict[str, Any] = {"email": email, "password": password,
                                    "client": self.client_name}
            answer = self._post_sign_in(body)
            kind = answer.get("kind")
            if answer.get("token"):
                _keyring_set(self.base_url, email, body.get("new_password") or password)
                log.info("signed in to the central service as %s", email)
                return str(answer["token"])
            if kind == "PasswordChangeRequired":
                new = self._ask(
                    "Your administrator's initial password must be changed. New password for "
                    f"{email} (at least 12 characters)")
                body["new_password"] = new
                answer = self._post_sign_in(body)
                if answer.get("token"):
                    _keyring_set(self.base_url, email, new)
                    return str(answer["token"])
                raise SyncRefused(str(answer.get("error")))
            if kind == "DscProofRefused" and self.prove_dsc is not None \
                    and "asks for your DSC" in str(answer.get("error")):
                return self._sign_in_with_dsc(email, password)
            if kind == "SignInRefused" and "Wrong" in str(answer.get("error")):
                if from_keyring:
                    _keyring_forget(self.base_url, email)
                    from_keyring = False
                password = None
                continue
            raise SyncRefused(str(answer.get("error") or "The central service refused sign-in."))
        raise SyncRefused("Wrong e-mail address or password (three tries); nothing was sent.")

    def _sign_in_with_dsc(self, email: str, password: str) -> str:
        from app.services.dsc_proof import proof_message

        nonce = self._post_sign_in(None, path="/desk/v1/sign-in/challenge")["nonce"]
        assert self.prove_dsc is not None
        certificate, signature = self.prove_dsc(proof_message(nonce, email))
        answer = self._post_sign_in({
            "email": email, "password": password, "client": self.client_name, "nonce": nonce,
            "dsc_certificate": base64.b64encode(certificate).decode(),
            "dsc_signature": base64.b64encode(signature).decode()})
        if not answer.get("token"):
            raise SyncRefused(str(answer.get("error")))
        _keyring_set(self.base_url, email, password)
        return str(answer["token"])

    def _post_sign_in(self, body: Any, path: str = "/desk/v1/sign-in") -> dict[str, Any]:
        try:
            response = self._client.post(path, json=body if body is not None else {})
        except httpx.TransportError as exc:
            raise _unavailable(self.base_url, exc) from None
        if response.status_code >= 500:
            raise _refusal(response)
        try:
            answer = response.json()
        except ValueError:
            raise CentralUnavailable(f"{self.base_url} is not an Origin Desk central service."
                                     ) from None
        if response.status_code == 422 and answer.get("kind") == "PasswordRejected":
            raise SyncRefused(str(answer.get("error")))
        return answer if isinstance(answer, dict) else {}

    def _ask(self, prompt: str) -> str:
        password = self.ask_password(prompt) if self.ask_password is not None else None
        if not password:
            raise SyncRefused("Sign-in cancelled: no password was given.")
        return password

    def sign_out(self) -> None:
        with self._lock:
            token, self._token = self._token, None
        if token:
            try:
                self._client.post("/desk/v1/sign-out",
                                  headers={"Authorization": f"Bearer {token}"})
            except httpx.TransportError:
                log.info("could not tell the central service about the sign-out")

    # --- sync ------------------------------------------------------------------------------

    def hello(self, email: str | None = None) -> CentralInfo:
        if email:
            email = email.strip().lower()
            with self._lock:
                if email != self._email:
                    self._email, self._token = email, None
        return wire.info_from_wire(self._json("GET", "/desk/v1/hello"))

    def push(self, user_id: int, operations: Sequence[Operation]) -> list[OperationResult]:
        answer = self._json("POST", "/desk/v1/push",
                            {"operations": [wire.operation_to_wire(o) for o in operations]})
        return wire.results_from_wire(wire.mapping(answer, "push").get("results"))

    def pull(self, info: CentralInfo, filter_: ApplicationFilter,
             progress: Progress | None = None) -> PullBatch:
        if progress is not None:
            progress("Receiving changes from the central service")
        batch = wire.pull_from_wire(self._json("POST", "/desk/v1/pull",
                                               {"filter": wire.filter_to_wire(filter_)}))
        if progress is not None:
            for name, _columns, rows in batch.tables:
                if rows:
                    progress(f"Received {len(rows):,} {name.replace('_', ' ')}")
        return batch

    def application_ids(self, office_ids: Sequence[int]) -> list[int]:
        answer = self._json("POST", "/desk/v1/application-ids",
                            {"office_ids": list(office_ids)})
        return list(wire.integers(wire.mapping(answer, "ids").get("ids"), "ids"))

    # --- issuing ---------------------------------------------------------------------------

    def application_states(self, user_id: int, numbers: Sequence[str] = (), *,
                           ids: Sequence[int] = ()) -> list[ApplicationState]:
        answer = self._json("POST", "/desk/v1/application-states",
                            {"numbers": list(numbers), "ids": list(ids)})
        return wire.states_from_wire(wire.mapping(answer, "states").get("states"))

    def reserve(self, user_id: int, application_id: int, desk_session: str) -> Reservation:
        return wire.reservation_from_wire(self._json(
            "POST", "/desk/v1/reserve",
            {"application_id": application_id, "desk_session": desk_session}))

    def record(self, user_id: int, reservation: Reservation, pdf: bytes,
               signer_fingerprint: str, *, esign_txn: str | None = None) -> RecordedIssue:
        body: dict[str, Any] = {
            "reservation": wire.reservation_to_wire(reservation), "pdf": wire.b64(pdf),
            "signer_fingerprint": signer_fingerprint}
        if esign_txn is not None:  # signed with Aadhaar eSign: that transaction's certificate
            body["esign_txn"] = esign_txn
        return wire.recorded_from_wire(self._json("POST", "/desk/v1/record", body))

    def release(self, user_id: int, number: str, reason: str) -> None:
        self._json("POST", "/desk/v1/release", {"number": number, "reason": reason[:2000]})

    def release_abandoned(self, user_id: int, desk_sessions: Sequence[str]) -> list[str]:
        answer = self._json("POST", "/desk/v1/release-abandoned",
                            {"desk_sessions": list(desk_sessions)})
        return list(wire.texts(wire.mapping(answer, "voided").get("voided", []), "voided"))

    def extend_certificate(self, number: str, pdf: bytes) -> None:
        self._json("POST", "/desk/v1/certificates/extend",
                   {"number": number, "pdf": wire.b64(pdf)})

    def wallet_charges(self, user_id: int, application_ids: Sequence[int]) -> list[Any]:
        from decimal import Decimal

        from app.services.wallet import OfficeCharge

        answer = self._json("POST", "/desk/v1/wallet/charges",
                            {"ids": [int(i) for i in application_ids]})
        return [OfficeCharge(str(c["office_code"]), bool(c["ewallet_enabled"]),
                             Decimal(str(c["balance"])),
                             tuple((str(n), str(k), Decimal(str(f))) for n, k, f in c["fees"]))
                for c in answer["charges"]]

    def cancel_certificate(self, user_id: int, application_id: int, reason: str) -> Any:
        from decimal import Decimal

        from app.services.central_issuing import CancelledCertificate

        answer = self._json("POST", "/desk/v1/certificates/cancel",
                            {"application_id": int(application_id), "reason": reason})
        refund = answer.get("refund")
        return CancelledCertificate(str(answer["number"]), str(answer["application_number"]),
                                    None if refund is None else Decimal(str(refund)))

    def trade_events(self, user_id: int) -> Any:
        """The agency's trade events through the service (administrators write)."""
        from app.services.trade_events import HttpTradeEvents

        return HttpTradeEvents(self)

    def certificate_pdf(self, number: str) -> bytes | None:
        try:
            return self._send("GET", "/desk/v1/certificates/pdf",
                              params={"number": number}).content
        except _NotFound:
            return None

    def document_content(self, document_id: int) -> bytes | None:
        try:
            return self._send("GET", f"/desk/v1/documents/{int(document_id)}/content").content
        except _NotFound:
            return None

    # --- Aadhaar eSign, through the service's gateway (docs/ESIGN.md) ---------------------------

    def esign_offer(self) -> Any:
        """Whether the service offers Aadhaar eSign (not offered by a service without the
        gateway, or one that predates it)."""
        from app.services.esign_issuing import NOT_OFFERED, EsignOffer

        try:
            answer = wire.mapping(self._json("GET", "/desk/v1/esign"), "esign")
        except _NotFound:
            return NOT_OFFERED
        return EsignOffer(bool(answer.get("available")), str(answer.get("esp") or ""),
                          int(answer.get("timeout_seconds") or 0))

    def esign_request(self, user_id: int, application_id: int, certificate_number: str,
                      digest_sha256: str, document_name: str) -> Any:
        """Open an eSign transaction for the digest of the certificate being issued."""
        import datetime as dt

        from app.services.esign_issuing import EsignRequest

        answer = wire.mapping(self._json("POST", "/desk/v1/esign/requests", {
            "application_id": int(application_id), "certificate_number": certificate_number,
            "digest_sha256": digest_sha256, "document_name": document_name[:100]}), "esign")
        try:
            expires = dt.datetime.fromisoformat(str(answer["expires_at"]).replace("Z", "+00:00"))
            txn, url = str(answer["txn"]), str(answer["consent_url"])
        except (KeyError, ValueError):
            raise CentralUnavailable("The central service answered the eSign request with "
                                     "something this desk cannot read.") from None
        if not url.startswith(("https://", "http://")):
            raise CentralUnavailable("The central service's eSign consent address is not a "
                                     "web address.")
        return EsignRequest(txn, url, expires)

    def esign_state(self, txn: str) -> Any:
        """How the transaction stands (the CMS and one-time certificate once signed)."""
        from app.services.esign_issuing import EsignFailed, EsignState

        try:
            answer = wire.mapping(self._json("GET", f"/desk/v1/esign/requests/{_txn(txn)}"),
                                  "esign")
        except _NotFound:
            raise EsignFailed(f"The eSign gateway does not know transaction {txn} (made at "
                              "another desk or by another officer?).") from None
        cms, certificate = answer.get("cms"), answer.get("signer_certificate")
        return EsignState(
            str(answer.get("state", "")), str(answer.get("message") or ""),
            wire.unb64(cms, "cms") if cms else None, str(answer.get("signer_name") or ""),
            wire.unb64(certificate, "signer_certificate") if certificate else None)

    def esign_cancel(self, txn: str) -> str:
        """Cancel a pending transaction; the state it is in afterwards."""
        answer = wire.mapping(self._json("POST", f"/desk/v1/esign/requests/{_txn(txn)}/cancel",
                                         {}), "esign")
        return str(answer.get("state", ""))

    # --- DSC registration -----------------------------------------------------------------------

    def registered_fingerprints(self, user_id: int) -> set[str]:
        answer = self._json("GET", "/desk/v1/dsc")
        return set(wire.texts(wire.mapping(answer, "dsc").get("fingerprints", []),
                              "fingerprints"))

    def register_dsc(self, user_id: int, certificate: Any, intermediates: list[bytes]) -> Any:
        import datetime as dt

        from app.services.dsc import RegisteredDsc

        answer = wire.mapping(self._json("POST", "/desk/v1/dsc", {
            "certificate": wire.b64(certificate.der),
            "intermediates": [wire.b64(c) for c in intermediates]}), "dsc")
        return RegisteredDsc(
            id=0, officer_email=self._email or "", fingerprint=str(answer["fingerprint"]),
            key_id=str(answer["key_id"]), subject=certificate.subject,
            issuer=certificate.issuer, serial_hex=format(certificate.serial, "x"),
            not_before=certificate.not_before or dt.datetime.min,
            not_after=certificate.not_after or dt.datetime.max,
            created=bool(answer.get("created")))

    # --- verification -----------------------------------------------------------------------------

    def verification_material(self) -> VerificationMaterial:
        from cryptography import x509

        answer = wire.mapping(self._json("GET", "/desk/v1/verification-material"), "material")
        directory = {}
        for key_hex, der in wire.mapping(answer.get("key_directory", {}), "keys").items():
            try:
                directory[bytes.fromhex(key_hex)] = x509.load_der_x509_certificate(
                    wire.unb64(der, "certificate"))  # type: ignore[arg-type]
            except ValueError:
                log.warning("the service sent an unreadable DSC certificate for %s", key_hex)
        signers = {str(k): str(v) for k, v in wire.mapping(answer.get("signers", {}),
                                                             "signers").items()}
        return VerificationMaterial(directory, signers)

    def certificate_status(self, *, number: str | None = None,
                           pdf_sha256: str | None = None) -> CertificateStatusInfo | None:
        if not number and not pdf_sha256:
            raise UserFacingError("Name a certificate number or a PDF digest to look up.")
        params = {"number": number} if number else {"sha256": pdf_sha256}
        answer = self._json("GET", "/desk/v1/certificates/status", params=params)
        return wire.status_from_wire(wire.mapping(answer, "status").get("status"))

    def seal_trust_list(self) -> dict[str, Any] | None:
        """The agencies' seal certificates as the service publishes them (the desk caches
        them so that sealed QR codes verify offline too)."""
        from app.services.seals import TRUST_LIST_PATH

        answer = self._json("GET", TRUST_LIST_PATH, signed=False)
        return answer if isinstance(answer, dict) else None

    def certificate_record(self, number: str) -> tuple[Any, str]:
        from app.documents.certificate_json import certificate_data_from_dict

        answer = wire.mapping(self._json("GET", "/desk/v1/certificates/record",
                                         params={"number": number}), "record")
        raw = answer.get("data")
        return (None if raw is None else certificate_data_from_dict(raw),
                str(answer.get("status", "")))


class _NotFound(UserFacingError):
    pass


def _txn(txn: str) -> str:
    """A transaction id as a path segment (the gateway's ids are URL-safe; anything else is
    refused here rather than sent)."""
    if not txn or len(txn) > 100 or not all(c.isalnum() or c in "-_." for c in txn):
        raise UserFacingError(f"{txn!r} is not an eSign transaction id.")
    return txn


def _refusal(response: httpx.Response) -> UserFacingError:
    try:
        answer = response.json()
        message, kind = str(answer.get("error", "")), str(answer.get("kind", ""))
    except (ValueError, AttributeError):
        message, kind = "", ""
    if response.status_code == 404:
        return _NotFound(message or "Not found at the central service.")
    if response.status_code in (502, 503, 504) or kind == "CentralUnavailable":
        return CentralUnavailable(
            message or f"The central service is unavailable ({response.status_code}). Your "
            "work stays on this desk and is sent when it is back.")
    klass = _KINDS.get(kind, UserFacingError)
    if kind in ("TradeEventRefused", "TradeEventInvalid"):  # app.services.trade_events
        from app.services import trade_events

        klass = getattr(trade_events, kind)
    return klass(message or f"The central service refused the request ({response.status_code}).")


def _unavailable(base_url: str, exc: Exception) -> CentralUnavailable:
    return CentralUnavailable(
        f"The central service at {base_url} cannot be reached ({type(exc).__name__}"
        + (f": {str(exc).splitlines()[0][:160]}" if str(exc) else "")
        + "). Your work stays on this desk and is sent when the connection returns.")


def _tls_context(ca_file: str) -> ssl.SSLContext:
    """The system's trust store, or the agency's own CA file."""
    if ca_file:
        try:
            return ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise UserFacingError(f"central_ca_file {ca_file} cannot be used as a CA file "
                                  f"({exc}).") from None
    return ssl.create_default_context()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("origin-desk")
    except PackageNotFoundError:
        return "unknown"


# --- the keyring (never a file) -----------------------------------------------------------------

def _keyring_get(base_url: str, email: str) -> str | None:
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, f"{email}@{base_url}")
    except Exception as exc:  # noqa: BLE001 - a broken keyring must not stop sign-in
        log.info("no usable OS keyring (%s): the password is asked", type(exc).__name__)
        return None


def _keyring_set(base_url: str, email: str, password: str) -> None:
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, f"{email}@{base_url}", password)
    except Exception as exc:  # noqa: BLE001 - signing in works without a keyring
        log.info("the password could not be kept in the OS keyring (%s)", type(exc).__name__)


def _keyring_forget(base_url: str, email: str) -> None:
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, f"{email}@{base_url}")
    except Exception:  # noqa: BLE001 - nothing stored, or no keyring
        pass
