"""The agency seal: an ECDSA P-256 key in a PKCS#11 module that seals QR payloads.

The central store seals a certificate's QR payload when the desk reserves its number
(``docs/QR-PAYLOAD.md``), so the officer's token makes exactly one signature per
certificate, the PAdES one. The keys live in a PKCS#11 module: a network HSM in
production, SoftHSM2 in the tests and the embedded demo.

**On the token** each seal is a key pair generated there (private key sensitive, not
extractable) and its certificate, all three under the label
``od-seal/<AGENCY CODE>/<YYYYMMDDTHHMMSSZ>`` (the moment it was made) and the CKA_ID
SHA-1 of the public point. The certificate is self-signed by the seal key itself, its
subject names the agency: verifiers do not chain it to a CA, they find it by key id in the
agency's published trust list (``app/services/seals.py``), which is what they trust. The
newest seal of an agency on the token is the one that seals.

**Configuration** is a plain dict (a ``[seal]`` table of the service's settings, or the
demo's ``seal.json``), checked by :meth:`SealConfig.from_dict`::

    module           path of the PKCS#11 module
    token_label      the token (HSM partition) that holds the seal keys
    pin_file         a file holding the token's user PIN (one line), or
    pin_env          the name of an environment variable holding it (exactly one of the two)
    public_base_url  where the public verification page is served: QR codes are
                     <public_base_url>/v/<base64url payload>

The PIN itself never goes into the configuration, and is never logged nor kept: it is read
from its file or variable when the session is opened (again after a reconnect).

**Threads**: one logged-in read-write session per :class:`Sealer`, opened on first use and
kept for the process; every PKCS#11 call runs on the token thread
(:mod:`app.signing.token_thread`: the modules are initialised for one thread) under the
sealer's lock, so any thread may call it. A session closed under it (the module
re-initialised by a token rescan in this process, an HSM that restarted) is opened again,
once per call. Each signature is checked against the seal certificate before it is used.
Signing hashes on the host and uses ``CKM_ECDSA`` (SoftHSM2 and most HSMs have it;
``CKM_ECDSA_SHA256`` is missing from SoftHSM2 2.6): the token returns ``r || s``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from app.errors import UserFacingError
from app.signing.errors import SigningError, TokenError, TokenRemoved, from_pkcs11
from app.signing.token_thread import run_in_token_thread

log = logging.getLogger(__name__)

SEAL_ALGORITHM = "ecdsa-p256-sha256"  # the QR payload's algorithm name (qr_payload.py)
LABEL_PREFIX = "od-seal/"
REFRESH_SECONDS = 60.0  # how long the list of seals read from the token is trusted
CONFIG_KEYS = ("module", "token_label", "pin_file", "pin_env", "public_base_url")
SEAL_VALIDITY = dt.timedelta(days=3653)
SEAL_UNIT = "Certificate of Origin QR seal"  # the OU of every seal certificate
_STAMP = "%Y%m%dT%H%M%SZ"
_AGENCY_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SealConfigError(UserFacingError):
    """The seal configuration has a bad key; the one-line message names it."""


class SealError(TokenError):
    """The agency seal cannot seal now (module, token, PIN or key); one line says why.

    A :class:`~app.signing.errors.TokenError`: a batch stops at the first one instead of
    voiding a number for every certificate left."""


def _bad(key: str, problem: str) -> SealConfigError:
    return SealConfigError(f"seal configuration: {key}: {problem}")


@dataclass(frozen=True)
class SealConfig:
    module: str
    token_label: str
    public_base_url: str
    pin_file: Path | None = None
    pin_env: str | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *,
                  public_base_url: str | None = None) -> SealConfig:
        """Check ``raw`` (see the module doc); a bad key raises SealConfigError naming it.
        ``public_base_url`` stands in when ``raw`` has none (the service's settings keep it
        in ``[server]``)."""
        if isinstance(raw, Mapping) and public_base_url and "public_base_url" not in raw:
            raw = {**raw, "public_base_url": public_base_url}
        if not isinstance(raw, Mapping):
            raise SealConfigError(
                "seal configuration: expected a table with module, token_label, pin_file "
                f"or pin_env, and public_base_url, not {type(raw).__name__}")
        for key in raw:
            if not isinstance(key, str) or key not in CONFIG_KEYS:
                if isinstance(key, str) and "pin" in key.lower():
                    raise _bad(key, "a PIN never goes into the configuration; name a "
                               "pin_file or a pin_env that holds it")
                raise _bad(str(key), "unknown setting; expected " + ", ".join(CONFIG_KEYS))
        module = _text(raw, "module")
        if not os.path.isfile(module):
            raise _bad("module", f"{module} is not a file; give the path of the PKCS#11 "
                       "module (e.g. /usr/lib/softhsm/libsofthsm2.so)")
        label = _text(raw, "token_label")
        if len(label.encode()) > 32:
            raise _bad("token_label", "is longer than 32 bytes, the most a token label has")
        has_file, has_env = raw.get("pin_file") is not None, raw.get("pin_env") is not None
        if has_file == has_env:
            raise _bad("pin_file" if has_file else "pin_env",
                       "give exactly one of pin_file and pin_env")
        pin_file = pin_env = None
        if has_file:
            pin_file = Path(_text(raw, "pin_file")).expanduser()
            if not pin_file.is_file():
                raise _bad("pin_file", f"{pin_file} is not a file")
            if os.name == "posix" and pin_file.stat().st_mode & 0o077:
                log.warning("the seal PIN file %s can be read by other users; chmod 600 it",
                            pin_file)
        else:
            pin_env = _text(raw, "pin_env")
            if not _ENV_NAME.match(pin_env):
                raise _bad("pin_env", f"{pin_env!r} is not an environment variable name")
            if not os.environ.get(pin_env):
                raise _bad("pin_env", f"the environment variable {pin_env} is not set")
        base = _text(raw, "public_base_url").rstrip("/")
        from app.documents.qr_payload import QrPayloadError, qr_url

        try:
            qr_url(base, b"")
        except QrPayloadError:
            raise _bad("public_base_url", f"{base!r} is not an http(s) address without "
                       "query or fragment, such as https://verify.example.org") from None
        return cls(module=module, token_label=label, public_base_url=base,
                   pin_file=pin_file, pin_env=pin_env)

    def to_dict(self) -> dict[str, str]:
        """The settings as a plain dict (no PIN: only where it is)."""
        out = {"module": self.module, "token_label": self.token_label,
               "public_base_url": self.public_base_url}
        if self.pin_file is not None:
            out["pin_file"] = str(self.pin_file)
        if self.pin_env is not None:
            out["pin_env"] = self.pin_env
        return out

    def _read_pin(self) -> str:
        if self.pin_env is not None:
            pin = os.environ.get(self.pin_env, "")
            where = f"the environment variable {self.pin_env}"
        else:
            assert self.pin_file is not None
            where = f"the PIN file {self.pin_file}"
            try:
                pin = self.pin_file.read_text(encoding="utf-8").strip("\r\n")
            except (OSError, UnicodeDecodeError) as exc:
                raise SealError(f"The seal PIN cannot be read from {where}: "
                                f"{getattr(exc, 'strerror', None) or exc}.") from None
        if not pin:
            raise SealError(f"The seal PIN in {where} is empty.")
        return pin

    @property
    def pin_source(self) -> str:
        return (f"the environment variable {self.pin_env}" if self.pin_env is not None
                else f"the PIN file {self.pin_file}")


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None:
        raise _bad(key, "is missing")
    if not isinstance(value, str) or not value.strip():
        raise _bad(key, "must be non-empty text")
    return value.strip()


@dataclass(frozen=True)
class SealKey:
    """One seal on the token: its agency, label and certificate (the public part)."""

    agency_code: str
    label: str
    certificate_der: bytes

    @property
    def key_id(self) -> bytes:
        from app.documents.qr_payload import key_id_for_certificate

        return key_id_for_certificate(self.certificate_der)

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.certificate_der)

    @property
    def created_at(self) -> dt.datetime:
        return dt.datetime.strptime(self.label.rsplit("/", 1)[1], _STAMP).replace(tzinfo=dt.UTC)


def seal_label(agency_code: str, moment: dt.datetime) -> str:
    return f"{LABEL_PREFIX}{agency_code}/{moment.astimezone(dt.UTC):{_STAMP}}"


def _parse_label(label: str) -> tuple[str, str] | None:
    parts = label.split("/")
    if len(parts) != 3 or parts[0] + "/" != LABEL_PREFIX or not _AGENCY_CODE.match(parts[1]):
        return None
    try:
        dt.datetime.strptime(parts[2], _STAMP)
    except ValueError:
        return None
    return parts[1], parts[2]


@dataclass
class _OnToken:
    key: SealKey
    private_key: Any  # the python-pkcs11 private key object of the open session
    public_key: ec.EllipticCurvePublicKey


class Sealer:
    """Seals with the agencies' keys on one PKCS#11 token (see the module doc).

    ``Sealer.from_dict({"module": ..., "token_label": ..., "pin_file": ...,
    "public_base_url": ...})`` (or ``Sealer.from_dict(settings.seal,
    public_base_url=settings.public_base_url)``); nothing touches the module before the
    first use. :meth:`close` at the end of the process.
    """

    def __init__(self, config: SealConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._session: Any = None
        self._generation = -1
        self._keys: dict[str, _OnToken] = {}  # label -> key
        self._newest: dict[str, str] = {}  # agency code -> label
        self._keys_read_at = float("-inf")
        self._closed = False
        self._opened = False

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *,
                  public_base_url: str | None = None) -> Sealer:
        return cls(SealConfig.from_dict(raw, public_base_url=public_base_url))

    @property
    def public_base_url(self) -> str:
        return self.config.public_base_url

    def __repr__(self) -> str:  # never the PIN
        return f"<Sealer token={self.config.token_label!r} module={self.config.module!r}>"

    # --- sealing ----------------------------------------------------------------------------

    def seal_key(self, agency_code: str) -> SealKey:
        """The agency's current seal (the newest on the token); SealError when it has none."""
        return self._run(self._current, agency_code.strip().upper()).key

    def sign(self, label: str, message: bytes) -> bytes:
        """The 64-byte ``r || s`` ECDSA P-256 / SHA-256 signature of ``message`` with the
        seal ``label``, checked against its certificate."""
        return self._run(self._sign, label, bytes(message))

    def qr_signer(self, agency_code: str) -> Any:
        """A :class:`~app.documents.qr_payload.QrSigner` sealing with the agency's seal."""
        from app.documents.qr_payload import QrSigner

        key = self.seal_key(agency_code)
        return QrSigner(key_id=key.key_id, algorithm=SEAL_ALGORITHM,
                        sign=lambda message: self.sign(key.label, message))

    def seal_keys(self) -> list[SealKey]:
        """Every seal on the token, oldest first."""
        def read(session: Any) -> list[SealKey]:
            self._read_keys(session)
            return [k.key for _label, k in sorted(self._keys.items())]

        return self._run(read)

    # --- creating --------------------------------------------------------------------------

    def generate(self, agency_code: str, agency_name: str,
                 now: dt.datetime | None = None) -> SealKey:
        """A new seal for the agency: key pair generated on the token, certificate made and
        stored next to it. It becomes the agency's current seal on this token."""
        code = agency_code.strip().upper()
        if not _AGENCY_CODE.match(code):
            raise SealError(f"{agency_code!r} is not an agency code a seal label can carry.")
        moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
        return self._run(self._generate, code, agency_name, moment)

    def delete(self, label: str) -> None:
        """Remove a seal's objects from the token (undo a creation that was not recorded)."""
        def remove(session: Any) -> None:
            from pkcs11 import Attribute

            for obj in list(session.get_objects({Attribute.LABEL: label})):
                obj.destroy()
            self._keys_read_at = float("-inf")

        self._run(remove)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            run_in_token_thread(self._drop)

    # --- the session ------------------------------------------------------------------------

    def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self._lock:
            if self._closed:
                raise SealError("The agency seal was closed.")
            return run_in_token_thread(self._with_session, fn, *args)

    def _with_session(self, fn: Callable[..., Any], *args: Any) -> Any:
        from app.signing.discovery import reinitialisations

        for attempt in (1, 2):
            try:
                if self._session is None or self._generation != reinitialisations():
                    self._open()
                return fn(self._session, *args)
            except SigningError:
                raise
            except Exception as exc:
                mapped = from_pkcs11(exc, label=self.config.token_label)
                if mapped is None:
                    raise
                self._drop()
                if isinstance(mapped, TokenRemoved) and attempt == 1:
                    log.warning("the seal token's session was closed; opening it again")
                    continue
                raise SealError(
                    f"The agency seal's token '{self.config.token_label}' failed "
                    f"({type(exc).__name__}{': ' + str(exc) if str(exc) else ''}).") from None
        raise AssertionError("unreachable")

    def _open(self) -> None:
        import pkcs11

        from app.signing.discovery import load_module, reinitialisations

        self._drop()
        label, module = self.config.token_label, self.config.module
        try:
            # the first time, re-initialise the module (unless an officer's session is open
            # on it) so that it sees the tokens and the configuration of now; later, only
            # when the token is not found (re-initialising closes other sessions)
            token = _find_token(load_module(module, rescan=not self._opened), label)
            if token is None and self._opened:  # made after the module was initialised
                token = _find_token(load_module(module, rescan=True), label)
        except TokenError as exc:
            raise SealError(f"The agency seal's module {module} cannot be used: {exc}") from None
        if token is None:
            raise SealError(f"No seal token labelled '{label}' in {module}; create it (or "
                            "correct token_label in the seal configuration).")
        pin = self.config._read_pin()
        try:
            session = token.open(rw=True, user_pin=pin)
        except pkcs11.UserAlreadyLoggedIn:  # another session of this process logged in
            session = token.open(rw=True)
        except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange):
            raise SealError(f"The PIN in {self.config.pin_source} is not the PIN of the seal "
                            f"token '{label}'.") from None
        except pkcs11.PinLocked:
            raise SealError(f"The seal token '{label}' has its PIN locked.") from None
        finally:
            del pin
        self._session = session
        self._generation = reinitialisations()
        self._opened = True
        log.info("seal token %s opened", label)

    def _drop(self) -> None:
        session, self._session = self._session, None
        self._keys, self._newest = {}, {}
        self._keys_read_at = float("-inf")
        if session is not None:
            try:
                session.close()
            except Exception as exc:  # already gone with its module or HSM
                log.debug("closing the seal session: %s", type(exc).__name__)

    # --- on the token thread, with the session --------------------------------------------

    def _read_keys(self, session: Any) -> None:
        from pkcs11 import Attribute, ObjectClass

        keys: dict[str, _OnToken] = {}
        newest: dict[str, str] = {}
        # one search at a time on a session: list the certificates before the key look-ups
        for cert in list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})):
            label = str(cert[Attribute.LABEL])
            parsed = _parse_label(label)
            if parsed is None:
                continue
            code, _stamp = parsed
            der = bytes(cert[Attribute.VALUE])
            private = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                                                Attribute.ID: bytes(cert[Attribute.ID])}))
            if len(private) != 1:
                log.warning("seal %s has %d private keys on the token; skipped", label,
                            len(private))
                continue
            public = x509.load_der_x509_certificate(der).public_key()
            if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(
                    public.curve, ec.SECP256R1):
                log.warning("seal %s is not an ECDSA P-256 key; skipped", label)
                continue
            keys[label] = _OnToken(SealKey(code, label, der), private[0], public)
            if label > newest.get(code, ""):
                newest[code] = label
        self._keys, self._newest = keys, newest
        self._keys_read_at = time.monotonic()

    def _current(self, session: Any, code: str) -> _OnToken:
        if time.monotonic() - self._keys_read_at > REFRESH_SECONDS or code not in self._newest:
            self._read_keys(session)
        label = self._newest.get(code)
        if label is None:
            raise SealError(
                f"Agency {code} has no seal on the token '{self.config.token_label}'; create "
                f"one with 'origin-desk seal create --agency {code}'.")
        return self._keys[label]

    def _sign(self, session: Any, label: str, message: bytes) -> bytes:
        from pkcs11 import Mechanism

        on_token = self._keys.get(label)
        if on_token is None:
            self._read_keys(session)
            on_token = self._keys.get(label)
        if on_token is None:
            raise SealError(f"The seal {label} is no longer on the token "
                            f"'{self.config.token_label}'.")
        digest = hashlib.sha256(message).digest()
        signature = _raw_signature(on_token.private_key.sign(digest, mechanism=Mechanism.ECDSA))
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        try:
            on_token.public_key.verify(encode_dss_signature(r, s), message,
                                       ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise SealError(f"The seal {label} on the token does not match its certificate; "
                            "it cannot seal.") from None
        return signature

    def _generate(self, session: Any, code: str, agency_name: str,
                  moment: dt.datetime) -> SealKey:
        from pkcs11 import Attribute, CertificateType, KeyType, Mechanism, ObjectClass
        from pkcs11.util.ec import encode_named_curve_parameters

        label = seal_label(code, moment)
        if list(session.get_objects({Attribute.LABEL: label})):
            raise SealError(f"A seal labelled {label} is already on the token; wait a second "
                            "and try again.")
        parameters = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
            local=True)
        public, private = parameters.generate_keypair(
            store=True, label=label,
            public_template={Attribute.VERIFY: True, Attribute.TOKEN: True},
            private_template={Attribute.SIGN: True, Attribute.SENSITIVE: True,
                              Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True,
                              Attribute.TOKEN: True},
        )
        try:
            point = _ec_point(bytes(public[Attribute.EC_POINT]))
            cka_id = hashlib.sha1(point).digest()  # as DSC middleware does
            public[Attribute.ID] = cka_id
            private[Attribute.ID] = cka_id
            public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)

            def sign_tbs(tbs: bytes) -> bytes:
                raw = _raw_signature(private.sign(hashlib.sha256(tbs).digest(),
                                                  mechanism=Mechanism.ECDSA))
                return encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                            int.from_bytes(raw[32:], "big"))

            certificate = self_signed_seal_certificate(public_key, code, agency_name, moment,
                                                       sign_tbs)
            der = certificate.public_bytes(Encoding.DER)
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True, Attribute.LABEL: label, Attribute.ID: cka_id,
                Attribute.VALUE: der, Attribute.SUBJECT: certificate.subject.public_bytes(),
                Attribute.ISSUER: certificate.issuer.public_bytes(),
            })
        except BaseException:
            for obj in (public, private):
                try:
                    obj.destroy()
                except Exception as exc:  # the first error matters more
                    log.debug("removing a half-made seal key: %s", type(exc).__name__)
            raise
        self._keys_read_at = float("-inf")  # read again on the next use
        log.info("seal %s generated on token %s", label, self.config.token_label)
        return SealKey(code, label, der)


def _find_token(lib: Any, label: str) -> Any:
    for slot in lib.get_slots(token_present=True):
        token = slot.get_token()
        if token.label == label:
            return token
    return None


def _ec_point(value: bytes) -> bytes:
    """The uncompressed point from CKA_EC_POINT (DER OCTET STRING, or raw on some tokens)."""
    if len(value) == 65 and value[0] == 4:
        return value
    from asn1crypto.core import OctetString

    return bytes(OctetString.load(value).native)


def _raw_signature(signature: bytes) -> bytes:
    if len(signature) == 64:
        return bytes(signature)
    try:  # a few modules answer DER
        r, s = decode_dss_signature(bytes(signature))
    except ValueError:
        raise SealError(f"The seal token returned a {len(signature)}-byte ECDSA signature; "
                        "expected 64 bytes r||s.") from None
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def self_signed_seal_certificate(
    public_key: ec.EllipticCurvePublicKey, agency_code: str, agency_name: str,
    moment: dt.datetime, sign_tbs: Callable[[bytes], bytes],
) -> x509.Certificate:
    """The seal's certificate, self-signed with a key held elsewhere: ``sign_tbs(tbs)``
    returns the DER ECDSA-SHA256 signature of the to-be-signed bytes.

    ``cryptography`` signs only with keys it holds, so the certificate is first built and
    signed with a throwaway P-256 key (same algorithm identifier, so the same TBS bytes),
    then its signature value is replaced by the seal key's own.
    """
    from asn1crypto import x509 as asn1_x509

    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "IN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, (agency_name or agency_code)[:64]),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, SEAL_UNIT),
        x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, agency_code),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{agency_code} QR seal"[:64]),
    ])
    throwaway = ec.generate_private_key(ec.SECP256R1())
    draft = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - dt.timedelta(days=1))
        .not_valid_after(moment + SEAL_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False,
                                     False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(throwaway, hashes.SHA256())
    )
    parsed = asn1_x509.Certificate.load(draft.public_bytes(Encoding.DER))
    der = asn1_x509.Certificate({
        "tbs_certificate": parsed["tbs_certificate"],
        "signature_algorithm": parsed["signature_algorithm"],
        "signature_value": sign_tbs(draft.tbs_certificate_bytes),
    }).dump()
    certificate = x509.load_der_x509_certificate(der)
    try:
        certificate.verify_directly_issued_by(certificate)
    except (InvalidSignature, ValueError, TypeError):
        raise SealError("The seal certificate's self-signature does not verify.") from None
    return certificate
