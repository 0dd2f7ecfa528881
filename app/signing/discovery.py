"""Which tokens are plugged in, what they hold, and which certificate should sign.

Everything that touches a module runs on the token thread (:mod:`app.signing.token_thread`).
Discovery never logs in: it reads the PIN-state flags (count low, final try, locked) from
the token before any PIN is asked, and lists certificates (public objects). Private keys are
usually private objects, invisible before login, so a certificate's ``has_private_key`` is
``None`` (unknown) until a logged-in session confirms it (:mod:`app.signing.token_session`).

Modules see tokens present at ``C_Initialize``; SoftHSM2 also reads ``SOFTHSM2_CONF`` only
then. A rescan therefore re-initialises a module (``C_Finalize`` + ``C_Initialize``), but
only when no :class:`~app.signing.token_session.TokenSession` of ours is open on it, since
that would close it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.signing.certificates import CertificateInfo
from app.signing.errors import (
    ModuleNotFound,
    NoSigningCertificate,
    NoTokenPresent,
    SeveralSigningCertificates,
    SeveralTokens,
    SigningError,
    from_pkcs11,
)
from app.signing.token_thread import run_in_token_thread

log = logging.getLogger(__name__)

_sessions_lock = threading.Lock()
_open_sessions: dict[str, int] = {}
_reinitialisations = 0  # C_Finalize + C_Initialize done here: older sessions are gone


def reinitialisations() -> int:
    """How many times a module was re-initialised by a rescan in this process. A session
    opened before the count changed may be closed (its handle even reused): reopen it."""
    return _reinitialisations


def session_opened(module_path: str) -> None:
    with _sessions_lock:
        _open_sessions[module_path] = _open_sessions.get(module_path, 0) + 1


def session_closed(module_path: str) -> None:
    with _sessions_lock:
        _open_sessions[module_path] = max(0, _open_sessions.get(module_path, 0) - 1)


def _has_open_sessions(module_path: str) -> bool:
    with _sessions_lock:
        return _open_sessions.get(module_path, 0) > 0


@dataclass(frozen=True)
class PinState:
    """The user-PIN flags a token reports before login."""

    count_low: bool = False
    final_try: bool = False
    locked: bool = False
    to_be_changed: bool = False

    @classmethod
    def from_flags(cls, flags: int) -> PinState:
        from pkcs11 import TokenFlag

        return cls(
            count_low=bool(flags & TokenFlag.USER_PIN_COUNT_LOW),
            final_try=bool(flags & TokenFlag.USER_PIN_FINAL_TRY),
            locked=bool(flags & TokenFlag.USER_PIN_LOCKED),
            to_be_changed=bool(flags & TokenFlag.USER_PIN_TO_BE_CHANGED),
        )

    def warnings(self) -> list[str]:
        """Sentences to show above the PIN field (empty when all is well)."""
        found = []
        if self.locked:
            found.append("The PIN is locked.")
        elif self.final_try:
            found.append("Final try: one more wrong PIN locks the token.")
        elif self.count_low:
            found.append("A wrong PIN was typed recently: few tries are left before it locks.")
        if self.to_be_changed:
            found.append("The token asks for its PIN to be changed.")
        return found

    def to_dict(self) -> dict[str, bool]:
        return {
            "count_low": self.count_low,
            "final_try": self.final_try,
            "locked": self.locked,
            "to_be_changed": self.to_be_changed,
        }


@dataclass(frozen=True)
class TokenInfo:
    module_path: str
    slot_id: int
    label: str
    serial: str
    manufacturer: str
    model: str
    pin: PinState
    certificates: tuple[CertificateInfo, ...] = ()
    mechanisms: frozenset[str] = frozenset()

    @property
    def signing_candidates(self) -> list[CertificateInfo]:
        """End-entity certificates that are paired with (or may have) a private key."""
        return [c for c in self.certificates if not c.is_ca and c.has_private_key is not False]

    @property
    def ca_certificates(self) -> list[CertificateInfo]:
        return [c for c in self.certificates if c.is_ca]

    @property
    def is_seal_token(self) -> bool:
        """A token of agency seals (:mod:`app.signing.seal`; the demo's sits next to the
        demo token): it holds seal certificates only, and never signs as an officer."""
        from app.signing.seal import SEAL_UNIT

        mark = f"OU={SEAL_UNIT}"
        return bool(self.certificates) and all(mark in c.subject for c in self.certificates)

    def describe(self) -> str:
        return f"'{self.label}' ({self.manufacturer} {self.model}, serial {self.serial})"

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "module": self.module_path,
            "slot": self.slot_id,
            "label": self.label,
            "serial": self.serial,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "pin": self.pin.to_dict(),
            "pin_warnings": self.pin.warnings(),
            "certificates": [c.to_dict(now) for c in self.certificates],
        }


@dataclass(frozen=True)
class ModuleStatus:
    path: str
    explicit: bool
    present: bool
    error: str = ""


@dataclass(frozen=True)
class Discovery:
    modules: tuple[ModuleStatus, ...]
    tokens: tuple[TokenInfo, ...] = field(default=())

    @property
    def module_paths(self) -> list[str]:
        return [m.path for m in self.modules if m.present]


def configured_modules(cfg: Any) -> tuple[list[str], bool]:
    """The config's module paths and whether they were set explicitly (not the defaults)."""
    from app.config import SETTINGS_BY_KEY

    defaults = SETTINGS_BY_KEY["pkcs11_modules"].default()
    paths = list(cfg.pkcs11_modules)
    return paths, paths != defaults


def load_module(path: str, *, rescan: bool = False) -> Any:
    """The python-pkcs11 ``lib`` for ``path`` (loaded once per process); on the token thread."""
    return run_in_token_thread(_load_module, path, rescan)


def _load_module(path: str, rescan: bool) -> Any:
    import pkcs11

    if not os.path.isfile(path):
        raise ModuleNotFound(path, "file not found")
    try:
        lib = pkcs11.lib(path)
        if rescan and not _has_open_sessions(path):
            global _reinitialisations
            _reinitialisations += 1  # counted first: a failed re-init closes sessions too
            lib.reinitialize()
    except pkcs11.PKCS11Error as exc:
        mapped = from_pkcs11(exc)
        if isinstance(mapped, ModuleNotFound):
            raise ModuleNotFound(path, str(exc.args[0]) if exc.args else "") from None
        raise ModuleNotFound(path, type(exc).__name__ + (f": {exc}" if str(exc) else "")) from None
    return lib


def discover_tokens(
    module_paths: Iterable[str], *, explicit: bool = True, rescan: bool = True
) -> Discovery:
    """List the tokens present in ``module_paths``.

    A missing module file raises :class:`ModuleNotFound` when ``explicit`` (the officer
    configured it) and is skipped otherwise (the built-in list of usual driver paths).
    """
    return run_in_token_thread(_discover, list(module_paths), explicit, rescan)


def discover_from_config(cfg: Any, *, rescan: bool = True) -> Discovery:
    paths, explicit = configured_modules(cfg)
    return discover_tokens(paths, explicit=explicit, rescan=rescan)


def _discover(paths: list[str], explicit: bool, rescan: bool) -> Discovery:
    modules: list[ModuleStatus] = []
    tokens: list[TokenInfo] = []
    seen: set[str] = set()
    for path in dict.fromkeys(paths):
        # one module file reached by two paths (a symlink) must be loaded once
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        if not os.path.isfile(path):
            if explicit:
                raise ModuleNotFound(path, "file not found")
            modules.append(ModuleStatus(path, explicit, present=False))
            continue
        try:
            lib = _load_module(path, rescan)
            # an agency seal token (the demo's sits next to the demo token) is no officer's
            found = [t for t in _tokens_of(lib, path) if not t.is_seal_token]
        except SigningError as exc:
            if explicit:
                raise
            log.warning("PKCS#11 module %s skipped: %s", path, exc)
            modules.append(ModuleStatus(path, explicit, present=True, error=str(exc)))
            continue
        modules.append(ModuleStatus(path, explicit, present=True))
        tokens.extend(found)
    log.info("found %d token(s) in %d module(s)", len(tokens), len(modules))
    return Discovery(modules=tuple(modules), tokens=tuple(tokens))


def _tokens_of(lib: Any, path: str) -> Iterable[TokenInfo]:
    import pkcs11
    from pkcs11 import TokenFlag

    try:
        slots = lib.get_slots(token_present=True)
    except pkcs11.PKCS11Error as exc:
        raise from_pkcs11(exc) or exc from None
    for slot in slots:
        try:
            token = slot.get_token()
            if not token.flags & TokenFlag.TOKEN_INITIALIZED:
                continue
            yield read_token(token, path)
        except (pkcs11.TokenNotPresent, pkcs11.TokenNotRecognised, pkcs11.DeviceRemoved):
            continue


def read_token(token: Any, module_path: str, session: Any = None) -> TokenInfo:
    """A :class:`TokenInfo` for a python-pkcs11 token (call on the token thread).

    With a logged-in ``session`` private keys are visible and ``has_private_key`` is exact.
    """
    import pkcs11

    slot = token.slot
    try:
        mechanisms = frozenset(m.name for m in slot.get_mechanisms() if hasattr(m, "name"))
    except pkcs11.PKCS11Error:
        mechanisms = frozenset()
    certs = read_certificates(token, session)
    return TokenInfo(
        module_path=module_path,
        slot_id=int(slot.slot_id),
        label=token.label,
        serial=_text(token.serial),
        manufacturer=token.manufacturer_id,
        model=token.model,
        pin=PinState.from_flags(int(token.flags)),
        certificates=tuple(certs),
        mechanisms=mechanisms,
    )


def read_certificates(token: Any, session: Any = None) -> list[CertificateInfo]:
    from pkcs11 import Attribute, CertificateType, ObjectClass

    own = session is None
    session = session or token.open()
    try:
        private_ids = {
            bytes(k[Attribute.ID])
            for k in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})
        }
        logged_in = not own
        found = []
        for obj in session.get_objects(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            }
        ):
            key_id = bytes(obj[Attribute.ID])
            # before login private keys are usually invisible: then "unknown", not "no"
            has_key = key_id in private_ids if logged_in or private_ids else None
            try:
                found.append(
                    CertificateInfo.from_der(
                        bytes(obj[Attribute.VALUE]), key_id=key_id, has_private_key=has_key
                    )
                )
            except SigningError:
                log.warning("skipping an unreadable certificate object on token %s", token.label)
        return found
    finally:
        if own:
            session.close()


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").strip()
    return str(value).strip()


def choose_token(
    tokens: Sequence[TokenInfo], label: str = "", modules: Sequence[str] = ()
) -> TokenInfo:
    """The token to sign with: the one labelled ``label``, else the only one present."""
    if label:
        matching = [t for t in tokens if t.label == label]
        if not matching:
            raise NoTokenPresent(modules, label)
        if len(matching) > 1:
            raise SeveralTokens([f"{t.label} (serial {t.serial})" for t in matching])
        return matching[0]
    if not tokens:
        raise NoTokenPresent(modules)
    if len(tokens) > 1:
        raise SeveralTokens([t.label for t in tokens])
    return tokens[0]


def choose_signing_certificate(
    token: TokenInfo,
    *,
    now: datetime | None = None,
    fingerprint: str | None = None,
    registered_fingerprints: set[str] | None = None,
) -> CertificateInfo:
    """The certificate on ``token`` that signs: valid now, with a signing key usage.

    Encryption certificates (keyEncipherment only), expired or not-yet-valid ones and CA
    certificates are ignored. ``fingerprint`` picks one explicitly (the officer's choice).
    When several qualify, those registered to the officer are preferred; if still several,
    :class:`SeveralSigningCertificates` carries them in ``.candidates`` for the officer.
    """
    now = now or datetime.now(UTC)
    candidates = token.signing_candidates
    if fingerprint:
        for cert in token.certificates:
            if cert.fingerprint == fingerprint.lower():
                return cert
        raise NoSigningCertificate(token.label, [f"no certificate with SHA-256 {fingerprint}"])
    qualifying = [c for c in candidates if c.qualifies(now)]
    if registered_fingerprints is not None and len(qualifying) > 1:
        registered = [c for c in qualifying if c.fingerprint in registered_fingerprints]
        if registered:
            qualifying = registered
    if len(qualifying) == 1:
        return qualifying[0]
    if not qualifying:
        reasons = [f"{c.describe()}: {', '.join(c.problems(now))}" for c in candidates]
        raise NoSigningCertificate(token.label, reasons)
    raise SeveralSigningCertificates(token.label, qualifying)
