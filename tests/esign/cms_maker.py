"""A CMS SignedData made the way an eSign Service Provider makes one (detached; signed
attributes contentType, signingTime, messageDigest; SHA-256 with RSA PKCS#1 v1.5), by a
one-time certificate under a test eSign CA made here with ``cryptography``: real keys,
real signatures, for testing the desk's deferred signing without the gateway."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "IN"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass
class EsignTestCa:
    __test__ = False

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    def one_time(self, holder: str = "Anita Deshpande") -> tuple[rsa.RSAPrivateKey, bytes]:
        """A one-time signer key and certificate (30 minutes, like an ESP's)."""
        now = dt.datetime.now(dt.UTC)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = (
            x509.CertificateBuilder().subject_name(_name(holder)).issuer_name(self.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(minutes=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False,
                                         False), critical=True)
            .sign(self.key, hashes.SHA256()))
        return key, cert.public_bytes(serialization.Encoding.DER)


def make_esign_ca(name: str = "Test eSign CA") -> EsignTestCa:
    now = dt.datetime.now(dt.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                     False), critical=True)
        .sign(key, hashes.SHA256()))
    return EsignTestCa(key, cert)


def esp_cms(digest: bytes, key: rsa.RSAPrivateKey, cert_der: bytes,
            chain: tuple[bytes, ...] = ()) -> bytes:
    """The DER of a detached SignedData over ``digest`` (the document's SHA-256)."""
    signer_cert = asn1_x509.Certificate.load(cert_der)
    attrs = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "signing_time",
                          "values": [cms.Time({"utc_time": core.UTCTime(dt.datetime.now(dt.UTC))})]}),
        cms.CMSAttribute({"type": "message_digest", "values": [digest]}),
    ])
    signature = key.sign(attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
    signer = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": signer_cert.issuer, "serial_number": signer_cert.serial_number})}),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
        "signature": signature,
    })
    return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData({
        "version": "v1",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": "data"},
        "certificates": [signer_cert, *(asn1_x509.Certificate.load(c) for c in chain)],
        "signer_infos": [signer],
    })}).dump()
