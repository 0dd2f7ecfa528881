"""What can go wrong with a token, a PIN or a signature, told in words an officer can act on.

python-pkcs11 raises exceptions with empty messages, so :func:`from_pkcs11` maps them by
class. pyHanko wraps some of them in ``SigningError``: :func:`root_cause` unwraps
``__cause__``/``__context__`` to find the PKCS#11 exception underneath.

Measured on SoftHSM2 2.6 (see tests/signing): a token whose files are deleted while a
session is open answers ``ObjectHandleInvalid`` to C_Sign and ``GeneralError`` to
C_GetTokenInfo; after ``C_Finalize`` every call raises the base ``PKCS11Error`` ("not
initialized"), and after a fresh ``C_Initialize`` the old session answers
``SessionHandleInvalid``. All of these mean "the token went away": :class:`TokenRemoved`.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.errors import UserFacingError


class SigningError(UserFacingError):
    """Base of every error raised by ``app.signing``."""


class TokenError(SigningError):
    """The token, its session or its PIN failed: a batch must stop here."""


class ModuleNotFound(TokenError):
    def __init__(self, path: str, detail: str = "") -> None:
        self.path = path
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"No PKCS#11 module at {path}{extra}. Install the token's driver or correct "
            "'pkcs11_modules' in the settings."
        )


class NoTokenPresent(TokenError):
    def __init__(self, modules: Sequence[str] = (), label: str = "") -> None:
        self.modules = list(modules)
        self.label = label
        where = ", ".join(self.modules) if self.modules else "no PKCS#11 module found"
        wanted = f" labelled '{label}'" if label else ""
        super().__init__(
            f"No signing token{wanted} is plugged in (looked in: {where}). "
            "Insert the DSC token and try again."
        )


class SeveralTokens(TokenError):
    """More than one token is present and none was chosen; ``labels`` lists them."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        super().__init__(
            "Several tokens are plugged in: " + ", ".join(f"'{x}'" for x in self.labels)
            + ". Choose one (setting 'token_label') or remove the others."
        )


class WrongPin(TokenError):
    def __init__(self, label: str, *, count_low: bool = False, final_try: bool = False) -> None:
        self.label, self.count_low, self.final_try = label, count_low, final_try
        if final_try:
            left = " Only ONE try is left: one more wrong PIN locks the token."
        elif count_low:
            left = " The token reports that few tries are left before it locks."
        else:
            left = ""
        super().__init__(
            f"Wrong PIN for token '{label}'.{left} Nothing was signed; start the batch again "
            "and type the PIN carefully."
        )


class PinLocked(TokenError):
    def __init__(self, label: str) -> None:
        self.label = label
        super().__init__(
            f"The PIN of token '{label}' is locked after too many wrong tries. "
            "Have it unlocked with the token's administration tool (SO PIN) or by the issuer."
        )


class NoPrivateKey(TokenError):
    def __init__(self, label: str, subject: str) -> None:
        self.label, self.subject = label, subject
        super().__init__(
            f"Token '{label}' holds the certificate of {subject} but no private key "
            "with the same ID: this certificate cannot sign. Use the token the certificate "
            "was issued on."
        )


class NoSigningCertificate(TokenError):
    def __init__(self, label: str, reasons: Sequence[str] = ()) -> None:
        self.label = label
        self.reasons = list(reasons)
        why = (" (" + "; ".join(self.reasons) + ")") if self.reasons else ""
        super().__init__(
            f"Token '{label}' holds no certificate that can sign today{why}. "
            "Renew the DSC or use another token."
        )


class SeveralSigningCertificates(TokenError):
    """Several certificates qualify: the caller asks the officer to pick one."""

    def __init__(self, label: str, candidates: Sequence[object]) -> None:
        self.label = label
        self.candidates = list(candidates)
        names = ", ".join(_describe(c) for c in self.candidates)
        super().__init__(
            f"Token '{label}' holds several certificates that can sign: {names}. Choose one."
        )


def _describe(candidate: object) -> str:
    describe = getattr(candidate, "describe", None)
    return str(describe()) if callable(describe) else str(candidate)


class TokenRemoved(TokenError):
    def __init__(self, label: str = "") -> None:
        self.label = label
        name = f"'{label}' " if label else ""
        super().__init__(
            f"The token {name}was removed or its session closed while signing. "
            "Certificates already issued stay issued; plug the token in and sign the rest."
        )


class MechanismNotSupported(TokenError):
    def __init__(self, label: str, mechanism: str) -> None:
        self.label, self.mechanism = label, mechanism
        super().__init__(
            f"Token '{label}' cannot sign with {mechanism}. Use a token whose driver supports "
            "RSA PKCS#1 v1.5 or ECDSA signatures."
        )


class TimestampUnavailable(TokenError):
    """The timestamp server did not answer: every signature of the batch would fail too."""

    def __init__(self, url: str, detail: str = "") -> None:
        self.url = url
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"The timestamp server at {url} did not answer{extra}. Check the network "
            "or the setting 'timestamp_url', then sign the rest."
        )


class RevocationUnavailable(TokenError):
    """An OCSP responder or CRL server of the signer's chain did not answer (B-LTA signing
    embeds their answers): every signature of the batch would fail too."""

    def __init__(self, url: str, detail: str = "") -> None:
        self.url = url
        where = f"at {url} " if url else ""
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"The certificate status server (OCSP or CRL) {where}did not answer{extra}: a "
            "long-term signature needs its answer. Check the network, then sign the rest."
        )


class TokenFailure(TokenError):
    """Any other PKCS#11 failure, named by its class."""

    def __init__(self, label: str, what: str) -> None:
        self.label, self.what = label, what
        name = f"'{label}' " if label else ""
        super().__init__(
            f"The token {name}reported an error ({what}). Unplug and re-insert it; if it "
            "persists, check the token's driver."
        )


class SigningCancelled(SigningError):
    def __init__(self) -> None:
        super().__init__("Signing was cancelled: no PIN was given. Nothing was signed.")


class SigningRefused(SigningError):
    """The signing policy refused the certificate; the message names the rule."""

    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        super().__init__(message)


class InvalidInput(SigningError):
    """An argument from outside (a PDF, a box, an image) cannot be used."""


def root_cause(exc: BaseException) -> BaseException:
    """The innermost PKCS#11 exception behind ``exc`` (pyHanko wraps them), else ``exc``."""
    import pkcs11.exceptions as p11

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, p11.PKCS11Error):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return exc


def from_pkcs11(exc: BaseException, *, label: str = "") -> SigningError | None:
    """Map a (possibly wrapped) python-pkcs11 exception to one of ours; None if not PKCS#11."""
    import pkcs11.exceptions as p11

    cause = root_cause(exc)
    if isinstance(cause, SigningError):
        return cause
    if not isinstance(cause, p11.PKCS11Error):
        return None
    removed = (
        p11.SessionHandleInvalid,
        p11.SessionClosed,
        p11.DeviceRemoved,
        p11.TokenNotPresent,
        p11.TokenNotRecognised,
        p11.ObjectHandleInvalid,
        p11.KeyHandleInvalid,
        p11.DeviceError,
        p11.SlotIDInvalid,
    )
    if isinstance(cause, removed):
        return TokenRemoved(label)
    if isinstance(cause, p11.PinIncorrect | p11.PinInvalid | p11.PinLenRange):
        return WrongPin(label)
    if isinstance(cause, p11.PinLocked):
        return PinLocked(label)
    if isinstance(cause, p11.MechanismInvalid | p11.MechanismParamInvalid):
        return MechanismNotSupported(label, "the requested mechanism")
    if isinstance(cause, p11.NoSuchToken):
        return NoTokenPresent(label=label)
    if type(cause) is p11.PKCS11Error:
        text = str(cause.args[0]) if cause.args else ""
        if "not initialized" in text.lower():  # C_Finalize was called under us
            return TokenRemoved(label)
        if "OS exception while loading" in text:
            return ModuleNotFound(text.split(" while loading ", 1)[-1].split(":", 1)[0])
        if text.startswith("Could not find"):
            return TokenFailure(label, text)
        return TokenFailure(label, text or "PKCS11Error")
    return TokenFailure(label, type(cause).__name__)
