"""One logged-in token session for one batch, owned by the token thread.

:func:`open_token_session` finds the token, picks and checks the certificate (policy),
asks the PIN once through ``ask_pin(token_info, warnings) -> str | None`` (a GUI implements
it with a signal and a ``threading.Event``; a ``None`` answer cancels), logs in, and
returns a :class:`TokenSession`. Every PKCS#11 call then runs on the token thread, and so
does pyHanko's CMS building, on one event loop kept for the session (no ``asyncio.run``,
no executor hop per signature).

The PIN: asked once, used for ``C_Login``, then dropped, except for keys marked
``CKA_ALWAYS_AUTHENTICATE``, which need it for every signature; then it is held in this
object until :meth:`TokenSession.close`. It is never logged, stored or put on a command
line, and a wrong PIN is never retried: the batch stops with :class:`WrongPin`.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509

from app.signing.certificates import CertificateInfo
from app.signing.discovery import (
    TokenInfo,
    choose_signing_certificate,
    choose_token,
    configured_modules,
    discover_tokens,
    read_token,
    session_closed,
    session_opened,
)
from app.signing.errors import (
    InvalidInput,
    MechanismNotSupported,
    NoPrivateKey,
    PinLocked,
    RevocationUnavailable,
    SigningCancelled,
    SigningError,
    TimestampUnavailable,
    TokenError,
    TokenFailure,
    TokenRemoved,
    WrongPin,
    from_pkcs11,
)
from app.signing.policy import check_signing_certificate, load_trust_roots
from app.signing.token_thread import run_in_token_thread

log = logging.getLogger(__name__)

AskPin = Callable[[TokenInfo, list[str]], "str | None"]
"""``ask_pin(token_info, warnings)``: the PIN typed by the officer, or None to cancel."""

BYTES_RESERVED = 16384
# B-LTA: the signature timestamp token (with the TSA's certificate) sits inside /Contents
BYTES_RESERVED_LTA = 32768
NETWORK_TIMEOUT_SECONDS = 10
_BACKGROUNDS_KEPT = 16  # appearance images kept encoded per session

# the sessions open now (a sign-out closes them: close_open_sessions)
_open_sessions: weakref.WeakSet[TokenSession] = weakref.WeakSet()


def close_open_sessions() -> int:
    """Close every token session still open in this process (a sign-out: the officer's
    logged-in sessions end with it); how many were closed."""
    sessions = [s for s in list(_open_sessions) if not s.closed]
    for session in sessions:
        session.close()
    return len(sessions)


_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


@dataclass(frozen=True)
class SignatureBox:
    """Where the visible signature goes: page index (0-based, -1 = last) and box in points."""

    page: int
    box: tuple[float, float, float, float]

    @classmethod
    def checked(cls, page: int, box: Sequence[float]) -> SignatureBox:
        if not isinstance(page, int) or isinstance(page, bool):
            raise InvalidInput(f"The signature page must be a page index, not {page!r}.")
        if len(box) != 4 or not all(isinstance(v, int | float) for v in box):
            raise InvalidInput(f"The signature box must be four numbers (x1, y1, x2, y2): {box!r}")
        x1, y1, x2, y2 = (float(v) for v in box)
        if x2 <= x1 or y2 <= y1 or min(x1, y1) < 0:
            raise InvalidInput(f"The signature box {box!r} is empty or off the page.")
        return cls(page, (x1, y1, x2, y2))


def _signer_class() -> type:
    from asn1crypto import algos, cms
    from pyhanko.sign import attributes
    from pyhanko.sign.pkcs11 import PKCS11Signer

    class CachedSigningCertificateV2(attributes.CMSAttributeProvider):  # type: ignore[misc]
        """The signing-certificate-v2 attribute, built once per session.

        pyHanko rebuilds it for every signature, and asn1crypto's deep copy of the issuer
        name makes that ~24 ms of the ~30 ms of building a CMS here; the value depends on
        the signing certificate only, so the DER is cached and re-loaded.
        """

        attribute_type = "signing_certificate_v2"

        def __init__(self, inner: Any, cache: dict[str, bytes]) -> None:
            self.inner, self.cache = inner, cache

        async def get_attribute(self, dry_run: bool = False) -> Any:
            if "der" not in self.cache:
                self.cache["der"] = (await self.inner.get_attribute(dry_run)).dump()
            return cms.CMSAttribute.load(self.cache["der"])

    class TokenThreadSigner(PKCS11Signer):  # type: ignore[misc]
        """PKCS11Signer that signs on the calling thread (the token thread), not an executor.

        It also keeps, per session, the DER of what every signature repeats (the signer's
        identifier, the certificate set): asn1crypto deep-copies such values each time it
        re-tags them into a SignerInfo or SignedData, which costs more than the CMS itself.
        A value loaded from DER with the field's own tagging is taken as it is.
        """

        _attribute_cache: dict[str, bytes] | None = None
        _der_cache: dict[str, bytes] | None = None

        def _cached_der(self, key: str, build: Callable[[], Any]) -> bytes:
            if self._der_cache is None:
                self._der_cache = {}
            if key not in self._der_cache:
                self._der_cache[key] = build().dump()
            return self._der_cache[key]

        def signer_info(self, digest_algorithm: str, signed_attrs: Any, signature: bytes) -> Any:
            cert = self.signing_cert
            if digest_algorithm == "shake256" or cert is None:
                return super().signer_info(digest_algorithm, signed_attrs, signature)
            sid = self._cached_der("sid", lambda: cms.SignerIdentifier({
                "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                    {"issuer": cert.issuer, "serial_number": cert.serial_number}
                )
            }))
            return cms.SignerInfo({
                "version": "v1",
                "sid": cms.SignerIdentifier.load(sid),
                "digest_algorithm": algos.DigestAlgorithm({"algorithm": digest_algorithm}),
                "signed_attrs": _implicit_zero(cms.CMSAttributes, signed_attrs.dump()),
                "signature_algorithm": self.get_signature_mechanism_for_digest(
                    digest_algorithm
                ),
                "signature": signature,
            })

        def _package_signature(
            self, *, digest_algorithm: str, cms_version: Any, signed_attrs: Any,
            signature: bytes, unsigned_attrs: Any, encap_content_info: Any,
        ) -> Any:
            # pyHanko 0.38's SignedData assembly, with the certificate set built once
            sig_info = self.signer_info(digest_algorithm, signed_attrs, signature)
            if unsigned_attrs is not None:
                sig_info["unsigned_attrs"] = unsigned_attrs
            certificates = self._cached_der("certificates", self._certificate_set)
            signed_data = {
                "version": cms_version,
                "digest_algorithms": cms.DigestAlgorithms((sig_info["digest_algorithm"],)),
                "encap_content_info": encap_content_info or {"content_type": "data"},
                "certificates": cms.CertificateSet.load(certificates, implicit=0),
                "signer_infos": [sig_info],
            }
            return cms.ContentInfo({
                "content_type": cms.ContentType("signed_data"),
                "content": cms.SignedData(signed_data),
            })

        def _certificate_set(self) -> Any:
            registry = self.cert_registry or ()
            certs = {
                cms.CertificateChoices(name="certificate", value=cert)
                for cert in registry
                if self.embed_roots or cert.self_signed == "no"
            }
            certs.add(cms.CertificateChoices(name="certificate", value=self.signing_cert))
            for ac in self.attribute_certs:
                certs.add(cms.CertificateChoices(name="v2_attr_cert", value=ac))
            return cms.CertificateSet(list(certs), implicit=0)

        def _signed_attr_providers(self, *args: Any, **kwargs: Any) -> Any:
            if self._attribute_cache is None:
                self._attribute_cache = {}
            for provider in super()._signed_attr_providers(*args, **kwargs):
                if isinstance(provider, attributes.SigningCertificateV2Provider):
                    yield CachedSigningCertificateV2(provider, self._attribute_cache)
                else:
                    yield provider

        async def async_sign_raw(
            self, data: bytes, digest_algorithm: str, dry_run: bool = False
        ) -> bytes:
            if dry_run:
                return self.estimate_raw_signature_size_bytes() * b"0"
            self._load_objects()
            spec = self._select_pkcs11_signing_params(
                digest_algorithm, sign_kwargs=self.sign_kwargs(data)
            )
            if spec.pre_sign_transform is not None:
                data = spec.pre_sign_transform(data)
            signature = self._key_handle.sign(data, **spec.sign_kwargs)
            if spec.post_sign_transform is not None:
                signature = spec.post_sign_transform(signature)
            return signature

    return TokenThreadSigner


def _encoded_image_class() -> type:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.images import PdfImage, pil_image

    class _Recorder:
        """Stands in for a writer while :func:`pil_image` builds the XObject streams."""

        def __init__(self) -> None:
            self.streams: list[Any] = []

        def add_object(self, obj: Any) -> tuple[str, int]:
            self.streams.append(obj)
            return ("recorded", len(self.streams) - 1)

    class EncodedPdfImage(PdfImage):  # type: ignore[misc]
        """A PdfImage whose XObject streams (image, alpha mask) are deflated once.

        pyHanko's ``pil_image`` splits the alpha channel, converts and deflates the image
        again for every document (~6 ms for a stamp and signature appearance); here the
        encoded streams are kept and copied into each new document.
        """

        _encoded: list[tuple[Any, bytes]] | None = None

        def _encode(self) -> list[tuple[Any, bytes]]:
            if self._encoded is None:
                recorder = _Recorder()
                pil_image(self.image, recorder)  # type: ignore[arg-type]
                self._encoded = [(stream, stream.encoded_data) for stream in recorder.streams]
            return self._encoded

        @property
        def image_ref(self) -> Any:
            ref = self._image_ref
            if ref is None or ref.get_pdf_handler() is not self.writer:
                refs: list[Any] = []
                for stream, encoded in self._encode():
                    entries = {
                        key: refs[value[1]] if isinstance(value, tuple) else value
                        for key, value in stream.items()
                    }
                    refs.append(self.writer.add_object(generic.StreamObject(
                        generic.DictionaryObject(entries), encoded_data=encoded
                    )))
                self._image_ref = ref = refs[-1]
            return ref

    return EncodedPdfImage


def _implicit_zero(spec: Any, set_der: bytes) -> Any:
    """The DER SET ``set_der`` as a ``[0] IMPLICIT`` value of ``spec``: the same content
    bytes with the tag byte changed, loaded as they are (no deep copy, no re-encoding)."""
    if set_der[:1] != b"\x31":
        raise ValueError("expected a DER SET")
    return spec.load(b"\xa0" + set_der[1:], implicit=0)


class TokenSession:
    """A logged-in session on one token with one signing key, for one batch.

    Use :func:`open_token_session` to make one; close it (or use ``with``) at the batch's end.
    Methods may be called from any thread; the work runs on the token thread.
    """

    def __init__(
        self,
        *,
        token: TokenInfo,
        certificate: CertificateInfo,
        session: Any,
        key: Any,
        always_authenticate: bool,
        pin: str | None,
        use_raw_mechanism: bool,
        timestamp_url: str = "",
        trust_roots: Sequence[x509.Certificate | bytes] = (),
    ) -> None:
        self.token = token
        self.certificate = certificate
        self._session = session
        self._key = key
        self.always_authenticate = always_authenticate
        self._pin = pin if always_authenticate else None
        self.use_raw_mechanism = use_raw_mechanism
        self.timestamp_url = timestamp_url
        self.trust_roots = [_der_of(c) for c in trust_roots]
        self._network: Any = None  # the HTTP session shared by the TSA and OCSP/CRL fetches
        self._validation_context: Any = None
        self._timestamper_: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signer: Any = None
        self._broken: TokenError | None = None
        self._closed = False
        _open_sessions.add(self)
        self._image_cache: tuple[bytes, Any] | None = None
        # per distinct appearance PNG (one per form layout): the encoded background image
        self._backgrounds: dict[bytes, Any] = {}

    # --- what the store side needs ------------------------------------------------------
    @property
    def certificate_der(self) -> bytes:
        return self.certificate.der

    @property
    def key_algorithm(self) -> str:
        """``RSA-2048``, ``ECDSA-P256``, ...: tells how :meth:`sign_raw` output is shaped."""
        return self.certificate.key_algorithm

    @property
    def signature_level(self) -> str:
        """``B-LTA`` with a timestamp server, ``B-B`` without (see docs/ARCHITECTURE.md)."""
        return "B-LTA" if self.timestamp_url else "B-B"

    @property
    def chain_der(self) -> list[bytes]:
        """The signer's certificate and its issuers up to, not including, the root: what
        each signature embeds (from the token's CA certificates and the trust folder)."""
        candidates = [c.der for c in self.token.ca_certificates] + self.trust_roots
        return signer_chain(self.certificate.der, candidates)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> TokenSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never shows the PIN
        return f"<TokenSession token={self.token.label!r} cert={self.certificate.common_name!r}>"

    # --- signing ------------------------------------------------------------------------
    def sign_pdf(
        self,
        pdf_bytes: bytes,
        *,
        field_name: str,
        page: int,
        box: Sequence[float],
        stamp_png: bytes | None = None,
        stamp_text: str = "",
        reason: str | None = None,
        location: str | None = None,
    ) -> bytes:
        """A certified (DocMDP P=1) PAdES copy of ``pdf_bytes``: B-LTA with a timestamp
        URL (signature timestamp, the chain's OCSP responses/CRLs in the DSS, a document
        timestamp), B-B without.

        The visible field ``field_name`` covers ``box`` (points, PDF coordinates) on page
        ``page``; ``stamp_png`` (RGBA kept transparent) is its background, ``stamp_text`` the
        text drawn over it. Only the signer's chain is embedded (:attr:`chain_der`).
        Raises :class:`~app.signing.errors.TimestampUnavailable` or
        :class:`~app.signing.errors.RevocationUnavailable` when a server does not answer.
        """
        if not isinstance(pdf_bytes, bytes | bytearray) or b"%PDF-" not in pdf_bytes[:1024]:
            raise InvalidInput("The document to sign is not a PDF.")
        if not field_name or "." in field_name:
            raise InvalidInput(f"The signature field name {field_name!r} is empty or has a dot.")
        where = SignatureBox.checked(page, box)
        return self._on_token_thread(
            self._sign_pdf,
            bytes(pdf_bytes),
            field_name,
            where,
            stamp_png,
            stamp_text,
            reason,
            location,
        )

    def sign_raw(self, data: bytes) -> bytes:
        """A signature over ``data`` with the same key, SHA-256.

        ECDSA P-256: raw ``r || s`` (64 bytes); RSA: PKCS#1 v1.5 (key-size bytes).
        """
        if not isinstance(data, bytes | bytearray):
            raise InvalidInput("Only bytes can be signed.")
        return self._on_token_thread(self._sign_raw, bytes(data))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            run_in_token_thread(self._close)
        finally:
            self._pin = None

    # --- token-thread side --------------------------------------------------------------
    def _on_token_thread(self, fn: Callable[..., bytes], *args: Any) -> bytes:
        if self._broken is not None:
            raise self._broken
        if self._closed:
            raise TokenRemoved(self.token.label)
        try:
            return run_in_token_thread(fn, *args)
        except TokenError as exc:
            self._broken = exc
            raise
        except SigningError:
            raise
        except Exception as exc:
            mapped = from_pkcs11(exc, label=self.token.label)
            if mapped is None:
                raise
            if isinstance(mapped, TokenError):
                self._broken = mapped
            log.warning("signing on token %s failed: %s", self.token.label, type(exc).__name__)
            raise mapped from exc

    def _get_signer(self) -> Any:
        if self._signer is None:
            kwargs: dict[str, Any] = {}
            if self.always_authenticate:
                kwargs["base_sign_kwargs"] = {"pin": self._pin}
            from asn1crypto import x509 as asn1_x509

            # the signer's chain only: nothing else from the token (other officers'
            # certificates, duplicates), and no root (the verifier has it)
            signer = _signer_class()(
                self._session,
                key_id=self.certificate.key_id,
                cert_id=self.certificate.key_id,
                other_certs_to_pull=(),
                ca_chain=[asn1_x509.Certificate.load(der) for der in self.chain_der[1:]],
                embed_roots=False,
                use_raw_mechanism=self.use_raw_mechanism,
                **kwargs,
            )
            signer._load_objects()
            self._signer = signer
        return self._signer

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop

    def _stamp_image(self, png: bytes) -> Any:
        from PIL import Image

        if self._image_cache is None or self._image_cache[0] != png:
            try:
                image = Image.open(io.BytesIO(png))
                image.load()
            except Exception as exc:  # Pillow raises many kinds
                raise InvalidInput(f"The stamp image cannot be read: {exc}") from None
            self._image_cache = (png, image)
        return self._image_cache[1]

    def _stamp_background(self, png: bytes) -> Any:
        """The appearance's background image, encoded for PDF once per distinct PNG."""
        background = self._backgrounds.get(png)
        if background is None:
            if len(self._backgrounds) >= _BACKGROUNDS_KEPT:
                self._backgrounds.pop(next(iter(self._backgrounds)))
            background = _encoded_image_class()(self._stamp_image(png))
            self._backgrounds[png] = background
        return background

    def _sign_pdf(
        self,
        pdf: bytes,
        field_name: str,
        where: SignatureBox,
        stamp_png: bytes | None,
        stamp_text: str,
        reason: str | None,
        location: str | None,
    ) -> bytes:
        try:
            return self._sign_pdf_once(
                pdf, field_name, where, stamp_png, stamp_text, reason, location
            )
        except Exception as exc:
            if not self._mechanism_refused(exc):
                raise
            log.info(
                "token %s refused the hashing mechanism; hashing on the host instead",
                self.token.label,
            )
            self.use_raw_mechanism = True
            self._signer = None
            return self._sign_pdf_once(
                pdf, field_name, where, stamp_png, stamp_text, reason, location
            )

    def _mechanism_refused(self, exc: BaseException) -> bool:
        import pkcs11

        from app.signing.errors import root_cause

        return not self.use_raw_mechanism and isinstance(root_cause(exc), pkcs11.MechanismInvalid)

    def _sign_pdf_once(
        self,
        pdf: bytes,
        field_name: str,
        where: SignatureBox,
        stamp_png: bytes | None,
        stamp_text: str,
        reason: str | None,
        location: str | None,
    ) -> bytes:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.pdf_utils.misc import PdfError
        from pyhanko.sign import fields, signers
        from pyhanko.stamp import TextStampStyle

        style_kwargs: dict[str, Any] = {
            "stamp_text": stamp_text.replace("%", "%%"),
            "border_width": 0,
        }
        if stamp_png:
            style_kwargs["background"] = self._stamp_background(stamp_png)
            style_kwargs["background_opacity"] = 1.0
        timestamper = None
        lta: dict[str, Any] = {}
        if self.timestamp_url:
            timestamper = self._timestamper()
            lta = {
                "embed_validation_info": True,
                "use_pades_lta": True,
                "validation_context": self._fetching_validation_context(),
            }
        pdf_signer = signers.PdfSigner(
            signers.PdfSignatureMetadata(
                field_name=field_name,
                md_algorithm="sha256",
                subfilter=fields.SigSeedSubFilter.PADES,
                reason=reason,
                location=location,
                # a certification signature: nothing may change afterwards but validation
                # data and document timestamps (pyHanko's LTA_UPDATES, allowed at P=1)
                certify=True,
                docmdp_permissions=fields.MDPPerm.NO_CHANGES,
                **lta,
            ),
            signer=self._get_signer(),
            timestamper=timestamper,
            stamp_style=TextStampStyle(**style_kwargs),
            new_field_spec=fields.SigFieldSpec(field_name, on_page=where.page, box=where.box),
        )
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        except (PdfError, ValueError) as exc:
            raise InvalidInput(f"The document to sign is not a readable PDF: {exc}") from None
        output = io.BytesIO()
        reserved = BYTES_RESERVED_LTA if self.timestamp_url else BYTES_RESERVED
        try:
            self._event_loop().run_until_complete(
                pdf_signer.async_sign_pdf(writer, output=output, bytes_reserved=reserved)
            )
        except Exception as exc:
            if self.timestamp_url:
                raise_network_failure(exc, self.timestamp_url)
            raise
        return output.getvalue()

    def _http(self) -> Any:
        if self._network is None:
            from pyhanko_certvalidator.fetchers.aiohttp_fetchers.util import LazySession

            self._network = LazySession()
        return self._network

    def _timestamper(self) -> Any:
        """One per session: pyHanko asks the TSA once for a sample token to size the
        document timestamp, and keeps it with the timestamper."""
        if self._timestamper_ is None:
            from pyhanko.sign.timestamps import HTTPTimeStamper

            self._timestamper_ = HTTPTimeStamper(
                self.timestamp_url, timeout=NETWORK_TIMEOUT_SECONDS, session=self._http()
            )
        return self._timestamper_

    def _fetching_validation_context(self) -> Any:
        """One per session: OCSP responses and CRLs fetched for the first certificate of a
        batch serve the others (same chain, same minute)."""
        if self._validation_context is None:
            self._validation_context = fetching_validation_context(
                self.trust_roots, self.chain_der[1:], session=self._http()
            )
        return self._validation_context

    def _sign_raw(self, data: bytes) -> bytes:
        import pkcs11
        from pkcs11 import Mechanism

        kwargs: dict[str, Any] = {"pin": self._pin} if self.always_authenticate else {}
        is_rsa = self.key_algorithm.startswith("RSA")
        digest = hashlib.sha256(data).digest()

        def raw() -> bytes:
            if is_rsa:
                return self._key.sign(
                    _SHA256_DIGEST_INFO + digest, mechanism=Mechanism.RSA_PKCS, **kwargs
                )
            return self._key.sign(digest, mechanism=Mechanism.ECDSA, **kwargs)

        if self.use_raw_mechanism:
            return raw()
        mechanism = Mechanism.SHA256_RSA_PKCS if is_rsa else Mechanism.ECDSA_SHA256
        try:
            return self._key.sign(data, mechanism=mechanism, **kwargs)
        except pkcs11.MechanismInvalid:
            return raw()

    def _close(self) -> None:
        try:
            if self._loop is not None:
                if self._network is not None:
                    self._loop.run_until_complete(self._network.close())
                self._loop.close()
            self._session.close()
        except Exception as exc:  # the token may be gone already
            log.debug("closing session on %s: %s", self.token.label, type(exc).__name__)
        finally:
            session_closed(self.token.module_path)


# --- opening ------------------------------------------------------------------------------


def open_token_session(
    *,
    module_paths: Sequence[str],
    ask_pin: AskPin,
    registered_fingerprints: set[str],
    trust_roots: Sequence[x509.Certificate | bytes],
    token_label: str = "",
    explicit_modules: bool = True,
    certificate_fingerprint: str | None = None,
    timestamp_url: str = "",
    now: datetime | None = None,
) -> TokenSession:
    """Find the token, check the certificate, ask the PIN once, log in.

    Raises (all :class:`~app.errors.UserFacingError`): ``ModuleNotFound``,
    ``NoTokenPresent``, ``SeveralTokens``, ``PinLocked`` (before asking),
    ``NoSigningCertificate``, ``SeveralSigningCertificates`` (``.candidates``: ask the
    officer, then call again with ``certificate_fingerprint``), ``SigningRefused`` (policy),
    ``SigningCancelled`` (``ask_pin`` returned None or ""), ``WrongPin`` (never retried),
    ``NoPrivateKey``.
    """
    discovery = discover_tokens(module_paths, explicit=explicit_modules, rescan=True)
    token = choose_token(discovery.tokens, token_label, discovery.module_paths)
    if token.pin.locked:
        raise PinLocked(token.label)
    certificate = choose_signing_certificate(
        token,
        now=now,
        fingerprint=certificate_fingerprint,
        registered_fingerprints=registered_fingerprints,
    )
    check_signing_certificate(
        certificate,
        registered_fingerprints=registered_fingerprints,
        trust_roots=trust_roots,
        intermediates=[c.der for c in token.ca_certificates],
        now=now,
    )
    pin = ask_pin(token, token.pin.warnings())
    if not pin:
        raise SigningCancelled()
    try:
        return run_in_token_thread(
            _login, token, certificate, pin, timestamp_url, list(trust_roots)
        )
    finally:
        del pin


def open_token_session_from_config(
    cfg: Any,
    *,
    ask_pin: AskPin,
    registered_fingerprints: set[str],
    certificate_fingerprint: str | None = None,
    token_label: str | None = None,
) -> TokenSession:
    """:func:`open_token_session` with modules, label, trust folder and TSA from ``cfg``."""
    paths, explicit = configured_modules(cfg)
    return open_token_session(
        module_paths=paths,
        explicit_modules=explicit,
        ask_pin=ask_pin,
        registered_fingerprints=registered_fingerprints,
        trust_roots=load_trust_roots(cfg.trust_path),
        token_label=cfg.token_label if token_label is None else token_label,
        certificate_fingerprint=certificate_fingerprint,
        timestamp_url=cfg.timestamp_url,
    )


def _find_token(info: TokenInfo) -> Any:
    import pkcs11

    lib = pkcs11.lib(info.module_path)
    for slot in lib.get_slots(token_present=True):
        if int(slot.slot_id) != info.slot_id:
            continue
        token = slot.get_token()
        if token.label == info.label:
            return token
    raise TokenRemoved(info.label)


def _login(
    info: TokenInfo, certificate: CertificateInfo, pin: str, timestamp_url: str,
    trust_roots: Sequence[x509.Certificate | bytes] = (),
) -> TokenSession:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    try:
        token = _find_token(info)
        session = token.open(user_pin=pin)
    except pkcs11.PinIncorrect:
        state = _pin_state_after_failure(info)
        log.warning(
            "wrong PIN for token %s (count low: %s, final try: %s)",
            info.label,
            state.count_low,
            state.final_try,
        )
        if state.locked:
            raise PinLocked(info.label) from None
        raise WrongPin(info.label, count_low=state.count_low, final_try=state.final_try) from None
    except pkcs11.UserAlreadyLoggedIn:
        raise TokenFailure(
            info.label, "another signing session is already open on this token; finish it first"
        ) from None
    except pkcs11.PKCS11Error as exc:
        raise (from_pkcs11(exc, label=info.label) or TokenFailure(info.label, str(exc))) from None
    session_opened(info.module_path)
    try:
        keys = list(
            session.get_objects(
                {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: certificate.key_id}
            )
        )
        if not keys:
            raise NoPrivateKey(info.label, certificate.common_name)
        key = keys[0]
        always_auth = _attribute(key, Attribute.ALWAYS_AUTHENTICATE, False)
        confirmed = read_token(token, info.module_path, session)
        use_raw = _needs_raw_mechanism(confirmed.mechanisms, certificate.key_algorithm, info.label)
        log.info(
            "logged in to token %s (%s, raw mechanism: %s, always-authenticate: %s)",
            info.label,
            certificate.key_algorithm,
            use_raw,
            always_auth,
        )
        return TokenSession(
            token=confirmed,
            certificate=certificate,
            session=session,
            key=key,
            always_authenticate=bool(always_auth),
            pin=pin,
            use_raw_mechanism=use_raw,
            timestamp_url=timestamp_url,
            trust_roots=trust_roots,
        )
    except BaseException as exc:
        try:
            session.close()
        finally:
            session_closed(info.module_path)
        if isinstance(exc, pkcs11.PKCS11Error):
            raise (from_pkcs11(exc, label=info.label) or exc) from None
        raise


def _der_of(cert: x509.Certificate | bytes) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER) if isinstance(cert, x509.Certificate) else bytes(cert)


def signer_chain(cert_der: bytes, candidates: Sequence[bytes]) -> list[bytes]:
    """``cert_der`` and its issuers found among ``candidates`` (each checked by name and
    signature), up to but not including a self-signed root."""
    certs = []
    for der in dict.fromkeys(candidates):
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue
    chain = [x509.load_der_x509_certificate(cert_der)]
    while len(chain) < 8:
        current = chain[-1]
        if current.issuer == current.subject:
            break
        issuer = next((c for c in certs if c.subject == current.issuer
                       and c not in chain and _issued_by(current, c)), None)
        if issuer is None or issuer.issuer == issuer.subject:
            break
        chain.append(issuer)
    return [_der_of(c) for c in chain]


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, Exception):  # noqa: BLE001 - any failure: not its issuer
        return False
    return True


def fetching_validation_context(
    trust_roots: Sequence[bytes], intermediates: Sequence[bytes], *, session: Any = None
) -> Any:
    """A ValidationContext that fetches OCSP responses and CRLs (hard-fail: a signature
    that claims long-term validation must carry them) for B-LT/B-LTA signing."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

    backend = (AIOHttpFetcherBackend(session, per_request_timeout=NETWORK_TIMEOUT_SECONDS)
               if session is not None
               else AIOHttpFetcherBackend(per_request_timeout=NETWORK_TIMEOUT_SECONDS))
    return ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(d) for d in trust_roots],
        other_certs=[asn1_x509.Certificate.load(d) for d in intermediates],
        allow_fetching=True,
        revocation_mode="hard-fail",
        fetcher_backend=backend,
    )


def raise_network_failure(exc: BaseException, timestamp_url: str) -> None:
    """Raise the clear error for a TSA, OCSP or CRL server that did not answer (or return
    when ``exc`` is something else)."""
    import aiohttp
    from pyhanko.sign.timestamps import TimestampRequestError
    from pyhanko_certvalidator.errors import PathValidationError, ValidationError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimestampRequestError):
            raise TimestampUnavailable(timestamp_url, str(seen)[:200]) from exc
        if isinstance(seen, aiohttp.ClientError | TimeoutError):
            url = str(getattr(seen, "url", "") or getattr(
                getattr(seen, "request_info", None), "url", "") or "")
            if not url or url.startswith(timestamp_url):
                raise TimestampUnavailable(timestamp_url, str(seen)[:200] or
                                           type(seen).__name__) from exc
            raise RevocationUnavailable(url, str(seen)[:200]) from exc
        if isinstance(seen, PathValidationError | ValidationError):
            raise RevocationUnavailable("", str(seen)[:300]) from exc
        seen = seen.__cause__ or seen.__context__


def _pin_state_after_failure(info: TokenInfo) -> Any:
    from app.signing.discovery import PinState

    try:
        return PinState.from_flags(int(_find_token(info).flags))
    except Exception:  # the flags are a courtesy; the wrong PIN is the news
        return PinState()


def _attribute(obj: Any, attribute: Any, default: Any) -> Any:
    import pkcs11

    try:
        return obj[attribute]
    except (pkcs11.AttributeTypeInvalid, pkcs11.AttributeSensitive, KeyError):
        return default


def _needs_raw_mechanism(mechanisms: frozenset[str], key_algorithm: str, label: str) -> bool:
    """Hash on the host when the token lacks the hash-and-sign mechanism (or can't say)."""
    if not mechanisms:
        return False  # unknown: try hashed, fall back on MechanismInvalid
    if key_algorithm.startswith("RSA"):
        hashed, raw = "SHA256_RSA_PKCS", "RSA_PKCS"
    else:
        hashed, raw = "ECDSA_SHA256", "ECDSA"
    if hashed in mechanisms:
        return False
    if raw in mechanisms:
        return True
    raise MechanismNotSupported(label, f"{hashed} or {raw}")
