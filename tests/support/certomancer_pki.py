"""A test PKI with revocation and timestamps (certomancer), served on 127.0.0.1.

Pytest-free, like ``tests/support/pki.py``:

    pki = CertomancerPki(tmp / "pki")                     # keys + certomancer.yml
    token = pki.make_officer_token(hsm, "DSC-LTA", pin)   # key pair ON the token, the
                                                          # officer certificate from certomancer
    pki.start()                                           # OCSP, CRLs, TSA on a free port
    pki.timestamp_url                                     # http://127.0.0.1:N/origin/tsa/tsa
    pki.stop_ocsp(); pki.start_ocsp()                     # the OCSP responder alone
    pki.stop_service("crls"); pki.start_services()        # any kind of service
    pki.stop()

What it holds (architecture ``origin``): a root CA and a sub CA (EC P-256 keys made here),
an OCSP responder for the sub CA (``ocsp_no_check``), CRLs for the root and the sub CA
(every certificate names one), and a TSA certified by the root. The officer's key pair is
generated on a SoftHSM2 token; certomancer issues the officer's certificate for the
exported public key (``public-only``), which is then stored on the token beside its key,
with the sub CA certificate. The officer's certificate is valid from yesterday for
``officer_days`` days, so that a test can validate at a moment after it expired.

The port is chosen before the configuration is written (certificates carry the service
URLs); the services run in a thread with werkzeug (certomancer's own WSGI app).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

if __package__ in (None, ""):  # run as a script (the child process)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.pki import IssuedCert, SoftHsm, TokenHandle  # noqa: E402

ARCH = "origin"
_FAR_PAST = "2000-01-01T00:00:00+0000"
_FAR_FUTURE = "2100-01-01T00:00:00+0000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _key_usage(*usages: str) -> dict[str, Any]:
    return {"id": "key_usage", "critical": True,
            "smart-value": {"schema": "key-usage", "params": list(usages)}}


def _crl(repo: str) -> dict[str, Any]:
    return {"id": "crl_distribution_points",
            "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": [repo]}}}


class CertomancerPki:
    """Keys, configuration and (once started) the services of the test PKI."""

    def __init__(self, root: Path, *, officer_days: int = 30, port: int | None = None) -> None:
        self.root = Path(root)
        self.keys = self.root / "keys"
        self.keys.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.officer_days = officer_days
        self.officers: dict[str, str] = {}  # certomancer label -> common name
        self._pending: list[tuple[SoftHsm, TokenHandle, str, str]] = []
        self._arch: Any = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.stopped: set[str] = set()  # services answering 503: "ocsp", "crls", "tsa"
        self.requests: dict[str, int] = {"ocsp": 0, "crls": 0, "tsa": 0}
        for name in ("root", "sub", "ocsp", "tsa"):
            path = self.keys / f"{name}.key.pem"
            if not path.exists():
                path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption()))

    # --- addresses ---------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def timestamp_url(self) -> str:
        return f"{self.base_url}/{ARCH}/tsa/tsa"

    # --- the configuration -------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        keys: dict[str, Any] = {name: {"path": f"{name}.key.pem"}
                                for name in ("root", "sub", "ocsp", "tsa")}
        entities: dict[str, Any] = {
            "root": {"common-name": "LTA Test Root CA"},
            "sub": {"common-name": "LTA Test Sub CA"},
            "ocsp": {"common-name": "LTA Test OCSP Responder"},
            "tsa": {"common-name": "LTA Test Timestamp Authority"},
        }
        ca_usage = _key_usage("digital_signature", "key_cert_sign", "crl_sign")
        certs: dict[str, Any] = {
            "root": {
                "subject": "root", "subject-key": "root", "issuer": "root",
                "authority-key": "root",
                "validity": {"valid-from": _FAR_PAST, "valid-to": _FAR_FUTURE},
                "extensions": [{"id": "basic_constraints", "critical": True,
                                "value": {"ca": True}}, ca_usage],
            },
            "sub": {
                "issuer": "root",
                "validity": {"valid-from": _FAR_PAST, "valid-to": _FAR_FUTURE},
                "extensions": [{"id": "basic_constraints", "critical": True,
                                "value": {"ca": True, "path-len-constraint": 0}},
                               ca_usage, _crl("root")],
            },
            "ocsp": {
                "issuer": "sub",
                "validity": {"valid-from": _FAR_PAST, "valid-to": _FAR_FUTURE},
                "extensions": [_key_usage("digital_signature"),
                               {"id": "extended_key_usage", "critical": True,
                                "value": ["ocsp_signing"]},
                               {"id": "ocsp_no_check"}],
            },
            "tsa": {
                "issuer": "root",
                "validity": {"valid-from": _FAR_PAST, "valid-to": _FAR_FUTURE},
                "extensions": [_key_usage("digital_signature"),
                               {"id": "extended_key_usage", "critical": True,
                                "value": ["time_stamping"]}, _crl("root")],
            },
        }
        for label, common_name in self.officers.items():
            keys[label] = {"path": f"{label}.pub.pem", "public-only": True}
            entities[label] = {"common-name": common_name}
            certs[label] = {
                "issuer": "sub",
                "validity": {"valid-from": _stamp(now - dt.timedelta(days=1)),
                             "valid-to": _stamp(now + dt.timedelta(days=self.officer_days))},
                "extensions": [
                    _key_usage("digital_signature", "non_repudiation"), _crl("sub"),
                    {"id": "authority_information_access",
                     "smart-value": {"schema": "aia-urls",
                                     "params": {"ocsp-responder-names": ["sub"]}}},
                ],
            }
        return {
            "external-url-prefix": self.base_url,
            "keysets": {ARCH: {"keys": keys}},
            "pki-architectures": {ARCH: {
                "keyset": ARCH,
                "entity-defaults": {"country-name": "IN",
                                    "organization-name": "LTA Test Chamber"},
                "entities": entities,
                "certs": certs,
                "services": {
                    "ocsp": {"sub": {"for-issuer": "sub", "responder-cert": "ocsp",
                                     "signing-key": "ocsp"}},
                    "crl-repo": {
                        "root": {"for-issuer": "root", "signing-key": "root",
                                 "simulated-update-schedule": "P90D"},
                        "sub": {"for-issuer": "sub", "signing-key": "sub",
                                "simulated-update-schedule": "P30D"},
                    },
                    "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
                },
            }},
        }

    def arch(self) -> Any:
        """certomancer's PKIArchitecture for the current configuration (built once)."""
        if self._arch is None:
            from certomancer.registry import CertomancerConfig

            text = json.dumps(self._config())  # JSON is YAML
            (self.root / "certomancer.yml").write_text(text)
            config = CertomancerConfig.from_yaml(text, key_search_dir=str(self.keys))
            self._arch = config.get_pki_arch(ARCH)
        return self._arch

    def cert_der(self, label: str) -> bytes:
        return bytes(self.arch().get_cert(label).dump())

    @property
    def root_cert(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.cert_der("root"))

    @property
    def sub_der(self) -> bytes:
        return self.cert_der("sub")

    def write_trust_dir(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "lta-test-root.pem").write_bytes(
            self.root_cert.public_bytes(serialization.Encoding.PEM))
        return folder

    # --- officer tokens ----------------------------------------------------------------
    def make_officer_token(
        self, hsm: SoftHsm, label: str, pin: str, *, common_name: str = "LTA Test Officer",
        cert_label: str = "sign",
    ) -> TokenHandle:
        """A token whose RSA-2048 key was generated on it and whose certificate (and the
        sub CA's) certomancer issued. Call before :meth:`start` (the certificates are made
        when the configuration is first built)."""
        if self._arch is not None:
            raise RuntimeError("officer tokens must be made before the PKI is built")
        handle = hsm.init_token(label, pin=pin)
        made = _child(hsm, "keygen", {"module": hsm.module, "label": label, "pin": pin,
                                      "key_label": cert_label})
        key_name = f"officer-{len(self.officers) + 1}"
        (self.keys / f"{key_name}.pub.pem").write_text(made["public_pem"])
        self.officers[key_name] = common_name
        handle.certs[cert_label] = IssuedCert(cert_label, "signing", "rsa",
                                              bytes.fromhex(made["key_id"]), b"")
        self._pending.append((hsm, handle, key_name, cert_label))
        return handle

    def issue_officer_certificates(self) -> None:
        """Build the PKI and store each officer's certificate (and the sub CA) on its token."""
        for hsm, handle, key_name, cert_label in self._pending:
            der = self.cert_der(key_name)
            key_id = handle.certs[cert_label].key_id
            _child(hsm, "store-certs", {
                "module": hsm.module, "label": handle.label, "pin": handle.pin,
                "certs": [{"label": cert_label, "id": key_id.hex(), "der": der.hex()},
                          {"label": "Sub CA", "id": hashlib.sha1(self.sub_der).hexdigest(),
                           "der": self.sub_der.hex()}],
            })
            handle.certs[cert_label] = IssuedCert(cert_label, "signing", "rsa", key_id, der)
        self._pending = []

    # --- the services ------------------------------------------------------------------
    def start(self) -> CertomancerPki:
        from certomancer.integrations.animator import Animator, AnimatorArchStore
        from werkzeug.serving import make_server

        if self._server is not None:
            return self
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        self.issue_officer_certificates()
        animator = Animator(AnimatorArchStore({ARCH: self.arch()}), with_web_ui=False)
        pki = self

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            path = environ.get("PATH_INFO", "")
            for kind in pki.requests:
                if f"/{kind}/" in path:
                    pki.requests[kind] += 1
            if any(f"/{kind}/" in path for kind in pki.stopped):
                start_response("503 Service Unavailable", [("Content-Length", "0")])
                return [b""]
            return animator(environ, start_response)

        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def stop_ocsp(self) -> None:
        self.stopped.add("ocsp")

    def start_ocsp(self) -> None:
        self.stopped.discard("ocsp")

    def stop_service(self, kind: str) -> None:
        """Answer 503 for one kind of service (``ocsp``, ``crls`` or ``tsa``)."""
        self.stopped.add(kind)

    def start_services(self) -> None:
        self.stopped.clear()

    def __enter__(self) -> CertomancerPki:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- child process: the token side, with python-pkcs11 ---------------------------------------


def _child(hsm: SoftHsm, command: str, spec: dict[str, Any]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), command],
        input=json.dumps(spec), env=hsm.env(), capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command} on token {spec['label']} failed:\n{result.stderr}")
    return dict(json.loads(result.stdout or "{}"))


def _keygen(spec: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover - in the child
    import pkcs11
    from cryptography.hazmat.primitives.asymmetric import rsa
    from pkcs11 import Attribute, KeyType

    token = pkcs11.lib(spec["module"]).get_token(token_label=spec["label"])
    with token.open(rw=True, user_pin=spec["pin"]) as session:
        pub, priv = session.generate_keypair(
            KeyType.RSA, 2048, store=True, label=spec["key_label"], id=os.urandom(8),
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False,
                              Attribute.SIGN: True},
        )
        modulus = bytes(pub[Attribute.MODULUS])
        exponent = int.from_bytes(bytes(pub[Attribute.PUBLIC_EXPONENT]), "big")
        key_id = hashlib.sha1(modulus.lstrip(b"\0")).digest()
        pub[Attribute.ID] = key_id
        priv[Attribute.ID] = key_id
    public = rsa.RSAPublicNumbers(exponent, int.from_bytes(modulus, "big")).public_key()
    pem = public.public_bytes(serialization.Encoding.PEM,
                              serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return {"public_pem": pem, "key_id": key_id.hex()}


def _store_certs(spec: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover - in the child
    import pkcs11
    from asn1crypto.core import Integer
    from pkcs11 import Attribute, CertificateType, ObjectClass

    token = pkcs11.lib(spec["module"]).get_token(token_label=spec["label"])
    with token.open(rw=True, user_pin=spec["pin"]) as session:
        for item in spec["certs"]:
            cert = x509.load_der_x509_certificate(bytes.fromhex(item["der"]))
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
                Attribute.LABEL: item["label"],
                Attribute.ID: bytes.fromhex(item["id"]),
                Attribute.VALUE: bytes.fromhex(item["der"]),
                Attribute.SUBJECT: cert.subject.public_bytes(),
                Attribute.ISSUER: cert.issuer.public_bytes(),
                Attribute.SERIAL_NUMBER: Integer(cert.serial_number).dump(),
            })
    return {}


if __name__ == "__main__":  # pragma: no cover - the child process
    commands = {"keygen": _keygen, "store-certs": _store_certs}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit("usage: certomancer_pki.py keygen|store-certs < spec.json")
    json.dump(commands[sys.argv[1]](json.loads(sys.stdin.read())), sys.stdout)
