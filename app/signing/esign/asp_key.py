"""The ASP's RSA key kept in a PKCS#11 module (an HSM partition; SoftHSM2 in the tests), as
the alternative to a key file: ``[esign] asp_key_module``, ``asp_key_token_label``,
``asp_key_label`` and ``asp_key_pin_file`` (or ``asp_key_pin_env``).

signxml signs with any object that has ``sign(data, padding, algorithm)`` and
``key_size``: :class:`Pkcs11AspKey` hands the canonicalised ``SignedInfo`` to the token
(``CKM_SHA256_RSA_PKCS``, the key never leaves it) and checks each signature against the
ASP certificate before it is used. One logged-in session per process, opened on first use
and again after the module was re-initialised or the session closed; every PKCS#11 call
runs on the token thread (``app.signing.token_thread``) under a lock. The PIN is read from
its file or variable when the session opens, never kept, never logged.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric import rsa

from app.errors import UserFacingError

log = logging.getLogger(__name__)


class AspKeyError(UserFacingError):
    """The ASP key in the PKCS#11 module cannot sign."""


@dataclass(frozen=True)
class AspKeyOnToken:
    module: str
    token_label: str
    key_label: str
    pin_file: Path | None = None
    pin_env: str | None = None
    certificate_pem: bytes = field(default=b"", repr=False)

    def read_pin(self) -> str:
        if self.pin_env is not None:
            pin = os.environ.get(self.pin_env, "")
        else:
            assert self.pin_file is not None
            try:
                pin = self.pin_file.read_text(encoding="utf-8").strip("\r\n")
            except (OSError, UnicodeDecodeError):
                raise AspKeyError(f"The ASP key's PIN cannot be read from {self.pin_file}.") \
                    from None
        if not pin:
            raise AspKeyError("The ASP key's PIN is empty.")
        return pin


class Pkcs11AspKey:
    """The ASP key on its token, as signxml's signing key."""

    def __init__(self, config: AspKeyOnToken) -> None:
        self.config = config
        certificate = x509.load_pem_x509_certificates(config.certificate_pem)[0]
        public = certificate.public_key()
        if not isinstance(public, rsa.RSAPublicKey):
            raise AspKeyError("The ASP certificate's key is not RSA.")
        self._public = public
        self._lock = threading.Lock()
        self._session: Any = None
        self._key: Any = None
        self._generation = -1

    def __repr__(self) -> str:  # never the PIN
        return (f"Pkcs11AspKey(token={self.config.token_label!r}, "
                f"key={self.config.key_label!r})")

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    def sign(self, data: bytes, padding: Any = None, algorithm: Any = None) -> bytes:
        if not isinstance(padding, rsa_padding.PKCS1v15) or not isinstance(
                algorithm, hashes.SHA256):
            raise AspKeyError("The ASP key on the token signs RSA-SHA256 with PKCS#1 v1.5 "
                              "only.")
        from app.signing.token_thread import run_in_token_thread

        with self._lock:
            signature = run_in_token_thread(self._sign, data)
        try:
            self._public.verify(signature, data, rsa_padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise AspKeyError(f"The key '{self.config.key_label}' on the token does not match "
                              "the ASP certificate; it cannot sign.") from None
        return signature

    def close(self) -> None:
        from app.signing.token_thread import run_in_token_thread

        with self._lock:
            run_in_token_thread(self._drop)

    # --- on the token thread ---
    def _sign(self, data: bytes) -> bytes:
        from pkcs11 import Mechanism

        from app.signing.discovery import reinitialisations

        for attempt in (1, 2):
            try:
                if self._session is None or self._generation != reinitialisations():
                    self._open()
                return bytes(self._key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS))
            except AspKeyError:
                raise
            except Exception as exc:  # noqa: BLE001 - a closed session: open it once more
                self._drop()
                if attempt == 2:
                    raise AspKeyError(
                        f"The ASP key's token '{self.config.token_label}' failed "
                        f"({type(exc).__name__}).") from None
        raise AssertionError("unreachable")

    def _open(self) -> None:
        import pkcs11
        from pkcs11 import Attribute, ObjectClass

        from app.signing.discovery import load_module, reinitialisations
        from app.signing.errors import TokenError

        self._drop()
        try:
            lib = load_module(self.config.module)
        except TokenError as exc:
            raise AspKeyError(f"The ASP key's module {self.config.module} cannot be used: "
                              f"{exc}") from None
        token = self._find(lib)
        if token is None:  # attached after the module was loaded (an HSM partition, a token)
            try:
                lib = load_module(self.config.module, rescan=True)
            except TokenError as exc:
                raise AspKeyError(f"The ASP key's module {self.config.module} cannot be "
                                  f"used: {exc}") from None
            token = self._find(lib)
        if token is None:
            raise AspKeyError(f"No token labelled '{self.config.token_label}' in "
                              f"{self.config.module} holds the ASP key.")
        pin = self.config.read_pin()
        try:
            session = token.open(user_pin=pin)
        except pkcs11.UserAlreadyLoggedIn:
            session = token.open()
        except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange):
            raise AspKeyError(f"The PIN given for the ASP key is not the PIN of the token "
                              f"'{self.config.token_label}'.") from None
        finally:
            del pin
        keys = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                                         Attribute.LABEL: self.config.key_label}))
        if len(keys) != 1:
            session.close()
            raise AspKeyError(f"The token '{self.config.token_label}' holds {len(keys)} "
                              f"private keys labelled '{self.config.key_label}'; expected "
                              "one.")
        self._session, self._key = session, keys[0]
        self._generation = reinitialisations()
        log.info("ASP key token %s opened", self.config.token_label)

    def _find(self, lib: Any) -> Any:
        return next((s.get_token() for s in lib.get_slots(token_present=True)
                     if s.get_token().label == self.config.token_label), None)

    def _drop(self) -> None:
        session, self._session, self._key = self._session, None, None
        if session is not None:
            try:
                session.close()
            except Exception as exc:  # noqa: BLE001 - already gone with its module
                log.debug("closing the ASP key session: %s", type(exc).__name__)
