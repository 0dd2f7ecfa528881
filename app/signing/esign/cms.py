"""The CMS (PKCS#7 SignedData, detached) an ESP returns for one document digest: its
``messageDigest`` must be the digest the gateway sent, its signature must verify with the
one-time signer certificate it carries, and that certificate must be issued by the
configured eSign CA and valid now."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import NameOID

from app.signing.esign.errors import EsignRefused

BAD_CMS = ("The eSign response's signature (CMS) is malformed or does not verify; it was "
           "refused.")
DIGEST_MISMATCH = ("The signature returned by the eSign service provider is over another "
                   "document (its messageDigest is not the digest sent); it was refused.")
UNTRUSTED = ("The one-time signer certificate of the eSign response is not issued by the "
             "configured eSign CA (or is not valid now); the signature was refused.")


@dataclass(frozen=True)
class EsignSignature:
    cms: bytes  # DER of the ContentInfo
    signer_certificate: bytes  # DER
    signer_name: str

    @property
    def signer_fingerprint(self) -> str:
        return hashlib.sha256(self.signer_certificate).hexdigest()


def load_ca_certificates(pem: bytes) -> list[x509.Certificate]:
    return list(x509.load_pem_x509_certificates(pem))


def message_digest(signer_info: asn1_cms.SignerInfo) -> bytes | None:
    attrs = signer_info["signed_attrs"]
    if not attrs:
        return None
    for attr in attrs:
        if attr["type"].native == "message_digest":
            return bytes(attr["values"][0].native)
    return None


def check_signature(cms_der: bytes, digest_hex: str, ca_certificates: list[x509.Certificate],
                    user_certificate: bytes | None, now: dt.datetime) -> EsignSignature:
    """The signature when it holds for ``digest_hex``; :class:`EsignRefused` otherwise."""
    from pyhanko.sign.validation.generic_cms import validate_sig_integrity

    try:
        info = asn1_cms.ContentInfo.load(cms_der)
        if info["content_type"].native != "signed_data":
            raise ValueError("not SignedData")
        signed = info["content"]
        signer_infos = signed["signer_infos"]
        if len(signer_infos) != 1:
            raise ValueError("one signer expected")
        signer_info = signer_infos[0]
        sid = signer_info["sid"]
        certificate = None
        for choice in signed["certificates"] or []:
            if choice.name != "certificate":
                continue
            candidate: asn1_x509.Certificate = choice.chosen
            if _is_signer(candidate, sid):
                certificate = candidate
        if certificate is None:
            raise ValueError("no signer certificate")
        digest = message_digest(signer_info)
        algorithm = signer_info["digest_algorithm"]["algorithm"].native
    except (ValueError, TypeError, KeyError, AttributeError):
        raise EsignRefused(BAD_CMS, "bad_cms") from None
    if algorithm != "sha256" or digest is None:
        raise EsignRefused(BAD_CMS, "bad_cms")
    if digest.hex() != digest_hex.lower():
        raise EsignRefused(DIGEST_MISMATCH, "digest_mismatch")
    try:
        intact, valid = validate_sig_integrity(signer_info, certificate, "data", digest)
    except Exception:  # noqa: BLE001 - any failure to verify is a refusal
        intact = valid = False
    if not (intact and valid):
        raise EsignRefused(BAD_CMS, "bad_cms")
    der = certificate.dump()
    if user_certificate is not None and user_certificate != der:
        raise EsignRefused("The eSign response's UserX509Certificate is not the certificate "
                           "that made its signature; it was refused.", "bad_cms")
    signer = x509.load_der_x509_certificate(der)
    if not _issued_by_any(signer, ca_certificates, now):
        raise EsignRefused(UNTRUSTED, "untrusted_signer")
    names = signer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = str(names[0].value) if names else signer.subject.rfc4514_string()
    return EsignSignature(cms=cms_der, signer_certificate=der, signer_name=name)


def _is_signer(candidate: asn1_x509.Certificate, sid: asn1_cms.SignerIdentifier) -> bool:
    if sid.name == "issuer_and_serial_number":
        return bool(candidate.issuer == sid.chosen["issuer"]
                    and candidate.serial_number == sid.chosen["serial_number"].native)
    return bool(candidate.key_identifier == sid.chosen.native)


def _issued_by_any(certificate: x509.Certificate, cas: list[x509.Certificate],
                   now: dt.datetime) -> bool:
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        return False
    for ca in cas:
        if ca.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(ca)
        except (ValueError, TypeError, Exception):  # noqa: BLE001 - InvalidSignature and kin
            continue
        if ca.not_valid_before_utc <= now <= ca.not_valid_after_utc:
            return True
    return False
