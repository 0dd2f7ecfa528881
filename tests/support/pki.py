"""A test PKI and SoftHSM2 tokens that look like an officer's DSC token.

Pytest-free: any suite (signing, end-to-end issue tests, the demo seed) can call these.

    ca = make_test_ca()                                   # root -> sub CA (cryptography)
    hsm = SoftHsm(tmp_path / "hsm")                       # own conf + token dir
    hsm.activate()                                        # SOFTHSM2_CONF for this process
    token = hsm.make_token("DSC-RSA", ca, [KeySpec("sign", "rsa")])
    token.certs["sign"].fingerprint                       # sha256 hex, for registration

What a token holds: for each :class:`KeySpec`, a key pair generated ON the token (private
key sensitive, not extractable, optionally ``CKA_ALWAYS_AUTHENTICATE``), CKA_ID = SHA-1 of
the public key (RSA: of the modulus; EC: of the uncompressed point), as DSC middleware
does, and the certificate the sub CA issued for it under the same CKA_ID and label; plus
the sub CA certificate (the chain). Kinds: ``signing`` (digitalSignature +
nonRepudiation, valid now), ``expired``, ``not_yet_valid``, ``encryption``
(keyEncipherment only, like the second certificate of a real DSC token) and ``orphan``
(a signing certificate whose private key was deleted).

**How fresh tokens become visible in a test process (measured on SoftHSM2 2.6 with
python-pkcs11 0.9).** ``pkcs11.lib(path)`` loads a module once per process and calls
``C_Initialize`` once; SoftHSM2 reads ``SOFTHSM2_CONF`` and scans its token directory only
at ``C_Initialize``. Tokens made afterwards (by ``softhsm2-util`` or another process) stay
invisible until ``lib.reinitialize()`` (``C_Finalize`` + ``C_Initialize``), which also
re-reads ``SOFTHSM2_CONF``: so one process can switch between token directories (one per
test) by setting the variable and re-initialising. ``app.signing.discovery`` re-initialises
on every discovery when none of its sessions is open, so the app sees new tokens (and the
conf of the moment) without help. Re-initialising closes every open session of the
process. To stay out of the way of the process's own module state, tokens are built here in
a child Python process (this file run as a script, the spec and PIN passed on stdin, never
on the command line).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SOFTHSM_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
DEFAULT_PIN = "123456"
DEFAULT_SO_PIN = "12345678"
KINDS = ("signing", "expired", "not_yet_valid", "encryption", "orphan")


def softhsm_module() -> str:
    for path in SOFTHSM_MODULE_CANDIDATES:
        if os.path.isfile(path):
            return path
    raise FileNotFoundError("SoftHSM2 module not found; install the 'softhsm2' package")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _name(common_name: str, org: str = "Test Chamber of Commerce") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


# --- the CA ------------------------------------------------------------------------------


@dataclass
class TestCA:
    """A root and a sub CA (EC P-256 keys, made in memory with ``cryptography``)."""

    __test__ = False  # not a pytest class

    root_key: ec.EllipticCurvePrivateKey
    root_cert: x509.Certificate
    sub_key: ec.EllipticCurvePrivateKey
    sub_cert: x509.Certificate

    @property
    def root_der(self) -> bytes:
        return _der(self.root_cert)

    @property
    def sub_der(self) -> bytes:
        return _der(self.sub_cert)

    def write_trust_dir(self, folder: Path) -> Path:
        """Write the root certificate as PEM into ``folder`` (the app's trust folder)."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "test-root.pem").write_text(_pem(self.root_cert))
        return folder

    def issue(
        self,
        public_key: object,
        *,
        common_name: str = "Test Officer",
        kind: str = "signing",
        now: dt.datetime | None = None,
    ) -> x509.Certificate:
        """An end-entity certificate for ``public_key`` of the given ``kind`` (see KINDS)."""
        return issue_certificate(
            self.sub_key, self.sub_cert, public_key, common_name=common_name, kind=kind, now=now
        )

    def private_pem(self) -> str:
        return self.sub_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()


def _ca_cert(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signing_key: ec.EllipticCurvePrivateKey,
    path_length: int,
    issuer_key: ec.EllipticCurvePublicKey,
) -> x509.Certificate:
    now = _utcnow()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=3650))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False
        )
        .sign(signing_key, hashes.SHA256())
    )


def make_test_ca(name: str = "Test Chamber") -> TestCA:
    """A two-level CA: ``<name> Root CA`` signs ``<name> Sub CA``."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    sub_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"{name} Root CA")
    root = _ca_cert(root_name, root_name, root_key.public_key(), root_key, 1, root_key.public_key())
    sub = _ca_cert(
        _name(f"{name} Sub CA"), root_name, sub_key.public_key(), root_key, 0, root_key.public_key()
    )
    return TestCA(root_key, root, sub_key, sub)


def issue_certificate(
    ca_key: object,
    ca_cert: x509.Certificate,
    public_key: object,
    *,
    common_name: str,
    kind: str,
    now: dt.datetime | None = None,
) -> x509.Certificate:
    if kind not in KINDS:
        raise ValueError(f"unknown certificate kind {kind!r}; one of {KINDS}")
    now = now or _utcnow()
    not_before, not_after = now - dt.timedelta(days=1), now + dt.timedelta(days=365)
    if kind == "expired":
        not_before, not_after = now - dt.timedelta(days=800), now - dt.timedelta(days=35)
    elif kind == "not_yet_valid":
        not_before, not_after = now + dt.timedelta(days=10), now + dt.timedelta(days=400)
    signing = kind != "encryption"
    issuer_key = ca_cert.public_key()
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key
    authority_key_id = aki(issuer_key)  # type: ignore[arg-type]
    usage = x509.KeyUsage(
        digital_signature=signing,
        content_commitment=signing,
        key_encipherment=not signing,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(authority_key_id, critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )


# --- a local RFC 3161 timestamp authority ------------------------------------------------


class LocalTsa:
    """An RFC 3161 timestamp server on 127.0.0.1 (for PAdES B-T), certified by ``ca``.

        with LocalTsa(ca) as tsa:
            ... timestamp_url=tsa.url ...

    Answers with pyHanko's ``DummyTimeStamper``; ``requests`` counts the requests served.
    """

    def __init__(self, ca: TestCA) -> None:
        from asn1crypto import keys
        from asn1crypto import x509 as asn1_x509
        from cryptography.hazmat.primitives.asymmetric import rsa
        from pyhanko.sign.timestamps import DummyTimeStamper

        key = rsa.generate_private_key(65537, 2048)  # pyHanko's dummy TSA is RSA-only
        now = _utcnow()
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Test Timestamp Authority"))
            .issuer_name(ca.sub_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]),
                critical=True,
            )
            .sign(ca.sub_key, hashes.SHA256())
        )
        key_der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.certificate = cert
        self.stamper = DummyTimeStamper(
            tsa_cert=asn1_x509.Certificate.load(_der(cert)),
            tsa_key=keys.PrivateKeyInfo.load(key_der),
            certs_to_embed=[asn1_x509.Certificate.load(ca.sub_der)],
        )
        self.requests = 0
        self._server: object = None
        self.url = ""

    def __enter__(self) -> LocalTsa:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from asn1crypto import tsp

        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                response = tsa.stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
                tsa.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(response)))
                self.end_headers()
                self.wfile.write(response)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        server = self._server
        if server is not None:
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]


# --- SoftHSM2 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KeySpec:
    """One key pair to generate on a token and the certificate to issue for it."""

    label: str = "sign"
    key_type: str = "rsa"  # "rsa" (2048) or "ec" (P-256)
    kind: str = "signing"
    always_authenticate: bool = False
    common_name: str = "Test Officer"


@dataclass(frozen=True)
class IssuedCert:
    label: str
    kind: str
    key_type: str
    key_id: bytes
    der: bytes

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)


@dataclass
class TokenHandle:
    label: str
    pin: str
    so_pin: str
    directory: Path
    certs: dict[str, IssuedCert] = field(default_factory=dict)


class SoftHsm:
    """A SoftHSM2 configuration with its own token directory under ``root``."""

    def __init__(self, root: Path, module: str | None = None) -> None:
        self.root = Path(root)
        self.module = module or softhsm_module()
        self.token_dir = self.root / "tokens"
        self.token_dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.root / "softhsm2.conf"
        self.conf.write_text(
            f"directories.tokendir = {self.token_dir}\n"
            "objectstore.backend = file\n"
            "log.level = ERROR\n"
            "slots.removable = false\n"
        )
        self.tokens: dict[str, TokenHandle] = {}

    def env(self) -> dict[str, str]:
        return {**os.environ, "SOFTHSM2_CONF": str(self.conf)}

    def activate(self) -> None:
        """Point this process at this configuration (takes effect at the next C_Initialize)."""
        os.environ["SOFTHSM2_CONF"] = str(self.conf)

    def init_token(
        self, label: str, *, pin: str = DEFAULT_PIN, so_pin: str = DEFAULT_SO_PIN
    ) -> TokenHandle:
        before = set(self.token_dir.iterdir())
        result = subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                pin,
                "--so-pin",
                so_pin,
            ],
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"softhsm2-util --init-token failed: {result.stderr.strip()}")
        created = sorted(set(self.token_dir.iterdir()) - before)
        if len(created) != 1:
            raise RuntimeError(f"expected one new token directory, found {created}")
        handle = TokenHandle(label, pin, so_pin, created[0])
        self.tokens[label] = handle
        return handle

    def make_token(
        self,
        label: str,
        ca: TestCA,
        keys: Sequence[KeySpec] = (KeySpec(),),
        *,
        pin: str = DEFAULT_PIN,
        so_pin: str = DEFAULT_SO_PIN,
        with_sub_ca: bool = True,
    ) -> TokenHandle:
        """Initialise a token and fill it (keys on the token, certificates, sub CA)."""
        handle = self.init_token(label, pin=pin, so_pin=so_pin)
        spec = {
            "module": self.module,
            "label": label,
            "pin": pin,
            "ca_key_pem": ca.private_pem(),
            "ca_cert_pem": _pem(ca.sub_cert),
            "with_sub_ca": with_sub_ca,
            "keys": [k.__dict__ for k in keys],
        }
        result = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "fill-token"],
            input=json.dumps(spec),
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"filling token {label} failed:\n{result.stderr}")
        for item in json.loads(result.stdout):
            handle.certs[item["label"]] = IssuedCert(
                item["label"],
                item["kind"],
                item["key_type"],
                bytes.fromhex(item["key_id"]),
                bytes.fromhex(item["der"]),
            )
        return handle

    def remove_token(self, label: str) -> None:
        """Delete the token's files: to the module it looks as if the token was pulled."""
        handle = self.tokens.pop(label)
        shutil.rmtree(handle.directory, ignore_errors=True)


# --- child process: fill a token with python-pkcs11 ----------------------------------------


def _fill_token(spec: dict) -> list[dict]:  # pragma: no cover - runs in the child
    import pkcs11
    from asn1crypto.core import OctetString
    from cryptography.hazmat.primitives.asymmetric import rsa
    from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass
    from pkcs11.util.ec import encode_named_curve_parameters

    ca_key = serialization.load_pem_private_key(spec["ca_key_pem"].encode(), None)
    ca_cert = x509.load_pem_x509_certificate(spec["ca_cert_pem"].encode())
    lib = pkcs11.lib(spec["module"])
    token = lib.get_token(token_label=spec["label"])
    out = []
    with token.open(rw=True, user_pin=spec["pin"]) as session:
        for key in spec["keys"]:
            label = key["label"]
            private_template = {
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.SIGN: True,
                Attribute.ALWAYS_AUTHENTICATE: bool(key["always_authenticate"]),
            }
            temp_id = os.urandom(8)
            if key["key_type"] == "rsa":
                pub, priv = session.generate_keypair(
                    KeyType.RSA,
                    2048,
                    store=True,
                    label=label,
                    id=temp_id,
                    private_template=private_template,
                )
                modulus = bytes(pub[Attribute.MODULUS])
                exponent = int.from_bytes(bytes(pub[Attribute.PUBLIC_EXPONENT]), "big")
                public_key = rsa.RSAPublicNumbers(
                    exponent, int.from_bytes(modulus, "big")
                ).public_key()
                key_id = hashlib.sha1(modulus.lstrip(b"\0")).digest()
            elif key["key_type"] == "ec":
                params = session.create_domain_parameters(
                    KeyType.EC,
                    {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                    local=True,
                )
                pub, priv = params.generate_keypair(
                    store=True, label=label, id=temp_id, private_template=private_template
                )
                point = OctetString.load(bytes(pub[Attribute.EC_POINT])).native
                public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
                key_id = hashlib.sha1(point).digest()
            else:
                raise ValueError(f"unknown key type {key['key_type']!r}")
            pub[Attribute.ID] = key_id
            priv[Attribute.ID] = key_id
            cert = issue_certificate(
                ca_key, ca_cert, public_key, common_name=key["common_name"], kind=key["kind"]
            )
            der = _der(cert)
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: False,
                    Attribute.LABEL: label,
                    Attribute.ID: key_id,
                    Attribute.VALUE: der,
                    Attribute.SUBJECT: cert.subject.public_bytes(),
                    Attribute.ISSUER: cert.issuer.public_bytes(),
                    Attribute.SERIAL_NUMBER: _der_integer(cert.serial_number),
                }
            )
            if key["kind"] == "orphan":
                priv.destroy()
            out.append(
                {
                    "label": label,
                    "kind": key["kind"],
                    "key_type": key["key_type"],
                    "key_id": key_id.hex(),
                    "der": der.hex(),
                }
            )
        if spec["with_sub_ca"]:
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: False,
                    Attribute.LABEL: "Sub CA",
                    Attribute.ID: hashlib.sha1(_der(ca_cert)).digest(),
                    Attribute.VALUE: _der(ca_cert),
                    Attribute.SUBJECT: ca_cert.subject.public_bytes(),
                    Attribute.ISSUER: ca_cert.issuer.public_bytes(),
                    Attribute.SERIAL_NUMBER: _der_integer(ca_cert.serial_number),
                }
            )
    return out


def _der_integer(value: int) -> bytes:
    from asn1crypto.core import Integer

    return Integer(value).dump()


if __name__ == "__main__":  # pragma: no cover - the child process
    if sys.argv[1:] == ["fill-token"]:
        json.dump(_fill_token(json.loads(sys.stdin.read())), sys.stdout)
    else:
        sys.exit("usage: pki.py fill-token < spec.json")
